package tracing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestOffBuildsNothing(t *testing.T) {
	tp, err := New(context.Background(), Config{Endpoint: "collector:4317", Protocol: "grpc", SampleRatio: 1})
	if err != nil || tp != nil {
		t.Fatalf("off: provider %v, error %v; want none", tp, err)
	}
}

func TestOTELSDKDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	tp, err := New(context.Background(), Config{Enabled: true, Protocol: "http", Endpoint: "http://127.0.0.1:1", SampleRatio: 1})
	if err != nil || tp != nil {
		t.Fatalf("OTEL_SDK_DISABLED=true: provider %v, error %v; want none", tp, err)
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		in, host, path string
		insecure, bad  bool
	}{
		{in: ""},
		{in: "collector:4317", host: "collector:4317"},
		{in: "http://collector:4318", host: "collector:4318", insecure: true},
		{in: "https://otel.example.com/", host: "otel.example.com"},
		{in: "http://gw:80/otlp/v1/traces", host: "gw:80", path: "/otlp/v1/traces", insecure: true},
		{in: "grpc://collector:4317", bad: true},
		{in: "http://", bad: true},
	}
	for _, tt := range tests {
		host, insecure, path, err := endpoint(tt.in)
		if (err != nil) != tt.bad || host != tt.host || insecure != tt.insecure || path != tt.path {
			t.Errorf("endpoint(%q) = %q, %v, %q, %v", tt.in, host, insecure, path, err)
		}
	}
}

func TestBadProtocol(t *testing.T) {
	_, err := New(context.Background(), Config{Enabled: true, Protocol: "thrift"})
	if !errors.Is(err, ErrExporter) {
		t.Fatalf("error %v, want ErrExporter", err)
	}
}

// TestExportsOverOTLPHTTP: with protocol http and an http:// endpoint, the spans reach the
// collector as an OTLP protobuf POST on /v1/traces when the provider is shut down (flushed).
func TestExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		if len(body) == 0 {
			t.Error("empty export")
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	for _, grpc := range []bool{false, true} {
		cfg := Config{Enabled: true, Endpoint: collector.URL, Protocol: "http", SampleRatio: 1}
		if grpc { // a gRPC exporter builds without a collector: it connects lazily
			cfg.Protocol, cfg.Endpoint = "grpc", "127.0.0.1:1"
		}
		tp, err := New(context.Background(), cfg)
		if err != nil || tp == nil {
			t.Fatalf("%+v: provider %v, error %v", cfg, tp, err)
		}
		if grpc {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // do not wait for the unreachable collector
			_ = tp.Shutdown(ctx)
			continue
		}
		_, span := tp.Tracer("test").Start(context.Background(), "x")
		span.End()
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "POST /v1/traces application/x-protobuf" {
		t.Fatalf("collector got %q", got)
	}
}

// TestSampler: the ratio applies to traces that start here; a request's sampled parent is followed
// whatever the ratio, so a trace is never cut in the middle.
func TestSampler(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(Sampler(0)))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("test")
	_, root := tr.Start(context.Background(), "root")
	if root.SpanContext().IsSampled() {
		t.Fatal("ratio 0 sampled a root span")
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "child")
	if !child.SpanContext().IsSampled() {
		t.Fatal("a sampled parent was not followed")
	}
	tp1 := sdktrace.NewTracerProvider(sdktrace.WithSampler(Sampler(1)))
	defer func() { _ = tp1.Shutdown(context.Background()) }()
	if _, s := tp1.Tracer("test").Start(context.Background(), "root"); !s.SpanContext().IsSampled() {
		t.Fatal("ratio 1 did not sample")
	}
}
