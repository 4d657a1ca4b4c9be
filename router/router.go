package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
)

// Event is one delivery of a stored event to a handler.
type Event struct {
	// Event is the decoded envelope.
	envelope.Event
	// Subject is the NATS subject the event was stored on, e.g. avatar.video.completed.heygen.
	Subject string
	// Sequence is the event's sequence in the stream.
	Sequence uint64
	// NumDelivered counts the deliveries of this event to this consumer: 1 on the first.
	NumDelivered uint64
	// Body is the stored bytes (the envelope JSON), to forward the event unchanged. It is shared
	// with the Router (a dead letter copies it): read it, do not modify it.
	Body []byte
	// Header holds the stored message's headers (Nats-Msg-Id is the event id). Like Body, it is
	// read-only.
	Header nats.Header
}

// HandlerFunc handles one event. Returning nil acknowledges it: the consumer never sees it again.
// Returning an error retries it after the backoff delay (or the delay of a RetryAfterError), until
// the maximum number of deliveries is reached; an error matching ErrPermanent dead-letters it at
// once. ctx ends after the ack wait, and when the Router's stop timeout passes during shutdown.
//
// A handler may run more than once for an event (a crash or a lost acknowledgement makes
// JetStream redeliver it), so its effects should be idempotent on ev.ID.
type HandlerFunc func(ctx context.Context, ev Event) error

// Router runs durable JetStream pull consumers on the event stream and dispatches their events to
// handlers, with retries, backoff and a dead-letter stream. Create one with New, register handlers
// with Handle, then call Run. Its methods are safe for concurrent use.
type Router struct {
	js   jetstream.JetStream
	opts options

	mu      sync.Mutex
	routes  []*route
	running bool
}

// route is one registered handler and its consumer settings.
type route struct {
	filter  string
	durable string
	handler HandlerFunc
	opts    options
}

