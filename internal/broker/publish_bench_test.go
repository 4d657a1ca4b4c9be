package broker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// BenchmarkPublish is the publish path alone: 64 concurrent callers, each publishing a new event
// and waiting for its ack, into a real in-process JetStream with file storage. "pipelined" is
// Publisher.Publish; "sync" is the same message through a synchronous js.PublishMsg per event, for
// comparison; "bridge" the same body with no headers.
func BenchmarkPublish(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a nats-server")
	}
	srv := brokertest.RunJetStream(b)
	bk, err := broker.Open(context.Background(), broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bk.Close)
	var n atomic.Int64
	next := func() *envelope.Event { return event("b-" + strconv.FormatInt(n.Add(1), 10)) }
	p := bk.Publisher()
	run := func(b *testing.B, publish func(ev *envelope.Event) error) {
		b.SetParallelism(32) // 64 callers on 2 CPUs
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := publish(next()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("pipelined", func(b *testing.B) {
		run(b, func(ev *envelope.Event) error {
			_, err := p.Publish(context.Background(), "avatar.video.completed.acme", ev)
			return err
		})
	})
	// The same message as Publisher's, through a synchronous js.PublishMsg with opts.
	syncPublish := func(opts ...jetstream.PublishOpt) func(ev *envelope.Event) error {
		return func(ev *envelope.Event) error {
			body, err := envelope.Marshal(ev)
			if err != nil {
				return err
			}
			msg := &nats.Msg{Subject: "avatar.video.completed.acme", Data: body, Header: nats.Header{}}
			msg.Header.Set("Content-Type", envelope.ContentType)
			_, err = bk.JS.PublishMsg(context.Background(), msg, append(opts, jetstream.WithMsgID(ev.ID))...)
			return err
		}
	}
	b.Run("sync", func(b *testing.B) { run(b, syncPublish(jetstream.WithExpectStream("AVATAR"))) })
	// Without the Nats-Expected-Stream guard: what it costs.
	b.Run("sync-no-expected-stream", func(b *testing.B) { run(b, syncPublish()) })
	// The hand-written bridge's publish (test/bench/baseline): the same bytes, synchronously, with
	// no headers, so no dedup id and no expected stream: what those cost the server and client.
	// With msgID, the dedup id alone (test/bench's baseline-dedup): what JetStream's
	// deduplication, which DESIGN.md §5 requires, costs apart from the other two headers.
	bridgePublish := func(msgID bool) func(ev *envelope.Event) error {
		return func(ev *envelope.Event) error {
			body, err := envelope.Marshal(ev)
			if err != nil {
				return err
			}
			var opts []jetstream.PublishOpt
			if msgID {
				opts = append(opts, jetstream.WithMsgID(ev.ID))
			}
			_, err = bk.JS.Publish(context.Background(), "avatar.video.completed.acme", body, opts...)
			return err
		}
	}
	b.Run("bridge", func(b *testing.B) { run(b, bridgePublish(false)) })
	b.Run("bridge-msgid", func(b *testing.B) { run(b, bridgePublish(true)) })
}
