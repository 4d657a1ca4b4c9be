package router

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
)

// TracerName is the instrumentation scope of the delivery spans.
const TracerName = "github.com/avatarbus/avatarbus/router"

// spanDeliver names the span of one delivery attempt (one run of a handler on one delivery).
const spanDeliver = "avatarbus.deliver"

// Span attributes of a delivery: names, ids and outcomes, never the body.
const (
	attrRoute       = attribute.Key("avatarbus.route")
	attrOutcome     = attribute.Key("avatarbus.outcome")
	attrStreamSeq   = attribute.Key("avatarbus.stream.seq")
	attrDelivered   = attribute.Key("avatarbus.delivered")
	attrEventID     = attribute.Key("cloudevents.event_id")
	attrEventType   = attribute.Key("cloudevents.event_type")
	attrMsgSystem   = attribute.Key("messaging.system")
	attrMsgDest     = attribute.Key("messaging.destination.name")
	traceParentName = "traceparent" // W3C names, as internal/broker writes them
	traceStateName  = "tracestate"
)

// outcomeNames are the values of avatarbus.outcome.
var outcomeNames = [...]string{Handled: "handled", Retried: "retried", DeadLettered: "dead_lettered"}

// String returns the outcome's name: handled, retried or dead_lettered.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// noSpan is the span of a router without tracing: a shared no-op that allocates nothing.
var noSpan = trace.SpanFromContext(context.Background())

// WithTracerProvider makes a span per delivery attempt with tp (docs/tracing.md): a consumer span,
// child of the trace context the stored message carries (its traceparent header, else the
// envelope's traceparent attribute), whose context the handler receives, so that HTTPRoute sends
// it on as the traceparent of its POST. nil, the default, makes none. Router-wide only.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) error {
		if err := routerOnly(o, "WithTracerProvider"); err != nil {
			return err
		}
		o.tracer = nil
		if tp != nil {
			o.tracer = tp.Tracer(TracerName)
		}
		return nil
	}
}

// startDelivery starts the span of one delivery attempt, child of the trace context the stored
// message carries: its traceparent header, else the envelope's traceparent attribute (env may be
// nil: an undecodable message). Without tracing it returns the no-op span.
func (w *worker) startDelivery(msg jetstream.Msg, seq, delivered uint64, env *envelope.Event) trace.Span {
	t := w.rt.opts.tracer
	if t == nil {
		return noSpan
	}
	ctx := traceContext.Extract(context.Background(), natsCarrier(msg.Headers()))
	if !trace.SpanContextFromContext(ctx).IsValid() && env != nil && env.TraceParent != "" {
		ctx = traceContext.Extract(ctx, propagation.MapCarrier{traceParentName: env.TraceParent, traceStateName: env.TraceState})
	}
	attrs := []attribute.KeyValue{attrRoute.String(w.rt.durable), attrMsgSystem.String("nats"),
		attrMsgDest.String(msg.Subject()), attrStreamSeq.Int64(int64(seq)), attrDelivered.Int64(int64(delivered))}
	if env != nil {
		attrs = append(attrs, attrEventID.String(env.ID), attrEventType.String(env.Type))
	}
	_, span := t.Start(ctx, spanDeliver, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return span
}

// endDelivery records the attempt's outcome (and, when it failed, why) and ends its span.
func endDelivery(span trace.Span, o Outcome, reason string) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attrOutcome.String(o.String()))
	if reason != "" {
		span.SetStatus(codes.Error, reason)
	}
	span.End()
}

// traceContext reads the W3C trace context whatever the process's global propagator is.
var traceContext propagation.TraceContext

// natsCarrier reads and writes NATS headers by their exact names: NATS keeps a header's case, and
// the W3C names are lower case (propagation.HeaderCarrier would canonicalize them to Traceparent).
type natsCarrier nats.Header

func (c natsCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c natsCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c natsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