// New returns a Router that reads the stream through js. It returns an error wrapping
// ErrInvalidOption when an option is invalid, and an error when js is nil.
func New(js jetstream.JetStream, opts ...Option) (*Router, error) {
	if js == nil {
		return nil, errors.New("router: New: nil JetStream")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.stream == o.dlqStream {
		return nil, invalid("WithDeadLetterStream", "%q is also the consumed stream", o.dlqStream)
	}
	return &Router{js: js, opts: o}, nil
}

// Handle registers h on a durable pull consumer named durable that reads the events matching
// filter (a NATS subject filter under the subject prefix, e.g. "avatar.video.completed.*"). opts
// override, for this consumer only, the Router's WithBackoff, WithJitter, WithMaxDeliveries,
// WithConcurrency and WithAckWait. Handle only records the consumer; Run creates or updates it.
//
// The durable name must be valid for NATS (not empty; no '.', '*', '>', '/', '\\' or whitespace)
// and unique within the Router. Handle returns an error wrapping ErrInvalidOption for an invalid
// filter, durable name, handler or option, and an error when durable is already registered or Run
// is running.
func (r *Router) Handle(filter, durable string, h HandlerFunc, opts ...Option) error {
	if filter == "" {
		return invalid("filter", "empty")
	}
	if err := validFilter(r.opts.prefix, filter); err != nil {
		return invalid("filter", "%v", err)
	}
	if err := validName(durable); err != nil {
		return invalid("durable", "%v", err)
	}
	if h == nil {
		return invalid("handler", "nil HandlerFunc")
	}
	o := r.opts
	o.backoff = slices.Clone(o.backoff)
	o.perHandler = true
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return fmt.Errorf("durable %s: %w", durable, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return fmt.Errorf("router: Handle %s: the Router is running; register handlers before Run", durable)
	}
	for _, rt := range r.routes {
		if rt.durable == durable {
			return fmt.Errorf("router: Handle: durable %q is already registered", durable)
		}
	}
	r.routes = append(r.routes, &route{filter: filter, durable: durable, handler: h, opts: o})
	return nil
}

// Run creates or updates the dead-letter stream and the consumer of every handler, then consumes
// until ctx ends. Then it stops fetching, hands the events it had fetched but not started back to
// JetStream, and waits up to the stop timeout for the running handlers, each of which acknowledges
// or retries its event as usual; their contexts are not cancelled by ctx, only by the stop
// timeout. It returns nil after a shutdown (also one during setup), or the first setup error (no
// handler registered, the stream missing, a consumer that cannot be created) without consuming
// anything. Run may be called again after it returns, but not while it runs.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("router: Run: already running")
	}
	if len(r.routes) == 0 {
		r.mu.Unlock()
		return errors.New("router: Run: no handler registered")
	}
	r.running = true
	routes := slices.Clone(r.routes)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()

	log := r.opts.logger
	// A stop during setup is a shutdown, not a setup failure: the call it interrupted may even
	// have succeeded on the server.
	if err := r.ensureDeadLetterStream(ctx); err != nil {
		return stoppedOr(ctx, err)
	}
	consumers := make([]jetstream.Consumer, len(routes))
	for i, rt := range routes {
		c, err := r.ensureConsumer(ctx, rt)
		if err != nil {
			return stoppedOr(ctx, err)
		}
		consumers[i] = c
	}
	log.Info().Int("consumers", len(routes)).Str("stream", r.opts.stream).Msg("router: consuming")

	// Handlers and acknowledgements outlive ctx: they get the stop timeout to finish. hardStop
	// cancels the handlers' contexts when that timeout passes.
	detached := context.WithoutCancel(ctx)
	handlerBase, hardStop := context.WithCancel(detached)
	defer hardStop()

	var loops, handlers sync.WaitGroup
	for i, rt := range routes {
		w := &worker{r: r, rt: rt, log: log.With().Str("consumer", rt.durable).Logger(),
			handlerBase: handlerBase, ackBase: detached, inflight: &handlers}
		c := consumers[i]
		loops.Go(func() { w.run(ctx, c) })
	}
	<-ctx.Done()

	done := make(chan struct{})
	go func() {
		loops.Wait() // no more handlers start after this
		handlers.Wait()
		close(done)
	}()
	timer := time.NewTimer(r.opts.stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		log.Info().Msg("router: stopped")
	case <-timer.C:
		hardStop()
		log.Warn().Dur("stop_timeout", r.opts.stopTimeout).
			Msg("router: handlers still running after the stop timeout; their contexts are cancelled")
	}
	return nil
}

// stoppedOr returns nil when ctx has ended (Run was stopped), else err.
func stoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ensureConsumer creates the consumer of rt or updates it to the Router's settings. An existing
// consumer keeps what the Router does not manage, its deliver policy included.
func (r *Router) ensureConsumer(ctx context.Context, rt *route) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       rt.durable,
		Description:   "avatarbus router",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
	}
	existing, err := r.js.Consumer(ctx, r.opts.stream, rt.durable)
	switch {
	case err == nil:
		cfg = existing.CachedInfo().Config
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	default:
		return nil, fmt.Errorf("router: consumer %s on stream %s: %w", rt.durable, r.opts.stream, err)
	}
	cfg.FilterSubject, cfg.FilterSubjects = rt.filter, nil
	cfg.AckWait = rt.opts.ackWait
	cfg.BackOff = nil // the Router chooses each redelivery delay itself
	// MaxDeliver is left unlimited on purpose: the Router dead-letters an event itself once it has
	// had maxDeliveries deliveries, and an event whose dead-lettering failed must still be
	// redelivered so that it can be dead-lettered later instead of being lost.
	cfg.MaxDeliver = -1
	if cfg.MaxAckPending >= 0 { // -1 (unlimited) set by an operator stays
		cfg.MaxAckPending = max(cfg.MaxAckPending, 1000, 4*rt.opts.concurrency)
	}
	c, err := r.js.CreateOrUpdateConsumer(ctx, r.opts.stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("router: create consumer %s on stream %s: %w", rt.durable, r.opts.stream, err)
	}
	return c, nil
}
