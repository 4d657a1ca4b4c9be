package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// benchRequests pre-signs n Standard Webhooks requests of about 1 KiB with unique webhook-ids, so
// that the timed loop measures the server, not the signing.
func benchRequests(b *testing.B, n int) []benchRequest {
	b.Helper()
	now := time.Now()
	pad := bytes.Repeat([]byte("x"), 820)
	reqs := make([]benchRequest, n)
	for i := range reqs {
		id := "msg_" + strconv.Itoa(i)
		body := fmt.Appendf(nil, `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_%d","url":"https://cdn.example.com/v/%d.mp4","note":"%s"}}`, i, i, pad)
		sig, err := verify.SignStandardWebhooks(swSecret, id, now, body)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/acme", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Webhook-Id", id)
		r.Header.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
		r.Header.Set("Webhook-Signature", sig)
		reqs[i] = benchRequest{r, body}
	}
	return reqs
}

func benchServer(b *testing.B, pub ingest.Publisher, tracer ...trace.TracerProvider) http.Handler {
	b.Helper()
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}})
	if err != nil {
		b.Fatal(err)
	}
	p, ok := platform.Default().Lookup("standardwebhooks")
	if !ok {
		b.Fatal("no standardwebhooks preset")
	}
	cfg := ingest.Config{
		Sources: []ingest.Source{{Name: "acme", Preset: p, Verifier: v,
			Events: map[string]string{"video.done": envelope.TypeVideoCompleted}}},
		SubjectPrefix: "avatar", Publisher: pub, Log: zerolog.Nop(),
		Metrics: metrics.New(metrics.NewRegistry()),
	}
	if len(tracer) > 0 {
		cfg.Tracer = tracer[0]
	}
	return ingest.New(cfg).Handler()
}

// benchRequest is a pre-signed request and its body, reusable: serve sends a shallow copy.
type benchRequest struct {
	req  *http.Request
	body []byte
}

// serve answers a copy of r and fails the benchmark on anything but 200. The copy, its body
// reader and the recorder are 4 of the allocations reported.
func serve(b *testing.B, h http.Handler, r benchRequest) {
	req := *r.req
	req.Body = io.NopCloser(bytes.NewReader(r.body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, &req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkHandler is the whole ingest pipeline of one signed 1 KiB Standard Webhooks request
// (routing, middleware, body, verify, normalize, subject, metrics, answer) with a publisher that
// acknowledges at once.
func BenchmarkHandler(b *testing.B) {
	h := benchServer(b, &fakePublisher{})
	reqs := benchRequests(b, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serve(b, h, reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkHandlerTracing is BenchmarkHandler with tracing off (the default: no tracer), on with
// every trace dropped by the sampler (ratio 0), and on with every trace sampled into an exporter
// that discards it (the SDK's own cost: spans, attributes, trace context in the event).
func BenchmarkHandlerTracing(b *testing.B) {
	for _, bc := range []struct {
		name string
		tp   func() *sdktrace.TracerProvider
	}{
		{"off", nil},
		{"on-unsampled", func() *sdktrace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		}},
		{"on-sampled", func() *sdktrace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var h http.Handler
			if bc.tp == nil {
				h = benchServer(b, &fakePublisher{})
			} else {
				tp := bc.tp()
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				h = benchServer(b, &fakePublisher{}, tp)
			}
			reqs := benchRequests(b, 1024)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				serve(b, h, reqs[i%len(reqs)])
				i++
			}
		})
	}
}

// BenchmarkHandlerJetStream is the same pipeline publishing into a real in-process JetStream (file
// storage), with 64 requests in flight: the shape of the bench harness's 64-connection cell without
// the sockets. Profile it with
//
//	go test -run '^$' -bench HandlerJetStream -cpuprofile cpu.out ./ingest/
func BenchmarkHandlerJetStream(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a nats-server")
	}
	srv := brokertest.RunJetStream(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bk, err := broker.Open(ctx, broker.Config{
		Conn:           broker.ConnConfig{URL: srv.ClientURL(), Name: "bench"},
		PublishTimeout: 5 * time.Second, // a loaded machine stalls; a 503 would end the benchmark
		Stream: broker.StreamConfig{Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1,
			MaxAge: time.Hour, Duplicates: 10 * time.Minute},
	}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bk.Close)
	h := benchServer(b, bk.Publisher())
	reqs := benchRequests(b, max(b.N, 1))
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serve(b, h, reqs[(next.Add(1)-1)%int64(len(reqs))])
		}
	})
}
