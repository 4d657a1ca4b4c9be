package router_test

import (
	"context"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

// storeTraced stores the event id as ingest does with tracing on: the envelope and (through the
// broker's Publisher) the message headers carry the context of a producer span, which it returns.
// withHeaders false stores the envelope alone, as a producer that sets no headers would.
func storeTraced(t *testing.T, b *bus, tp trace.TracerProvider, id string, withHeaders bool) trace.SpanContext {
	t.Helper()
	ctx, span := tp.Tracer("test").Start(context.Background(), "producer", trace.WithSpanKind(trace.SpanKindProducer))
	defer span.End()
	ev := event(id)
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	ev.TraceParent = carrier["traceparent"]
	subject, err := subjects.For("avatar", ev.Type, ev.Platform)
	if err != nil {
		t.Fatal(err)
	}
	if !withHeaders {
		body, err := envelope.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.publishRaw(subject, id, body)
		return span.SpanContext()
	}
	if _, err := broker.NewPublisher(b.nc, b.js, stream, 5*time.Second).Publish(ctx, subject, ev); err != nil {
		t.Fatal(err)
	}
	return span.SpanContext()
}

func spanAttr(s tracetest.SpanStub, key string) attribute.Value {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTracingRouteDelivery: each delivery attempt of an HTTP route is a consumer span, child of
// the stored message's trace context, with the answer's HTTP status and the outcome; the POST
// carries the attempt's span as its traceparent, so the receiver continues the trace.
func TestTracingRouteDelivery(t *testing.T) {
	b := newBus(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	var mu sync.Mutex
	var parents []string // traceparent of each POST
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		n := len(parents)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	producer := storeTraced(t, b, tp, "acme:traced", true)
	exp.Reset()
	h, err := router.HTTPRoute(deliver.Target{URL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := b.router(router.WithTracerProvider(tp))
	if err := r.Handle("avatar.>", "traced", h); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 10*time.Second, func() bool { return len(exp.GetSpans()) >= 2 }, "two delivery spans")

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (one per attempt)", len(spans))
	}
	wantStatus := []int64{503, 204}
	wantOutcome := []string{"retried", "handled"}
	for i, s := range spans {
		if s.Name != "avatarbus.deliver" || s.SpanKind != trace.SpanKindConsumer {
			t.Fatalf("span %d: %s kind %v", i, s.Name, s.SpanKind)
		}
		if s.Parent.TraceID() != producer.TraceID() || s.Parent.SpanID() != producer.SpanID() || !s.Parent.IsRemote() {
			t.Fatalf("attempt %d parent %v, want the producer span %v", i+1, s.Parent, producer)
		}
		if got := spanAttr(s, "http.response.status_code").AsInt64(); got != wantStatus[i] {
			t.Errorf("attempt %d status %d, want %d", i+1, got, wantStatus[i])
		}
		if got := spanAttr(s, "avatarbus.outcome").AsString(); got != wantOutcome[i] {
			t.Errorf("attempt %d outcome %q, want %q", i+1, got, wantOutcome[i])
		}
		if got := spanAttr(s, "avatarbus.delivered").AsInt64(); got != int64(i+1) {
			t.Errorf("attempt %d delivered %d", i+1, got)
		}
		if spanAttr(s, "cloudevents.event_id").AsString() != "acme:traced" || spanAttr(s, "avatarbus.route").AsString() != "traced" ||
			spanAttr(s, "avatarbus.stream.seq").AsInt64() != 1 {
			t.Errorf("attempt %d attributes %v", i+1, s.Attributes)
		}
		want := "00-" + producer.TraceID().String() + "-" + s.SpanContext.SpanID().String() + "-01"
		mu.Lock()
		got := parents[i]
		mu.Unlock()
		if got != want {
			t.Errorf("POST %d traceparent %q, want %q", i+1, got, want)
		}
	}
	if spans[0].Status.Code.String() != "Error" || spans[1].Status.Code.String() != "Unset" {
		t.Errorf("statuses %v, %v", spans[0].Status, spans[1].Status)
	}
}

// TestTracingRouteEnvelopeParent: a message without trace headers is continued from its envelope's
// traceparent attribute; a router without WithTracerProvider makes no span and sends none.
func TestTracingRouteEnvelopeParent(t *testing.T) {
	b := newBus(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	producer := storeTraced(t, b, tp, "acme:body-only", false)
	exp.Reset()

	var mu sync.Mutex
	var untraced []string
	r := b.router(router.WithTracerProvider(tp))
	if err := r.Handle("avatar.>", "traced", func(ctx context.Context, ev router.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	plain := b.router() // tracing off
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		untraced = append(untraced, r.Header.Get("traceparent"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h, err := router.HTTPRoute(deliver.Target{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Handle("avatar.>", "plain", h); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	b.run(plain)
	waitfor.Cond(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(exp.GetSpans()) == 1 && len(untraced) == 1
	}, "one traced delivery and one plain POST")
	s := exp.GetSpans()[0]
	if s.Parent.SpanID() != producer.SpanID() || s.SpanContext.TraceID() != producer.TraceID() {
		t.Fatalf("parent %v, want the envelope's %v", s.Parent, producer)
	}
	b.waitSettled("plain")
	if len(exp.GetSpans()) != 1 {
		t.Fatalf("the untraced router made spans: %d", len(exp.GetSpans()))
	}
	if untraced[0] != "" {
		t.Fatalf("untraced router sent traceparent %q", untraced[0])
	}
}
