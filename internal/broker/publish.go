package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/record"
)

// ErrUnavailable is returned (wrapped with the cause) when JetStream did not acknowledge a
// publish: disconnected, no stream responder, too many publishes in flight, or no ack before the
// deadline. The event is not stored; the caller must not report success.
var ErrUnavailable = errors.New("jetstream unavailable")

// DefaultPublishTimeout bounds the wait for an ack when the caller's context has no deadline.
const DefaultPublishTimeout = 1500 * time.Millisecond

// DefaultMaxInFlight bounds the publishes a Publisher has sent and not yet seen acknowledged. It is
// far above what the HTTP tier keeps in flight (one per open request), so it only bites when
// JetStream stops answering; then a publish waits a quarter of its timeout for a free slot and fails.
const DefaultMaxInFlight = 4096

// Ack is JetStream's acknowledgement of a stored event (package record).
type Ack = record.Ack

// Publisher publishes envelopes to one stream and waits for the ack.
//
// Concurrent publishes share one connection and are pipelined: each is sent at once without
// waiting for the acks of the others (JetStream asynchronous publish), and each caller waits for
// its own ack only. The NATS client coalesces what the callers send into few writes, and their acks
// come back in few reads, which costs less per event than a synchronous request per event (see
// BENCHMARKS.md). The contract is the synchronous one: Publish returns after the ack of its own event.
type Publisher struct {
	nc     *nats.Conn
	js     jetstream.JetStream  // asynchronous publishing with a bounded window
	stream []string             // the Nats-Expected-Stream header value, shared by every message
	stall  jetstream.PublishOpt // how long a publish waits for a free slot when the window is full
	// observe, when set, is told every outcome that reached the server (nil: stored), so that the
	// broker knows when storing fails (health.go).
	observe func(error)
}

// Message headers of the W3C trace context (https://www.w3.org/TR/trace-context/), set when the
// event carries one (tracing on). NATS headers keep their case; these are the W3C spelling.
const (
	TraceParentHeader = "traceparent"
	TraceStateHeader  = "tracestate"
)

// contentType is the Content-Type header value of every message, shared (never modified).
var contentType = []string{envelope.ContentType}

// NewPublisher returns a Publisher that stores into stream through the connection nc. timeout
// bounds each publish; zero means DefaultPublishTimeout. js is used when an asynchronous publishing
// context cannot be made on nc (it can unless the options are invalid).
func NewPublisher(nc *nats.Conn, js jetstream.JetStream, stream string, timeout time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	// Its own JetStream context, so that its window and ack timeout apply to events only. The ack
	// timeout is the publish timeout: it fails the wait of a publish whose ack does not come in
	// time and frees its slot, with one timer per event (a context.WithTimeout per publish cost
	// another, visible in the profile: BENCHMARKS.md).
	if ajs, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(DefaultMaxInFlight),
		jetstream.WithPublishAsyncTimeout(timeout)); err == nil {
		js = ajs
	}
	// A full window means JetStream has stopped answering: wait a little for a slot, not a whole
	// timeout, so that a publish never takes much longer than timeout in all.
	return &Publisher{nc: nc, js: js, stream: []string{stream}, stall: jetstream.WithStallWait(timeout / 4)}
}

// Publish stores ev on subject with Nats-Msg-Id = ev.ID and waits for JetStream's ack, at most
// until ctx ends or the publisher's timeout passes. It returns an error wrapping ErrUnavailable when
// the event was not acknowledged: then it may or may not be in the stream, and a retry of the same
// event is deduplicated by its id.
func (p *Publisher) Publish(ctx context.Context, subject string, ev *envelope.Event) (Ack, error) {
	msg, err := eventMsg(subject, ev, p.stream)
	if err != nil {
		return Ack{}, err
	}
	if !p.nc.IsConnected() {
		// Fail now rather than wait for the deadline: while reconnecting nothing can be stored.
		return Ack{}, fmt.Errorf("%w: %s", ErrUnavailable, p.nc.Status())
	}
	f, err := p.js.PublishMsgAsync(msg, p.stall)
	if err != nil {
		return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	select {
	case ack := <-f.Ok():
		if p.observe != nil {
			p.observe(nil)
		}
		return Ack{Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
	case err := <-f.Err():
		if p.observe != nil {
			p.observe(err)
		}
		return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case <-ctx.Done(): // the caller's deadline; the publisher's own ends through f.Err
		return Ack{}, fmt.Errorf("%w: no ack: %w", ErrUnavailable, ctx.Err())
	}
}

// eventMsg is the message of ev on subject: the envelope, with Nats-Msg-Id = ev.ID and
// Nats-Expected-Stream = stream (a one-element slice shared by every message, never modified).
func eventMsg(subject string, ev *envelope.Event, stream []string) (*nats.Msg, error) {
	body, err := envelope.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{
		"Content-Type":                 contentType,
		jetstream.MsgIDHeader:          {ev.ID},
		jetstream.ExpectedStreamHeader: stream,
	}}
	// The W3C trace context also goes in the headers, by its lower-case W3C names, for consumers
	// that read headers before (or instead of) the body.
	if ev.TraceParent != "" {
		msg.Header[TraceParentHeader] = []string{ev.TraceParent}
		if ev.TraceState != "" {
			msg.Header[TraceStateHeader] = []string{ev.TraceState}
		}
	}
	return msg, nil
}
