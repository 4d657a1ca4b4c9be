package router

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

const (
	// restartDelay, doubling up to maxRestartDelay, separates attempts to resume consuming after
	// a failure.
	restartDelay    = time.Second
	maxRestartDelay = 30 * time.Second
	// drainWait bounds each wait for the messages still buffered when consuming stops.
	drainWait = 2 * time.Second
	// emptyGap is how long Next must block for the buffer to count as having been empty.
	emptyGap = time.Millisecond
)

// worker runs one consumer: it fetches events and runs at most concurrency handlers at once.
type worker struct {
	r   *Router
	rt  *route
	log zerolog.Logger
	// handlerBase is the parent of every handler's context: not cancelled when Run's context ends,
	// only when the stop timeout passes.
	handlerBase context.Context
	// ackBase is the parent of acknowledgements and dead-letter publishes, never cancelled, so
	// that a handler that finished still reports its outcome.
	ackBase  context.Context
	inflight *sync.WaitGroup
}

// run consumes until ctx ends. When consuming fails (the consumer was deleted, the connection
// closed), it looks the consumer up again with a growing delay and resumes once it is there. It does
// not re-create a deleted consumer: a new consumer starts from the first event of the stream, which
// is a decision for the next Run, not for a running service.
func (w *worker) run(ctx context.Context, c jetstream.Consumer) {
	sem := make(chan struct{}, w.rt.opts.concurrency)
	delay := restartDelay
	for {
		err := w.consume(ctx, c, sem)
		if ctx.Err() != nil {
			return
		}
		w.log.Error().Err(err).Msg("router: consuming stopped; resuming when the consumer is available")
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRestartDelay)
			c2, err := w.r.js.Consumer(ctx, w.r.opts.stream, w.rt.durable)
			if err == nil {
				c, delay = c2, restartDelay
				break
			}
			if ctx.Err() != nil {
				return
			}
			w.log.Error().Err(err).Dur("retry_in", delay).Msg("router: consumer unavailable")
		}
	}
}

// consume pulls events with one iterator and starts a handler for each, never more than cap(sem)
// at once. It returns nil when ctx ends and the iterator's error otherwise; either way the events
// fetched but not started are handed back to JetStream.
func (w *worker) consume(ctx context.Context, c jetstream.Consumer, sem chan struct{}) error {
	iter, err := c.Messages(
		jetstream.PullMaxMessages(2*cap(sem)),
		jetstream.WithMessagesErrOnMissingHeartbeat(false), // a reconnect is handled by the iterator
	)
	if err != nil {
		return err
	}
	defer w.giveBack(iter)

	// An event waits in the iterator's buffer, while JetStream's ack timer runs, until a handler
	// slot frees. emptySince is a time when the buffer was known to be empty, so now-emptySince
	// bounds how long the event in hand has waited.
	emptySince := time.Now()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		asked := time.Now()
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := time.Now()
		if now.Sub(asked) >= emptyGap {
			emptySince = now // Next had to wait: this event has just arrived in an empty buffer
		}
		if ctx.Err() != nil {
			<-sem
			w.giveBackOne(msg)
			return nil
		}
		waited := now.Sub(emptySince)
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			defer func() { <-sem }()
			w.handle(msg, waited)
		}()
	}
}

// giveBack stops fetching and hands every buffered event back to JetStream at once, so that
// another instance (or the next Run) gets it without waiting for the ack wait.
func (w *worker) giveBack(iter jetstream.MessagesContext) {
	iter.Drain()
	for {
		msg, err := iter.Next(jetstream.NextMaxWait(drainWait))
		if err != nil {
			return
		}
		w.giveBackOne(msg)
	}
}

func (w *worker) giveBackOne(msg jetstream.Msg) {
	if err := msg.Nak(); err != nil {
		w.log.Warn().Err(err).Str("subject", msg.Subject()).
			Msg("router: cannot hand an unstarted event back; it is redelivered after the ack wait")
	}
}
