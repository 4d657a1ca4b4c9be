package broker_test

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
)

// BenchmarkEmbeddedConn compares the two ways serve can reach its embedded server, with the same
// publisher, 64 concurrent callers and 1 KiB payloads: "inprocess" is what Open dials (a pipe
// from nats.InProcessServer, no socket), "tcp" is a second broker logged in over the server's
// loopback listener, as any other local client connects. Both publish to the same stream.
//
//	go test -run '^$' -bench EmbeddedConn -benchmem -count 6 ./internal/broker/
func BenchmarkEmbeddedConn(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a nats-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	emb, err := broker.Open(ctx, broker.Config{
		Embedded: broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: b.TempDir(), SyncInterval: 2 * time.Minute, ServerName: "bench"},
		Stream:   streamConfig(), PublishTimeout: 5 * time.Second,
	}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emb.Close)
	login := emb.EmbeddedCredentials().Avatarbus
	tcp, err := broker.Open(ctx, broker.Config{
		Conn:   broker.ConnConfig{URL: emb.Server.ClientURL(), User: login.User, Password: login.Password, Name: "bench-tcp"},
		Stream: streamConfig(), PublishTimeout: 5 * time.Second,
	}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tcp.Close)
	payload := append(append([]byte(`{"note":"`), bytes.Repeat([]byte("x"), 1000)...), `"}`...)
	var n atomic.Int64
	for _, bc := range []struct {
		name string
		bk   *broker.Broker
	}{{"inprocess", emb}, {"tcp", tcp}} {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.bk.Publisher()
			b.SetParallelism(32) // 64 callers on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ev := event("e-" + strconv.FormatInt(n.Add(1), 10))
					ev.Data = envelope.Data{Raw: payload}
					if _, err := p.Publish(context.Background(), "avatar.video.completed.acme", ev); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
