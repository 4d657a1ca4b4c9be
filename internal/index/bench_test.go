package index_test

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/index"
)

// BenchmarkIndexerCatchUp measures how fast one indexer writes the index of a backlog of b.N
// stored events (ns/op = per event), against an in-process file-storage nats-server: the rate it
// keeps up with (issue 16 point 6). The end-to-end figure with HTTP load is test/bench -index.
func BenchmarkIndexerCatchUp(b *testing.B) {
	srv := brokertest.RunJetStream(b)
	_, js := brokertest.Connect(b, srv.ClientURL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AVATAR", Subjects: []string{"avatar.>"}, MaxAge: time.Hour}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		body, _ := json.Marshal(ev{fmt.Sprintf("evt-%d", i), "avatar.video.completed", fmt.Sprintf("vid-%d", i), t0, "heygen", fmt.Sprintf("job-%d", i/3)})
		if _, err := js.PublishAsync("avatar.video.completed.heygen", body); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishes not acked")
	}
	done := make(chan struct{})
	ix, err := index.New(ctx, js, index.Options{Stream: "AVATAR", Lag: func(lag uint64) {
		if lag == 0 {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = ix.Run(rctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatal("index did not catch up")
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/event") // indexer and nats-server together
	cancel()
	<-stopped
}

// cpuTime is the CPU time of this process (the indexer and the in-process nats-server).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
