package router

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/subjects"
)

// Defaults of the options: what a Router uses when New is given no option.
const (
	// DefaultStream is the stream the consumers read (WithStream).
	DefaultStream = subjects.DefaultStream
	// DefaultDeadLetterStream is the stream that receives dead letters (WithDeadLetterStream).
	DefaultDeadLetterStream = subjects.DefaultDeadLetterStream
	// DefaultDeadLetterMaxAge is how long dead letters are kept (WithDeadLetterMaxAge).
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
	// DefaultSubjectPrefix is the first token of every event subject (WithSubjectPrefix).
	DefaultSubjectPrefix = subjects.CanonicalRoot
	// DefaultJitter is the random fraction applied to backoff delays (WithJitter).
	DefaultJitter = 0.2
	// DefaultMaxDeliveries is how many deliveries an event gets before it is dead-lettered
	// (WithMaxDeliveries).
	DefaultMaxDeliveries = 10
	// DefaultConcurrency is how many handlers of one consumer run at once (WithConcurrency).
	DefaultConcurrency = 16
	// DefaultAckWait is the consumer's ack wait and the handler's deadline (WithAckWait).
	DefaultAckWait = 30 * time.Second
	// DefaultStopTimeout is how long Run waits for running handlers after its context ends
	// (WithStopTimeout).
	DefaultStopTimeout = 30 * time.Second
)

// MaxRetryAfter caps the delay of a RetryAfterError.
const MaxRetryAfter = time.Hour

// DefaultBackoff returns the default delays before each retry: 5s, 30s, 2m, 10m, 30m, the last one
// repeating. It returns a new slice on each call.
func DefaultBackoff() []time.Duration {
	return []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}
}

// ErrInvalidOption is wrapped by every error an Option returns for an invalid value, and by the
// errors of Handle for an invalid filter, durable name or handler. The message names the option.
var ErrInvalidOption = errors.New("router: invalid option")

// Option configures a Router (given to New) or one consumer (given to Handle). It returns an error
// wrapping ErrInvalidOption, naming the option, when its value is invalid or when it is given to
// Handle but only applies to the whole Router.
type Option func(*options) error

// options holds every knob. A Router keeps one; each consumer starts from a copy of it and applies
// its own Options on top.
type options struct {
	stream        string
	dlqStream     string
	dlqMaxAge     time.Duration
	prefix        string
	logger        zerolog.Logger
	backoff       []time.Duration
	jitter        float64
	maxDeliveries int
	concurrency   int
	ackWait       time.Duration
	stopTimeout   time.Duration
	observer      Observer
	tracer        trace.Tracer // nil: no spans (WithTracerProvider)

	// perHandler is set while a consumer's Options are applied, so that Router-wide options can
	// refuse to be given to Handle.
	perHandler bool
}

func defaultOptions() options {
	return options{
		stream:        DefaultStream,
		dlqStream:     DefaultDeadLetterStream,
		dlqMaxAge:     DefaultDeadLetterMaxAge,
		prefix:        DefaultSubjectPrefix,
		logger:        zerolog.Nop(),
		backoff:       DefaultBackoff(),
		jitter:        DefaultJitter,
		maxDeliveries: DefaultMaxDeliveries,
		concurrency:   DefaultConcurrency,
		ackWait:       DefaultAckWait,
		stopTimeout:   DefaultStopTimeout,
	}
}

func invalid(option, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, option, fmt.Sprintf(format, args...))
}

// routerOnly refuses an option given to Handle that applies to the whole Router.
func routerOnly(o *options, option string) error {
	if o.perHandler {
		return invalid(option, "applies to the Router (give it to New), not to one handler")
	}
	return nil
}

// Outcome is how one delivery ended, as reported to an Observer.
type Outcome uint8

// The outcomes of a delivery.
const (
	// Handled: the handler returned nil and JetStream confirmed the acknowledgement.
	Handled Outcome = iota
	// Retried: the delivery failed and the event will be delivered again.
	Retried
	// DeadLettered: the event was copied to the dead-letter stream and terminated.
	DeadLettered
)

// Observer is told how each delivery ended and how long its handler ran (zero when the handler did
// not run, e.g. an undecodable message). It runs on the consumer's goroutine: keep it fast.
type Observer func(o Outcome, took time.Duration)

// WithObserver reports every delivery's outcome to f, e.g. to count deliveries, retries and dead
// letters per route in metrics. Given to New it observes every consumer; given to Handle, one.
func WithObserver(f Observer) Option {
	return func(o *options) error {
		o.observer = f
		return nil
	}
}

// WithStream sets the stream the consumers read, by default "AVATAR". The name must be a valid
// JetStream stream name: not empty, without '.', '*', '>', '/', '\\' or whitespace. Router-wide only.
func WithStream(name string) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithStream"); err != nil {
			return err
		}
		if err := validName(name); err != nil {
			return invalid("WithStream", "%v", err)
		}
		o.stream = name
		return nil
	}
}

