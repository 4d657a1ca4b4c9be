package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

const (
	stream    = "AVATAR"
	dlqStream = "AVATAR_DLQ"
	platform  = "acme"
)

// fast are the options every test uses unless it says otherwise: short backoff, no jitter.
var fast = []router.Option{router.WithBackoff(20 * time.Millisecond), router.WithJitter(0)}

// bus is a running in-process JetStream with the AVATAR stream.
type bus struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
}

func newBus(t *testing.T) *bus {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	nc, js := brokertest.Connect(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := broker.EnsureStream(ctx, js, broker.StreamConfig{
		Name: stream, Subjects: subjects.StreamSubjects("avatar"), Replicas: 1, Duplicates: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &bus{t: t, nc: nc, js: js}
}

// event returns a valid envelope with id.
func event(id string) *envelope.Event {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &envelope.Event{
		SpecVersion: envelope.SpecVersion, ID: id, Source: envelope.SourceFor(platform),
		Type: envelope.TypeVideoCompleted, Subject: "video-" + id, Time: now,
		DataContentType: envelope.DataContentType, Platform: platform, PlatformEvent: "video.done",
		ReceivedAt: now,
		Data:       envelope.Data{ResourceID: "video-" + id, Status: "completed", Raw: json.RawMessage(`{"id": "` + id + `"}`)},
	}
}

// publish stores the envelope of id the way avatarbus does and returns its subject, bytes and
// stream sequence.
func (b *bus) publish(id string) (subject string, body []byte, seq uint64) {
	b.t.Helper()
	ev := event(id)
	subject, err := subjects.For("avatar", ev.Type, ev.Platform)
	if err != nil {
		b.t.Fatal(err)
	}
	body, err = envelope.Marshal(ev)
	if err != nil {
		b.t.Fatal(err)
	}
	return subject, body, b.publishRaw(subject, id, body)
}

// publishRaw stores body on subject with Nats-Msg-Id id.
func (b *bus) publishRaw(subject, id string, body []byte) uint64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set("Content-Type", envelope.ContentType)
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
	if err != nil {
		b.t.Fatal(err)
	}
	if ack.Duplicate {
		b.t.Fatalf("publish %s: duplicate", id)
	}
	return ack.Sequence
}

// router returns a Router on the bus with the fast options and opts.
func (b *bus) router(opts ...router.Option) *router.Router {
	b.t.Helper()
	r, err := router.New(b.js, append(append([]router.Option{}, fast...), opts...)...)
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

// run starts r.Run and returns a function that cancels it and waits for Run's result. It is also
// stopped when the test ends.
func (b *bus) run(r *router.Router) (stop func() error) {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("Run did not return within 20s of its context ending")
			}
		})
		return err
	}
	b.t.Cleanup(func() {
		if err := stop(); err != nil {
			b.t.Error(err)
		}
	})
	return stop
}

// consumerInfo returns the current state of durable.
func (b *bus) consumerInfo(durable string) *jetstream.ConsumerInfo {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		b.t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	return info
}

// waitSettled waits until durable has nothing pending or unacknowledged.
func (b *bus) waitSettled(durable string) {
	b.t.Helper()
	waitfor.Cond(b.t, 5*time.Second, func() bool {
		info := b.consumerInfo(durable)
		return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	}, "consumer "+durable+" to have nothing pending")
}

// deadLetter waits for the dead letter on subject and returns it.
func (b *bus) deadLetter(subject string) *jetstream.RawStreamMsg {
	b.t.Helper()
	var msg *jetstream.RawStreamMsg
	waitfor.Cond(b.t, 5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := b.js.Stream(ctx, dlqStream)
		if err != nil {
			return false
		}
		msg, err = s.GetLastMsgForSubject(ctx, subject)
		return err == nil
	}, "a dead letter on "+subject)
	return msg
}

// deadLetterCount returns how many messages the dead-letter stream holds.
func (b *bus) deadLetterCount() uint64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := b.js.Stream(ctx, dlqStream)
	if err != nil {
		b.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	return info.State.Msgs
}

// deliveries records what a handler saw, safe for concurrent use.
type deliveries struct {
	mu    sync.Mutex
	byID  map[string]int
	times []time.Time
	evs   []router.Event
}

func newDeliveries() *deliveries { return &deliveries{byID: map[string]int{}} }

func (d *deliveries) add(ev router.Event) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byID[ev.ID]++
	d.times = append(d.times, time.Now())
	d.evs = append(d.evs, ev)
	return len(d.evs)
}

func (d *deliveries) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.evs)
}

func (d *deliveries) distinct() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byID)
}

func (d *deliveries) snapshot() ([]router.Event, []time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]router.Event(nil), d.evs...), append([]time.Time(nil), d.times...)
}

// duplicates returns the ids seen more than once.
func (d *deliveries) duplicates() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for id, n := range d.byID {
		if n != 1 {
			out[id] = n
		}
	}
	return out
}
