package ingest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
)

// tracedStack is startStack with a tracer provider that keeps its spans in memory.
func tracedStack(t *testing.T) (*stack, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return startStack(t, stackOptions{tracer: tp}), exp
}

// spansByName indexes the finished spans by name; each name must occur once.
func spansByName(t *testing.T, exp *tracetest.InMemoryExporter) map[string]tracetest.SpanStub {
	t.Helper()
	out := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		if _, dup := out[s.Name]; dup {
			t.Fatalf("span %s twice", s.Name)
		}
		out[s.Name] = s
	}
	return out
}

func attr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestTracingStoredEvent: a stored event makes a server span, child of the webhook's traceparent,
// with a child per step; the stored message's headers and envelope carry the publish span's trace
// context, so a consumer continues the request's trace. A redelivery is a second trace marked
// duplicate.
func TestTracingStoredEvent(t *testing.T) {
	st, exp := tracedStack(t)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	body := `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_7"}}`
	h := signedSW(t, "msg_trace", time.Now(), body)
	h.Set("traceparent", parent)
	h.Set("tracestate", "rojo=00f067aa0ba902b7")
	if a := post(t, st.url+"/webhooks/acme", h, body); a.status != http.StatusOK {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	spans := spansByName(t, exp)
	recv, ok := spans["avatarbus.receive"]
	if !ok {
		t.Fatalf("no receive span; spans: %v", spans)
	}
	if got := recv.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("receive span trace %s, want the webhook's", got)
	}
	if recv.Parent.SpanID().String() != "00f067aa0ba902b7" || !recv.Parent.IsRemote() || recv.SpanKind != trace.SpanKindServer {
		t.Fatalf("receive span parent %v remote %v kind %v", recv.Parent.SpanID(), recv.Parent.IsRemote(), recv.SpanKind)
	}
	for _, step := range []string{"avatarbus.verify", "avatarbus.normalize", "avatarbus.publish"} {
		s, ok := spans[step]
		if !ok {
			t.Fatalf("no %s span", step)
		}
		if s.Parent.SpanID() != recv.SpanContext.SpanID() || s.SpanContext.TraceID() != recv.SpanContext.TraceID() {
			t.Fatalf("%s is not a child of the receive span", step)
		}
	}
	want := map[string]attribute.Value{
		"avatarbus.source":           attribute.StringValue("acme"),
		"avatarbus.platform":         attribute.StringValue("acme"), // a generic preset names the source
		"cloudevents.event_id":       attribute.StringValue("acme:msg_trace"),
		"messaging.destination.name": attribute.StringValue("avatar.video.completed.acme"),
		"avatarbus.stream.seq":       attribute.Int64Value(1),
		"avatarbus.duplicate":        attribute.BoolValue(false),
		"avatarbus.outcome":          attribute.StringValue("stored"),
		"http.response.status_code":  attribute.IntValue(200),
	}
	for k, v := range want {
		if got, ok := attr(recv, k); !ok || got != v {
			t.Errorf("receive span %s = %v (set %v), want %v", k, got.Emit(), ok, v.Emit())
		}
	}
	for _, kv := range recv.Attributes { // never a secret or the body
		if s := kv.Value.Emit(); s == swSecret || s == body || s == h.Get("webhook-signature") {
			t.Errorf("span attribute %s holds a secret or the body", kv.Key)
		}
	}
	pub := spans["avatarbus.publish"]
	if pub.SpanKind != trace.SpanKindProducer || len(pub.Events) != 1 || pub.Events[0].Name != "ack" {
		t.Fatalf("publish span kind %v events %v", pub.SpanKind, pub.Events)
	}

	// The stored message carries the publish span's context in its headers and its envelope.
	msg, _ := lastStored(t, st.js, "avatar.video.completed.acme")
	wantTP := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + pub.SpanContext.SpanID().String() + "-01"
	if got := msg.Header.Get(broker.TraceParentHeader); got != wantTP {
		t.Fatalf("message traceparent header %q, want %q", got, wantTP)
	}
	if got := msg.Header.Get(broker.TraceStateHeader); got != "rojo=00f067aa0ba902b7" {
		t.Fatalf("message tracestate header %q", got)
	}
	ev, err := envelope.Unmarshal(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.TraceParent != wantTP || ev.TraceState != "rojo=00f067aa0ba902b7" {
		t.Fatalf("envelope traceparent %q tracestate %q, want %q", ev.TraceParent, ev.TraceState, wantTP)
	}

	// The platform's redelivery: a new trace, answered duplicate; the stored event keeps the first.
	exp.Reset()
	h.Del("traceparent")
	h.Del("tracestate")
	if a := post(t, st.url+"/webhooks/acme", h, body); a.status != http.StatusOK || a.body["duplicate"] != true {
		t.Fatalf("redelivery: %d %v", a.status, a.body)
	}
	recv = spansByName(t, exp)["avatarbus.receive"]
	if recv.Parent.IsValid() {
		t.Fatal("a request without traceparent has a parent")
	}
	if got, _ := attr(recv, "avatarbus.duplicate"); !got.AsBool() {
		t.Fatal("redelivery not marked duplicate")
	}
	if got, _ := attr(recv, "avatarbus.outcome"); got.AsString() != "duplicate" {
		t.Fatalf("redelivery outcome %q", got.AsString())
	}
}

// TestTracingRefusedRequest: a forged request is one receive span with a failed verify child,
// outcome and status, and nothing stored.
func TestTracingRefusedRequest(t *testing.T) {
	st, exp := tracedStack(t)
	body := `{"type":"video.done","data":{"id":"vid_8"}}`
	h := signedSW(t, "msg_forged", time.Now(), body)
	h.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if a := post(t, st.url+"/webhooks/acme", h, body); a.status != http.StatusUnauthorized {
		t.Fatalf("status %d", a.status)
	}
	spans := spansByName(t, exp)
	if _, published := spans["avatarbus.publish"]; published {
		t.Fatal("a refused request has a publish span")
	}
	v := spans["avatarbus.verify"]
	if v.Status.Code.String() != "Error" {
		t.Fatalf("verify span status %v", v.Status)
	}
	if r, _ := attr(v, "avatarbus.verify.reason"); r.AsString() == "" {
		t.Fatal("verify span has no reason")
	}
	recv := spans["avatarbus.receive"]
	if got, _ := attr(recv, "http.response.status_code"); got.AsInt64() != http.StatusUnauthorized {
		t.Fatalf("receive status %v", got.Emit())
	}
	if n := streamMsgs(t, st.js); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestTracingOffByDefault: without a Tracer, an incoming traceparent is not followed, and the
// stored event carries no trace context (nothing to continue, nothing exported).
func TestTracingOffByDefault(t *testing.T) {
	st := startStack(t, stackOptions{})
	body := `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_9"}}`
	h := signedSW(t, "msg_off", time.Now(), body)
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if a := post(t, st.url+"/webhooks/acme", h, body); a.status != http.StatusOK {
		t.Fatalf("status %d", a.status)
	}
	s, _ := st.js.Stream(context.Background(), "AVATAR")
	msg, err := s.GetLastMsgForSubject(context.Background(), "avatar.video.completed.acme")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get(broker.TraceParentHeader) != "" {
		t.Fatalf("header traceparent %q with tracing off", msg.Header.Get(broker.TraceParentHeader))
	}
	if ev, _ := envelope.Unmarshal(msg.Data); ev.TraceParent != "" {
		t.Fatalf("envelope traceparent %q with tracing off", ev.TraceParent)
	}
}
