package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
)

// ErrUnavailable is returned (wrapped with the cause) when JetStream did not acknowledge a
// publish: disconnected, no stream responder, or no ack before the deadline. The event is not
// stored; the caller must not report success.
var ErrUnavailable = errors.New("jetstream unavailable")

// DefaultPublishTimeout bounds the wait for an ack when the caller's context has no deadline.
const DefaultPublishTimeout = 1500 * time.Millisecond

// Ack is JetStream's acknowledgement of a stored event.
type Ack struct {
	Stream    string
	Seq       uint64
	Duplicate bool // the id was already in the stream's duplicate window; nothing new was stored
}

// Publisher publishes envelopes to one stream and waits for the ack.
type Publisher struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	timeout time.Duration
}

// NewPublisher returns a Publisher that stores into stream through js. timeout bounds each
// publish; zero means DefaultPublishTimeout.
func NewPublisher(nc *nats.Conn, js jetstream.JetStream, stream string, timeout time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	return &Publisher{nc: nc, js: js, stream: stream, timeout: timeout}
}

// Publish stores ev on subject with Nats-Msg-Id = ev.ID and waits for JetStream's ack, at most
// until ctx ends or the publisher's timeout passes. It returns an error wrapping ErrUnavailable when
// the event was not acknowledged.
func (p *Publisher) Publish(ctx context.Context, subject string, ev *envelope.Event) (Ack, error) {
	body, err := envelope.Marshal(ev)
	if err != nil {
		return Ack{}, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	if !p.nc.IsConnected() {
		// Fail now rather than wait for the deadline: while reconnecting nothing can be stored.
		return Ack{}, fmt.Errorf("%w: %s", ErrUnavailable, p.nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set("Content-Type", envelope.ContentType)
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID), jetstream.WithExpectStream(p.stream))
	if err != nil {
		return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return Ack{Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
