package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
)

// get asks the admin handler directly.
func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestHealthzAnswersOK(t *testing.T) {
	t.Parallel()
	a := ingest.NewAdmin(ingest.AdminConfig{Ready: func(context.Context) error { return errors.New("not ready") }})
	status, body, h := get(t, a.Handler(), "/healthz")
	if status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %v", status, body, h)
	}
}

func TestReadyzFollowsTheCheck(t *testing.T) {
	t.Parallel()
	var failure atomic.Pointer[error]
	a := ingest.NewAdmin(ingest.AdminConfig{Log: zerolog.Nop(), Ready: func(context.Context) error {
		if p := failure.Load(); p != nil {
			return *p
		}
		return nil
	}})
	if status, body, _ := get(t, a.Handler(), "/readyz"); status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("ready: %d %q", status, body)
	}
	err := fmt.Errorf("%w: stream AVATAR not found", broker.ErrUnavailable)
	failure.Store(&err)
	status, body, h := get(t, a.Handler(), "/readyz")
	if status != 503 || strings.TrimSpace(body) != `{"status":"unavailable","reason":"jetstream unavailable: stream AVATAR not found"}` {
		t.Fatalf("not ready: %d %q", status, body)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", h)
	}
	failure.Store(nil)
	if status, _, _ := get(t, a.Handler(), "/readyz"); status != 200 {
		t.Fatalf("ready again: %d", status)
	}
}

// TestReadyzAnswersByTheTimeout: a check that ignores its context, or panics, still gets a 503 in
// time and does not take the process down.
func TestReadyzAnswersByTheTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	a := ingest.NewAdmin(ingest.AdminConfig{ReadyTimeout: 100 * time.Millisecond, Ready: func(context.Context) error {
		<-release
		return nil
	}})
	start := time.Now()
	status, body, _ := get(t, a.Handler(), "/readyz")
	if took := time.Since(start); status != 503 || !strings.Contains(body, "did not answer within 100ms") || took > time.Second {
		t.Fatalf("%d %q after %s", status, body, took)
	}

	p := ingest.NewAdmin(ingest.AdminConfig{Ready: func(context.Context) error { panic("bug") }})
	if status, body, _ := get(t, p.Handler(), "/readyz"); status != 503 || !strings.Contains(body, "panicked") {
		t.Fatalf("panicking check: %d %q", status, body)
	}
}

func TestReadyzPassesTheDefaultTimeout(t *testing.T) {
	t.Parallel()
	var deadline time.Duration
	a := ingest.NewAdmin(ingest.AdminConfig{Ready: func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		deadline = time.Until(d)
		return nil
	}})
	if status, body, _ := get(t, a.Handler(), "/readyz"); status != 200 {
		t.Fatalf("%d %q", status, body)
	}
	if deadline <= 900*time.Millisecond || deadline > time.Second {
		t.Fatalf("check deadline %s, want 1s", deadline)
	}
	if status, _, _ := get(t, ingest.NewAdmin(ingest.AdminConfig{}).Handler(), "/readyz"); status != 200 {
		t.Fatalf("no check configured: %d", status)
	}
}

// TestAdminServesMetricsOverHTTP runs the admin server on a real listener and scrapes it like
// Prometheus does, then shuts it down.
func TestAdminServesMetricsOverHTTP(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	m.Source("acme").Request(metrics.OutcomeStored, 3*time.Millisecond)
	a := ingest.NewAdmin(ingest.AdminConfig{Gatherer: reg, Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"# TYPE avatarbus_ingest_requests_total counter\n",
		`avatarbus_ingest_requests_total{outcome="stored",source="acme"} 1` + "\n",
		`avatarbus_ingest_requests_total{outcome="unauthorized",source="acme"} 0` + "\n",
		"# TYPE avatarbus_ingest_duration_seconds histogram\n",
		"# TYPE go_goroutines gauge\n",
		"# TYPE process_cpu_seconds_total counter\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if status, _, _ := get(t, a.Handler(), "/metrics"); status != 200 {
		t.Fatalf("handler: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestReadyzWithJetStream is the readiness check serve.go is meant to wire (connected, stream
// present), written here against the broker's exported fields: ready on a real JetStream, not
// ready once the stream is gone, not ready once the server is down.
func TestReadyzWithJetStream(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	b := st.broker
	ready := func(ctx context.Context) error {
		if !b.Conn.IsConnected() {
			return fmt.Errorf("%w: %s", broker.ErrUnavailable, b.Conn.Status())
		}
		if _, err := b.JS.Stream(ctx, "AVATAR"); err != nil {
			return fmt.Errorf("%w: stream AVATAR: %w", broker.ErrUnavailable, err)
		}
		return nil
	}
	a := ingest.NewAdmin(ingest.AdminConfig{Gatherer: st.reg, Ready: ready, Log: zerolog.Nop()})
	if status, body, _ := get(t, a.Handler(), "/readyz"); status != 200 {
		t.Fatalf("ready: %d %q", status, body)
	}
	if err := st.js.DeleteStream(context.Background(), "AVATAR"); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := get(t, a.Handler(), "/readyz"); status != 503 || !strings.Contains(body, "stream not found") {
		t.Fatalf("without stream: %d %q", status, body)
	}
	brokertest.Stop(st.srv)
	start := time.Now()
	if status, body, _ := get(t, a.Handler(), "/readyz"); status != 503 || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("server down: %d %q after %s", status, body, time.Since(start))
	}
	if status, _, _ := get(t, a.Handler(), "/healthz"); status != 200 {
		t.Fatalf("healthz while NATS is down: %d", status)
	}
}
