package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
)

const (
	// replyTimeout bounds an acknowledgement and a dead-letter publish.
	replyTimeout = 5 * time.Second
	// deadLetterRetry is the redelivery delay of an event whose dead-lettering failed.
	deadLetterRetry = 2 * time.Second
)

// handle runs the handler on one delivery and settles it: ack, retry or dead letter. waited bounds
// how long the message waited in the client buffer, during which JetStream's ack timer ran.
func (w *worker) handle(msg jetstream.Msg, waited time.Duration) {
	o := &w.rt.opts
	meta, err := msg.Metadata()
	if err != nil { // not a JetStream delivery: cannot happen with a pull consumer
		w.log.Error().Err(err).Str("subject", msg.Subject()).Msg("router: message without metadata")
		w.nak(msg, o.backoff[0])
		return
	}
	ev := Event{
		Subject:      msg.Subject(),
		Sequence:     meta.Sequence.Stream,
		NumDelivered: meta.NumDelivered,
		Body:         msg.Data(),
		Header:       msg.Headers(),
	}
	env, err := envelope.Unmarshal(ev.Body)
	span := w.startDelivery(msg, ev.Sequence, ev.NumDelivered, env) // env is nil when undecodable
	if err != nil {
		w.deadLetter(span, msg, ev, "undecodable: "+err.Error(), 0)
		return
	}
	ev.Event = *env
	if ev.NumDelivered > 2*uint64(o.maxDeliveries) {
		// Deliveries past the maximum happen when earlier ones ended without an outcome: events
		// handed back at a shutdown, a failed dead-lettering, a handler that outlived the ack
		// wait, a crash. Past twice the maximum, stop running the handler (it might be what
		// crashes the process) and dead-letter the event.
		w.deadLetter(span, msg, ev, fmt.Sprintf("delivered %d times without an outcome (maximum %d)",
			ev.NumDelivered, o.maxDeliveries), 0)
		return
	}

	deadline := o.ackWait
	if waited > o.ackWait/10 {
		// Restart JetStream's ack timer so that the handler gets the whole ack wait.
		if err := msg.InProgress(); err != nil {
			deadline = max(o.ackWait-waited, 0)
		}
	} else {
		deadline -= waited
	}
	ctx, cancel := context.WithTimeout(w.handlerBase, deadline)
	if w.rt.opts.tracer != nil {
		ctx = trace.ContextWithSpan(ctx, span) // HTTPRoute sends it on as its traceparent
	}
	start := time.Now()
	err = w.call(ctx, ev)
	cancel()
	took := time.Since(start)

	if err == nil {
		actx, cancel := context.WithTimeout(w.ackBase, replyTimeout)
		defer cancel()
		if err := msg.DoubleAck(actx); err != nil {
			w.log.Warn().Err(err).Str("id", ev.ID).Uint64("seq", ev.Sequence).
				Msg("router: acknowledgement not confirmed; the event may be redelivered")
			w.observe(span, Retried, took, "acknowledgement not confirmed")
			return
		}
		w.observe(span, Handled, took, "")
		w.log.Debug().Str("id", ev.ID).Str("subject", ev.Subject).Uint64("seq", ev.Sequence).
			Uint64("delivered", ev.NumDelivered).Dur("took", took).Msg("router: handled")
		return
	}
	if errors.Is(err, ErrPermanent) || ev.NumDelivered >= uint64(o.maxDeliveries) {
		w.deadLetter(span, msg, ev, err.Error(), took)
		return
	}
	delay := w.retryDelay(err, ev.NumDelivered)
	w.log.Debug().Err(err).Str("id", ev.ID).Str("subject", ev.Subject).Uint64("seq", ev.Sequence).
		Uint64("delivered", ev.NumDelivered).Dur("took", took).Dur("retry_in", delay).Msg("router: handler failed")
	w.nak(msg, delay)
	w.observe(span, Retried, took, err.Error())
}

// observe reports a delivery's outcome to the consumer's Observer, if any, and ends the delivery's
// span (why it failed, if it did: reason).
func (w *worker) observe(span trace.Span, o Outcome, took time.Duration, reason string) {
	endDelivery(span, o, reason)
	if f := w.rt.opts.observer; f != nil {
		f(o, took)
	}
}

// call runs the handler, turning a panic into an error so that one bad event cannot stop the
// service; the event is then retried and dead-lettered like any failure.
func (w *worker) call(ctx context.Context, ev Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error().Str("id", ev.ID).Uint64("seq", ev.Sequence).Str("panic", fmt.Sprint(p)).
				Bytes("stack", debug.Stack()).Msg("router: handler panicked")
			err = fmt.Errorf("router: handler panicked: %v", p)
		}
	}()
	return w.rt.handler(ctx, ev)
}

// retryDelay returns the delay before the delivery that follows delivery number delivered: the
// RetryAfterError's delay when err carries one, otherwise the backoff delay with jitter.
func (w *worker) retryDelay(err error, delivered uint64) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.Delay > 0 {
		return min(ra.Delay, MaxRetryAfter)
	}
	o := &w.rt.opts
	i := len(o.backoff) - 1
	if delivered >= 1 && delivered-1 < uint64(i) {
		i = int(delivered - 1)
	}
	d := o.backoff[i]
	if o.jitter > 0 && d > 0 {
		d = time.Duration(float64(d) * (1 + o.jitter*(2*rand.Float64()-1)))
	}
	return d
}

// nak asks JetStream to redeliver msg after delay.
func (w *worker) nak(msg jetstream.Msg, delay time.Duration) {
	if err := msg.NakWithDelay(delay); err != nil {
		w.log.Warn().Err(err).Str("subject", msg.Subject()).
			Msg("router: retry request not sent; the event is redelivered after the ack wait")
	}
}

// deadLetter copies the delivery to the dead-letter stream and, once that is stored, terminates
// it. When the copy is not stored the delivery is retried shortly, so the event is never lost.
func (w *worker) deadLetter(span trace.Span, msg jetstream.Msg, ev Event, reason string, took time.Duration) {
	ctx, cancel := context.WithTimeout(w.ackBase, replyTimeout)
	defer cancel()
	reason = cleanReason(reason)
	if err := w.r.publishDeadLetter(ctx, w.rt.durable, ev, reason); err != nil {
		w.log.Error().Err(err).Str("id", ev.ID).Uint64("seq", ev.Sequence).
			Msg("router: cannot store the dead letter; retrying the event")
		w.nak(msg, deadLetterRetry)
		w.observe(span, Retried, took, "dead letter not stored: "+err.Error())
		return
	}
	w.observe(span, DeadLettered, took, reason)
	if err := msg.Term(); err != nil {
		// The next delivery is dead-lettered again, and deduplicated by the dead-letter stream.
		w.log.Warn().Err(err).Uint64("seq", ev.Sequence).Msg("router: dead letter stored but the event not terminated")
	}
	w.log.Warn().Str("id", ev.ID).Str("subject", ev.Subject).Uint64("seq", ev.Sequence).
		Uint64("delivered", ev.NumDelivered).Str("reason", reason).
		Str("dead_letter_stream", w.r.opts.dlqStream).Msg("router: event dead-lettered")
}

func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }
