package ingest_test

import (
	"bytes"
	"context"
	"go.opentelemetry.io/otel/trace"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/subjects"
)

// The package's one stack builder and one fake publisher: every test that needs the ingest tier
// on JetStream calls startStack, every test that needs it without JetStream gives ingest.New a
// fakePublisher.

// stack is avatarbus's ingest tier on a real in-process JetStream, wired as serve wires it.
type stack struct {
	url     string
	srv     *server.Server
	broker  *broker.Broker
	ing     *ingest.Server      // for Reload
	js      jetstream.JetStream // an independent client for assertions
	objects *broker.Objects     // the object store, read through js; nil unless stackOptions.objects
	reg     *prometheus.Registry
	logs    *syncBuffer // ingest's log, at stackOptions.level
}

// stackOptions are the settings under test; the zero value is testSources on a fresh JetStream,
// logging at debug level.
type stackOptions struct {
	srv            *server.Server  // the JetStream server; a fresh one when nil
	sources        []ingest.Source // testSources when nil
	limits         map[string]*ingest.RateLimit
	http           ingest.HTTPConfig
	level          zerolog.Level
	publishTimeout time.Duration
	quarantine     bool                 // the stream AVATAR_QUARANTINE, and ingest refusing into it
	objects        bool                 // the object store AVATAR_OBJECTS and NATS's max payload, for offloading
	tracer         trace.TracerProvider // nil: tracing off
}

// startStack starts the ingest tier with o until the test ends. Metrics go to a private
// registry, so tests that start stacks can run in parallel.
func startStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	srv := o.srv
	if srv == nil {
		srv = brokertest.RunJetStream(t)
	}
	bcfg := broker.Config{
		Conn: broker.ConnConfig{URL: srv.ClientURL(), Name: "test"},
		Stream: broker.StreamConfig{Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1,
			MaxAge: time.Hour, Duplicates: 10 * time.Minute},
		PublishTimeout: o.publishTimeout,
	}
	if o.quarantine {
		bcfg.Quarantine = &broker.QuarantineConfig{Name: "AVATAR_QUARANTINE", Subjects: subjects.QuarantineSubjects("avatar"),
			Replicas: 1, MaxAge: time.Hour, MaxBytes: 8 << 20}
	}
	if o.objects {
		bcfg.Objects = &broker.ObjectsConfig{Bucket: "AVATAR_OBJECTS", Replicas: 1, TTL: time.Hour}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, bcfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	sources := o.sources
	if sources == nil {
		sources = testSources(t)
	}
	for i := range sources {
		if l, ok := o.limits[sources[i].Name]; ok {
			sources[i].RateLimit = l
		}
	}
	logs := &syncBuffer{}
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	if err := m.WatchNATS(b.Conn.IsConnected); err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: b.Publisher(),
		Log: zerolog.New(logs).Level(o.level), Metrics: m, HTTP: o.http, Tracer: o.tracer}
	if q := b.Quarantine(); q != nil {
		cfg.Quarantine = q
	}
	if o.objects {
		cfg.Objects, cfg.MaxPayload = b.Objects(), b.MaxPayload
	}
	base, ing := serveIngest(t, cfg)

	_, js := brokertest.Connect(t, srv.ClientURL())
	st := &stack{url: base, srv: srv, broker: b, ing: ing, js: js, reg: reg, logs: logs}
	if o.objects {
		st.objects = broker.NewObjects(js, "AVATAR_OBJECTS", 0)
	}
	return st
}

// serveIngest serves an ingest server made of cfg on a loopback port until the test ends, and
// returns its base URL.
func serveIngest(t *testing.T, cfg ingest.Config) (base string, ing *ingest.Server) {
	t.Helper()
	ing = ingest.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ing.Serve(ln) }()
	t.Cleanup(func() { _ = ing.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String(), ing
}

// fakePublisher stands in for JetStream where a test is about the handler alone: it answers
// every publish with err, or panics with panicWith (a publisher with a bug), or acknowledges it
// at once as a new message.
type fakePublisher struct {
	err       error
	panicWith string
	seq       atomic.Uint64
}

func (p *fakePublisher) Publish(context.Context, string, *envelope.Event) (broker.Ack, error) {
	if p.panicWith != "" {
		panic(p.panicWith)
	}
	if p.err != nil {
		return broker.Ack{}, p.err
	}
	return broker.Ack{Stream: "AVATAR", Seq: p.seq.Add(1)}, nil
}

// syncBuffer is a log sink the handler goroutines can write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lastStored returns the last message stored on subject in AVATAR and its envelope.
func lastStored(t *testing.T, js jetstream.JetStream, subject string) (*jetstream.RawStreamMsg, *envelope.Event) {
	t.Helper()
	s, err := js.Stream(context.Background(), "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := envelope.Unmarshal(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return msg, ev
}