// WithDeadLetterStream sets the stream that receives dead letters, by default "AVATAR_DLQ". Run
// creates it (file storage, bound to "dlq.<prefix>.>") or adds that subject to it. The name must be
// a valid stream name, different from the consumed stream. Router-wide only.
func WithDeadLetterStream(name string) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithDeadLetterStream"); err != nil {
			return err
		}
		if err := validName(name); err != nil {
			return invalid("WithDeadLetterStream", "%v", err)
		}
		o.dlqStream = name
		return nil
	}
}

// WithDeadLetterMaxAge sets how long the dead-letter stream keeps a message, by default 30 days;
// zero keeps them until removed by hand. Run applies it to the stream when it creates or updates it.
// Router-wide only.
func WithDeadLetterMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithDeadLetterMaxAge"); err != nil {
			return err
		}
		if d < 0 {
			return invalid("WithDeadLetterMaxAge", "negative duration %v", d)
		}
		o.dlqMaxAge = d
		return nil
	}
}

// WithSubjectPrefix sets the first subject token of the events, by default "avatar" (see package
// subjects). Handler filters must start with it; dead letters go to "dlq.<prefix>.…". Router-wide
// only.
func WithSubjectPrefix(p string) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithSubjectPrefix"); err != nil {
			return err
		}
		if err := subjects.ValidToken(p); err != nil {
			return invalid("WithSubjectPrefix", "%v", err)
		}
		o.prefix = p
		return nil
	}
}

// WithLogger sets the logger, by default zerolog.Nop(). The Router logs each message at debug
// level, dead letters at warn level and consumer errors at error level; it never logs payloads.
// Router-wide only.
func WithLogger(l zerolog.Logger) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithLogger"); err != nil {
			return err
		}
		o.logger = l
		return nil
	}
}

// WithBackoff sets the delay before each retry of a failed delivery: the first delay before the
// second delivery, and so on; the last delay repeats. The default is 5s, 30s, 2m, 10m, 30m. At least
// one delay is needed and none may be negative.
func WithBackoff(delays ...time.Duration) Option {
	return func(o *options) error {
		if len(delays) == 0 {
			return invalid("WithBackoff", "at least one delay is needed")
		}
		for i, d := range delays {
			if d < 0 {
				return invalid("WithBackoff", "delay %d is negative (%v)", i+1, d)
			}
		}
		o.backoff = slices.Clone(delays)
		return nil
	}
}

// WithJitter sets the random fraction added to or taken from each backoff delay, so that failures
// of many events do not retry in lockstep: with 0.2 (the default), a 10s delay becomes 8s to 12s.
// It must be between 0 and 1.
func WithJitter(fraction float64) Option {
	return func(o *options) error {
		if math.IsNaN(fraction) || fraction < 0 || fraction > 1 {
			return invalid("WithJitter", "fraction %v is not between 0 and 1", fraction)
		}
		o.jitter = fraction
		return nil
	}
}

// WithMaxDeliveries sets how many deliveries an event gets, by default 10: when the n-th delivery
// fails, the event is dead-lettered instead of retried. It must be at least 1.
//
// The Router counts deliveries itself and leaves the consumer's MaxDeliver unlimited, so that an
// event whose dead-lettering failed is redelivered (and dead-lettered later) rather than abandoned
// by JetStream.
func WithMaxDeliveries(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid("WithMaxDeliveries", "%d is less than 1", n)
		}
		o.maxDeliveries = n
		return nil
	}
}

// WithConcurrency sets how many handlers of one consumer run at once, by default 16. It must be at
// least 1.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid("WithConcurrency", "%d is less than 1", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithAckWait sets the consumer's ack wait, by default 30s: a handler's context ends after it, and
// JetStream redelivers an event that was neither acknowledged nor refused by then. It must be
// positive.
func WithAckWait(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithAckWait", "%v is not positive", d)
		}
		o.ackWait = d
		return nil
	}
}

// WithStopTimeout sets how long Run waits, once its context ends, for the handlers still running,
// by default 30s. After it their contexts are cancelled and Run returns. It must not be negative.
// Router-wide only.
func WithStopTimeout(d time.Duration) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithStopTimeout"); err != nil {
			return err
		}
		if d < 0 {
			return invalid("WithStopTimeout", "negative duration %v", d)
		}
		o.stopTimeout = d
		return nil
	}
}

// validName checks a stream or consumer name the way JetStream does.
func validName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for _, r := range name {
		if r == '.' || r == '*' || r == '>' || r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("name %q contains %q", name, r)
		}
	}
	return nil
}

// validFilter checks that filter is a NATS subject filter under prefix: "<prefix>." followed by
// valid tokens, '*' wildcards, and at most a final '>'.
func validFilter(prefix, filter string) error {
	rest, ok := strings.CutPrefix(filter, prefix+".")
	if !ok {
		return fmt.Errorf("%q is not under the subject prefix %q (want %s.…)", filter, prefix, prefix)
	}
	toks := strings.Split(rest, ".")
	for i, tok := range toks {
		switch {
		case tok == "*":
		case tok == ">" && i == len(toks)-1:
		default:
			if err := subjects.ValidToken(tok); err != nil {
				return fmt.Errorf("%q: %w", filter, err)
			}
		}
	}
	return nil
}
