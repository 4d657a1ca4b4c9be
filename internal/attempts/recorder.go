package attempts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// queueSize bounds the attempts waiting to be stored; past it new ones are dropped (and counted)
// rather than slowing delivery.
const queueSize = 4096

// Recorder stores attempts from a goroutine of its own: Record never waits for JetStream.
type Recorder struct {
	js     jetstream.JetStream
	prefix string
	q      chan Attempt
	failed func(err error) // told of every attempt not stored; may be nil
	done   chan struct{}
}

// NewRecorder starts a recorder publishing under prefix. failed is told of each attempt that was
// dropped or not stored (log and count it there); it may be nil. Close stops it.
func NewRecorder(js jetstream.JetStream, prefix string, failed func(err error)) *Recorder {
	r := &Recorder{js: js, prefix: prefix, q: make(chan Attempt, queueSize), failed: failed, done: make(chan struct{})}
	go r.run()
	return r
}

// errQueueFull is reported for an attempt dropped because the queue was full.
var errQueueFull = fmt.Errorf("%w: queue full, attempt dropped", ErrAttempts)

// Record queues a; it never blocks.
func (r *Recorder) Record(a Attempt) {
	select {
	case r.q <- a:
	default:
		r.fail(errQueueFull)
	}
}

func (r *Recorder) fail(err error) {
	if r.failed != nil {
		r.failed(err)
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	for a := range r.q {
		b, _ := json.Marshal(a)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := r.js.Publish(ctx, Subject(r.prefix, a.Route, a.EventID), b)
		cancel()
		if err != nil {
			r.fail(fmt.Errorf("%w: store attempt %d of %s to %s: %w", ErrAttempts, a.Attempt, a.EventID, a.Route, err))
		}
	}
}

// Close stores what is queued and stops. Record must not be called after Close.
func (r *Recorder) Close() {
	close(r.q)
	<-r.done
}

// Deliver runs one delivery attempt, do, and records it: when it started, how long it took, the
// HTTP status (from a [Transport] of the request, or the error) and the error. It returns do's error.
func (r *Recorder) Deliver(ctx context.Context, route, eventID string, attempt int, do func(context.Context) error) error {
	var status int
	start := time.Now()
	err := do(WithStatusSlot(ctx, &status))
	a := Attempt{Route: route, EventID: eventID, Attempt: attempt, At: start, Status: status, Latency: time.Since(start)}
	if err != nil {
		a.Error = err.Error()
		if s := StatusOf(err); s != 0 {
			a.Status = s
		}
	}
	r.Record(a)
	return err
}
