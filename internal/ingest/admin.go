package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// DefaultReadyTimeout bounds a readiness check when AdminConfig.ReadyTimeout is zero.
const DefaultReadyTimeout = time.Second

// maxReasonLen caps the reason a failed readiness check shows.
const maxReasonLen = 256

// AdminConfig configures the admin server.
type AdminConfig struct {
	// Gatherer is what GET /metrics serves, normally the private registry of metrics.NewRegistry;
	// nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports whether avatarbus can store events now (JetStream reachable, stream present,
	// not draining); GET /readyz answers 200 when it returns nil, else 503 with its error text as
	// the reason, so that text must not carry secrets. It gets a context bounded by ReadyTimeout
	// and is called for every /readyz request. nil means always ready.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds each readiness check; 0 = DefaultReadyTimeout. A check that has not
	// returned by then counts as failed.
	ReadyTimeout time.Duration
	// API, when set, answers every path under /api/ (internal/adminapi); it does its own auth,
	// while /metrics, /healthz and /readyz stay open.
	API http.Handler
	// UI, when set, answers every path under /ui/ (internal/console, the web console over API).
	UI http.Handler
	// Log receives readiness changes and /metrics errors.
	Log zerolog.Logger
}

// Admin is the operators' HTTP server: GET /metrics, /healthz and /readyz. It is meant for a
// private listener (admin_listen, loopback by default), never the public webhook port.
type Admin struct {
	http         *http.Server
	mux          *http.ServeMux
	ready        func(ctx context.Context) error
	readyTimeout time.Duration
	log          zerolog.Logger
	// lastReady is the last readiness seen (readyUnknown, readyYes, readyNo), to log changes only.
	lastReady atomic.Int32
}

const (
	readyUnknown int32 = iota
	readyYes
	readyNo
)

// NewAdmin builds the admin server; it does not listen yet.
func NewAdmin(cfg AdminConfig) *Admin {
	a := &Admin{ready: cfg.Ready, readyTimeout: cfg.ReadyTimeout, log: cfg.Log, mux: http.NewServeMux()}
	if a.readyTimeout <= 0 {
		a.readyTimeout = DefaultReadyTimeout
	}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /readyz", a.readyz)
	if cfg.Gatherer != nil {
		a.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog:            promErrorLog{cfg.Log},
			ErrorHandling:       promhttp.ContinueOnError, // a failing collector must not hide the others
			MaxRequestsInFlight: 4,
			Timeout:             10 * time.Second,
		}))
	}
	if cfg.API != nil {
		a.mux.Handle("/api/", cfg.API)
	}
	if cfg.UI != nil {
		a.mux.Handle("/ui/", cfg.UI)
	}
	a.http = &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	// Long-lived answers (the API's event stream) never go idle: Shutdown ends their requests'
	// contexts so that it need not wait for its deadline.
	base, cancel := context.WithCancel(context.Background())
	a.http.BaseContext = func(net.Listener) context.Context { return base }
	a.http.RegisterOnShutdown(cancel)
	return a
}

// Handler returns the HTTP handler, for tests and embedding.
func (a *Admin) Handler() http.Handler { return a.mux }

// Serve answers requests on ln until Shutdown. It returns nil after a clean shutdown.
func (a *Admin) Serve(ln net.Listener) error {
	err := a.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits (until ctx ends) for requests in flight.
func (a *Admin) Shutdown(ctx context.Context) error { return a.http.Shutdown(ctx) }

// health is the JSON body of /healthz and /readyz.
type health struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers 200 while the process serves HTTP at all.
func (a *Admin) healthz(w http.ResponseWriter, _ *http.Request) {
	writeHealth(w, http.StatusOK, health{Status: "ok"})
}

// readyz answers 200 when the readiness check passes within the timeout, else 503 with why.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.readyTimeout)
	defer cancel()
	if err := a.check(ctx); err != nil {
		reason := err.Error()
		if len(reason) > maxReasonLen {
			reason = reason[:maxReasonLen]
		}
		if a.lastReady.Swap(readyNo) != readyNo {
			a.log.Warn().Str("reason", reason).Msg("not ready")
		}
		writeHealth(w, http.StatusServiceUnavailable, health{Status: "unavailable", Reason: reason})
		return
	}
	if a.lastReady.Swap(readyYes) == readyNo {
		a.log.Info().Msg("ready again")
	}
	writeHealth(w, http.StatusOK, health{Status: "ok"})
}

// check runs the readiness check, answering by the deadline even when the check ignores ctx (it
// then finishes in the background), and turning a panic in it into an error.
func (a *Admin) check(ctx context.Context) error {
	if a.ready == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("readiness check panicked: %v", p)
			}
		}()
		done <- a.ready(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("readiness check did not answer within %s", a.readyTimeout)
	}
}

func writeHealth(w http.ResponseWriter, status int, body health) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// promErrorLog sends promhttp's errors (a failing collector, a broken scrape) to zerolog.
type promErrorLog struct{ log zerolog.Logger }

func (l promErrorLog) Println(v ...any) { l.log.Error().Msg(fmt.Sprint(v...)) }
