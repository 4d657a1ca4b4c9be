package poll_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/subjects"
)

// TestOnePollerPerCluster: two pollers on a 3-node cluster; only the lease holder polls; when the
// holder dies (its connection drops without releasing), the other takes over once the TTL has
// passed: 1.7-2.5 s with a 2 s TTL here; the bound allows a loaded CI machine 3 s more, since
// the KV key's expiry is timed by the servers.
func TestOnePollerPerCluster(t *testing.T) {
	const ttl = 2 * time.Second
	c := brokertest.RunCluster(t, 3)
	ctx := context.Background()

	type instance struct {
		p      *poll.Poller
		l      *lister
		close  func()
		cancel context.CancelFunc
		done   chan struct{}
	}
	var inst [2]*instance
	for i := range inst {
		nc, js := brokertest.Connect(t, c.ClientURL(i))
		if _, err := broker.EnsureStream(ctx, js, broker.StreamConfig{
			Name: stream, Subjects: subjects.StreamSubjects(prefix), Replicas: 3, MaxAge: time.Hour, Duplicates: time.Minute,
		}); err != nil {
			t.Fatal(err)
		}
		l := &lister{}
		l.set(didTalk("tlk_1", "done"))
		m := metrics.New(prometheus.NewRegistry())
		p, err := poll.New(ctx, js, broker.NewPublisher(nc, js, stream, 0), poll.Config{
			Stream: stream, Prefix: prefix, Replicas: 3, DuplicateWindow: time.Minute, LeaseTTL: ttl,
			Log: zerolog.Nop(), Holder: []string{"a", "b"}[i],
		}, []poll.Source{{Name: "did", Preset: didPreset(t), Lister: l, Every: 200 * time.Millisecond, Lookback: time.Hour, Metrics: m.Poll("did")}})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		in := &instance{p: p, l: l, close: nc.Close, cancel: cancel, done: make(chan struct{})}
		go func() { p.Run(rctx); close(in.done) }()
		t.Cleanup(func() { cancel(); <-in.done })
		inst[i] = in
	}

	leaders := func() (n int, who int) {
		for i, in := range inst {
			if in.p.Leader() {
				n, who = n+1, i
			}
		}
		return n, who
	}
	waitfor.Cond(t, 10*time.Second, func() bool { n, _ := leaders(); return n == 1 }, "one poller holds the lease")
	_, h := leaders()
	holder, other := inst[h], inst[1-h]
	waitfor.Cond(t, 5*time.Second, func() bool { return holder.l.count() >= 3 }, "the holder polls")
	if n, _ := leaders(); n != 1 || other.l.count() != 0 {
		t.Fatalf("%d leaders, the other polled %d times; want 1 leader and no polls by the other", n, other.l.count())
	}

	holder.close() // the holder dies: no renewal, no release
	died := time.Now()
	const slack = 3 * time.Second
	deadline := died.Add(ttl + slack)
	for !other.p.Leader() {
		if time.Now().After(deadline) {
			t.Fatalf("no takeover within TTL+%s (%s)", slack, ttl+slack)
		}
		if holder.p.Leader() && time.Since(died) > ttl {
			t.Fatal("the dead holder still believes it holds the lease after its TTL")
		}
		// Sleep, not synchronisation: this loop measures when the takeover happens.
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("takeover %s after the holder died (TTL %s)", time.Since(died).Round(time.Millisecond), ttl)
	waitfor.Cond(t, 5*time.Second, func() bool { return other.l.count() >= 1 }, "the new holder polls")
}
