package replay_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/replay"
	"github.com/avatarbus/avatarbus/subjects"
)

// env is a real JetStream server with the AVATAR stream, and a publisher into it that sets the
// headers avatarbus sets (Nats-Msg-Id, Nats-Expected-Stream, Content-Type).
type env struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	pub    *broker.Publisher
	n      int // events published, for unique ids
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	nc, js := brokertest.Connect(t, srv.ClientURL())
	ctx := testCtx(t)
	stream, err := broker.EnsureStream(ctx, js, broker.StreamConfig{
		Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1, MaxAge: time.Hour, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{nc: nc, js: js, stream: stream, pub: broker.NewPublisher(nc, js, "AVATAR", 5*time.Second)}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// publish stores one event of canonical type typ from platform and returns its sequence.
func (e *env) publish(t *testing.T, typ, platform string) uint64 {
	t.Helper()
	e.n++
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := &envelope.Event{
		SpecVersion:     envelope.SpecVersion,
		ID:              fmt.Sprintf("%s:evt_%03d", platform, e.n),
		Source:          envelope.SourceFor(platform),
		Type:            typ,
		Subject:         fmt.Sprintf("res_%03d", e.n),
		Time:            now,
		DataContentType: envelope.DataContentType,
		Platform:        platform,
		ReceivedAt:      now,
		Data:            envelope.Data{ResourceID: fmt.Sprintf("res_%03d", e.n), Raw: []byte(fmt.Sprintf("{\n  \"n\": %d,\n  \"html\": \"<b>&</b>\"\n}", e.n))},
	}
	subject, err := subjects.For("avatar", typ, platform)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.pub.Publish(testCtx(t), subject, ev)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Duplicate {
		t.Fatalf("event %s stored as a duplicate", ev.ID)
	}
	return ack.Seq
}

// publishN stores n video.completed events from heygen and returns their sequences.
func (e *env) publishN(t *testing.T, n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, n)
	for i := range seqs {
		seqs[i] = e.publish(t, envelope.TypeVideoCompleted, "heygen")
	}
	return seqs
}

// storedAt returns the time JetStream stored seq.
func (e *env) storedAt(t *testing.T, seq uint64) time.Time {
	t.Helper()
	m, err := e.stream.GetMsg(testCtx(t), seq)
	if err != nil {
		t.Fatal(err)
	}
	return m.Time
}

// consumerNames lists the stream's consumers.
func (e *env) consumerNames(t *testing.T) []string {
	t.Helper()
	var names []string
	l := e.stream.ConsumerNames(testCtx(t))
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// assertNoConsumers fails when the stream has any consumer left.
func (e *env) assertNoConsumers(t *testing.T) {
	t.Helper()
	if names := e.consumerNames(t); len(names) != 0 {
		t.Errorf("consumers left on AVATAR: %v, want none", names)
	}
}

// collector is a Sink that keeps what it is given.
type collector struct {
	mu      sync.Mutex
	msgs    []replay.Message
	at      []time.Time
	closed  int
	onWrite func(m replay.Message) error
}

func (c *collector) Write(_ context.Context, m replay.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.onWrite != nil {
		if err := c.onWrite(m); err != nil {
			return err
		}
	}
	c.msgs = append(c.msgs, m)
	c.at = append(c.at, time.Now())
	return nil
}

func (c *collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed++
	return nil
}

func (c *collector) seqs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint64, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.Sequence
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var sel = replay.Selection{Stream: "AVATAR", Prefix: "avatar"}
