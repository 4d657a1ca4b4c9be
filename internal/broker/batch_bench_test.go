package broker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// BenchmarkPublishModes compares the two publish modes on a server that fsyncs before every ack
// (sync_interval: always), 64 concurrent callers each publishing a new event of about 1 KiB and
// waiting for its ack: "async" is Publisher (one fsync per event), "batch" is BatchPublisher
// (group commit: one fsync per atomic batch). events/s is the figure to compare; on a shared
// machine it is noisy. Run it alone:
//
//	go test ./internal/broker -run '^$' -bench PublishModes -benchtime 5s -count 3
func BenchmarkPublishModes(b *testing.B) {
	srv := brokertest.RunWithOptions(b, syncAlwaysOptions(b.TempDir()))
	bk, err := broker.Open(context.Background(), broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream()}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bk.Close)
	pad := strings.Repeat("x", 900)
	var n atomic.Int64
	next := func() *envelope.Event {
		ev := event("m-" + strconv.FormatInt(n.Add(1), 10))
		ev.Data.Raw = []byte(fmt.Sprintf(`{"pad":%q}`, pad))
		return ev
	}
	type publisher interface {
		Publish(context.Context, string, *envelope.Event) (broker.Ack, error)
	}
	bp := bk.BatchPublisher(broker.BatchConfig{})
	// batch-nowait: the same without the short wait for as many requests as the previous batch.
	nowait := bk.BatchPublisher(broker.BatchConfig{MaxWait: -1})
	for _, mode := range []struct {
		name string
		p    publisher
	}{{"async", bk.Publisher()}, {"batch", bp}, {"batch-nowait", nowait}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetParallelism(32) // 64 callers on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := mode.p.Publish(context.Background(), batchSubject, next()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Logf("batch: %+v; batch-nowait: %+v", bp.Stats(), nowait.Stats())
}
