package ingest

import (
	"context"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/record"
)

// Span names of the pipeline: one server span per request, a child per step (docs/tracing.md).
const (
	spanReceive   = "avatarbus.receive"
	spanVerify    = "avatarbus.verify"
	spanNormalize = "avatarbus.normalize"
	spanConfirm   = "avatarbus.confirm"
	spanOffload   = "avatarbus.offload"
	spanPublish   = "avatarbus.publish"
	eventAck      = "ack"
)

// Span attributes. Never a body, a header value or a secret: ids, names and outcomes only.
const (
	attrSource    = attribute.Key("avatarbus.source")
	attrPlatform  = attribute.Key("avatarbus.platform")
	attrOutcome   = attribute.Key("avatarbus.outcome")
	attrDuplicate = attribute.Key("avatarbus.duplicate")
	attrStreamSeq = attribute.Key("avatarbus.stream.seq")
	attrStream    = attribute.Key("avatarbus.stream")
	attrReason    = attribute.Key("avatarbus.verify.reason")
	// OpenTelemetry semantic conventions (semconv v1.43.0: cloudevents.*, messaging.*, http.*).
	attrEventID     = attribute.Key("cloudevents.event_id")
	attrEventType   = attribute.Key("cloudevents.event_type")
	attrEventSource = attribute.Key("cloudevents.event_source")
	attrMsgSystem   = attribute.Key("messaging.system")
	attrMsgDest     = attribute.Key("messaging.destination.name")
	attrMsgID       = attribute.Key("messaging.message.id")
	attrHTTPMethod  = attribute.Key("http.request.method")
	attrHTTPRoute   = attribute.Key("http.route")
	attrHTTPStatus  = attribute.Key("http.response.status_code")
)

// traceContext reads and writes W3C traceparent and tracestate, whatever global propagator the
// process has: the envelope's distributed-tracing extension is that format and no other.
var traceContext propagation.TraceContext

// noSpan is the span of a server without tracing: a shared no-op that allocates nothing.
var noSpan = trace.SpanFromContext(context.Background())

// startRequest starts the request's server span, child of the request's traceparent when it
// carries one, and puts it in the request's context for the steps and the publish. Without
// tracing it does nothing.
func (s *Server) startRequest(c echo.Context, source string) trace.Span {
	if s.tracer == nil {
		return noSpan
	}
	req := c.Request()
	ctx := traceContext.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	ctx, span := s.tracer.Start(ctx, spanReceive, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrSource.String(source), attrHTTPMethod.String(req.Method),
			attrHTTPRoute.String("/webhooks/:source")))
	c.SetRequest(req.WithContext(ctx))
	return span
}

// endRequest records the request's outcome and status on its span and ends it.
func endRequest(span trace.Span, outcome string, status int, err error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attrOutcome.String(outcome), attrHTTPStatus.Int(status))
	if status >= 500 && err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// startStep starts the child span of one pipeline step; without tracing it does nothing.
func (s *Server) startStep(c echo.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	ctx := c.Request().Context()
	if s.tracer == nil {
		return ctx, noSpan
	}
	return s.tracer.Start(ctx, name, trace.WithSpanKind(kind))
}

// endStep ends a step's span, marking it failed when err is set.
func endStep(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// stamp writes the publish span's context into ev's distributed-tracing extension attributes, from
// which the broker also writes the message headers: a consumer continues the trace from either.
func stamp(ctx context.Context, ev *envelope.Event) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	ev.TraceParent = carrier["traceparent"]
	ev.TraceState = carrier["tracestate"]
}

// describeEvent puts the normalized event's names on the request span.
func describeEvent(span trace.Span, ev *envelope.Event, subject string) {
	if span.IsRecording() {
		span.SetAttributes(attrPlatform.String(ev.Platform), attrEventID.String(ev.ID),
			attrEventType.String(ev.Type), attrEventSource.String(ev.Source), attrMsgDest.String(subject))
	}
}

// describeAck records JetStream's ack on the publish span (as the ack event) and the request span.
func describeAck(req, pub trace.Span, ack record.Ack) {
	if !pub.IsRecording() && !req.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attrStream.String(ack.Stream), attrStreamSeq.Int64(int64(ack.Seq)), attrDuplicate.Bool(ack.Duplicate)}
	pub.AddEvent(eventAck, trace.WithAttributes(attrs...))
	pub.SetAttributes(attrs...)
	req.SetAttributes(attrs...)
}
