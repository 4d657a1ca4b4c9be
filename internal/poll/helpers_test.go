package poll_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

const (
	stream = "AVATAR"
	prefix = "avatar"
)

// lister stands in for a platform's job listing (the platform, not JetStream).
type lister struct {
	mu    sync.Mutex
	jobs  []platformapi.Job
	err   error
	calls int
	since []time.Time
}

func (l *lister) ListJobs(_ context.Context, since time.Time) ([]platformapi.Job, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.since = append(l.since, since)
	return append([]platformapi.Job(nil), l.jobs...), l.err
}

func (l *lister) set(jobs ...platformapi.Job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.jobs = jobs
}

func (l *lister) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// balancer stands in for a platform's balance endpoint.
type balancer struct {
	mu  sync.Mutex
	b   platformapi.Balance
	err error
}

func (b *balancer) Balance(context.Context) (platformapi.Balance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b, b.err
}

func (b *balancer) set(v platformapi.Balance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = v
}

// didTalk is a D-ID talk as GET /talks/{id} answers it, which is also the webhook's body
// (platform/fixtures/did/talk.done.json is the same shape).
func didTalk(id, status string) platformapi.Job {
	body, _ := json.Marshal(map[string]any{
		"id": id, "object": "talk", "status": status, "created_at": "2026-12-06T10:00:00.000Z",
		"modified_at": "2026-12-06T10:01:00.000Z", "result_url": "https://d-id.example/" + id + ".mp4",
	})
	terminal := status == "done" || status == "error" || status == "rejected"
	return platformapi.Job{Body: body, ResourceID: id, Status: status, Terminal: terminal}
}

func didPreset(t *testing.T) platform.Preset {
	t.Helper()
	p, ok := platform.Default().Lookup("did")
	if !ok {
		t.Fatal("no did preset")
	}
	return p
}

// env is a real in-process JetStream with the events stream, its publisher, and metrics.
type env struct {
	js  jetstream.JetStream
	pub *broker.Publisher
	reg *prometheus.Registry
	m   *metrics.Metrics
	st  jetstream.Stream
	dup time.Duration
}

func newEnv(t *testing.T, dup time.Duration) *env {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	nc, js := brokertest.Connect(t, srv.ClientURL())
	st, err := broker.EnsureStream(context.Background(), js, broker.StreamConfig{
		Name: stream, Subjects: subjects.StreamSubjects(prefix), Replicas: 1, MaxAge: time.Hour, Duplicates: dup,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return &env{js: js, pub: broker.NewPublisher(nc, js, stream, 0), reg: reg, m: metrics.New(reg), st: st, dup: dup}
}

func (e *env) poller(t *testing.T, cfg poll.Config, sources ...poll.Source) *poll.Poller {
	t.Helper()
	cfg.Stream, cfg.Prefix, cfg.DuplicateWindow = stream, prefix, e.dup
	for i := range sources {
		if sources[i].Metrics == nil {
			sources[i].Metrics = e.m.Poll(sources[i].Name)
		}
	}
	p, err := poll.New(context.Background(), e.js, e.pub, cfg, sources)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events returns the events stored on subjects matching filter.
func (e *env) events(t *testing.T, filter string) []*envelope.Event {
	t.Helper()
	ctx := context.Background()
	c, err := e.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, v := range info.State.Subjects {
		n += v
	}
	var out []*envelope.Event
	for range n {
		m, err := c.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", filter, err)
		}
		ev, err := envelope.Unmarshal(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Validate(); err != nil { // the envelope contract holds for made-up events too
			t.Errorf("stored event %s: %v", ev.ID, err)
		}
		out = append(out, ev)
	}
	return out
}

func counter(t *testing.T, reg *prometheus.Registry, name, source string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" && l.GetValue() == source {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{source=%q}", name, source)
	return 0
}

var errPlatform = errors.New("platform down")
