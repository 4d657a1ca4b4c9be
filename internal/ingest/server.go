package ingest

import (
	"context"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/offload"
	"github.com/avatarbus/avatarbus/internal/record"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// Publisher stores an event and reports JetStream's ack. An error means the event is not stored.
type Publisher interface {
	Publish(ctx context.Context, subject string, ev *envelope.Event) (record.Ack, error)
}

// TracerName is the instrumentation scope of the ingest spans.
const TracerName = "github.com/avatarbus/avatarbus/internal/ingest"

// DefaultMaxBody is the body limit of a source that sets none.
const DefaultMaxBody = 1 << 20

// Source is one configured webhook endpoint, served at /webhooks/{Name}.
type Source struct {
	Name     string
	Preset   platform.Preset
	Verifier verify.Verifier
	MaxBody  int64             // 0 = DefaultMaxBody
	Events   map[string]string // the source's own event-name mapping
	// Confirmer, when set, checks each normalized event with the platform before it is published
	// (`confirm: fetch`); nil publishes what the request says.
	Confirmer Confirmer
	// RateLimit bounds the source's request rate; nil is unlimited.
	RateLimit *RateLimit
	// SecretHeaders name headers whose values are secrets (a token source's header), masked in
	// quarantined copies like Authorization and Cookie always are.
	SecretHeaders []string
	// Offload says which bodies are stored by reference (Config.Objects): those over Above, and
	// any event too large for a message, with the preset's large fields first.
	Offload offload.Policy
}

// Config configures a Server.
type Config struct {
	Sources       []Source
	SubjectPrefix string
	Publisher     Publisher
	Log           zerolog.Logger
	// Now is the clock for timestamps and signature tolerance; nil = time.Now.
	Now func() time.Time
	// Metrics records every request (see package metrics); nil records nothing.
	Metrics *metrics.Metrics
	// Quarantine keeps the requests refused for their signature or timestamp; nil keeps none.
	Quarantine Quarantine
	// HTTP bounds the server's connections; zero fields take the defaults.
	HTTP HTTPConfig
	// Objects stores the parts of payloads too large for an event (see package offload); nil
	// stores none, and an event too large for a message is answered 503.
	Objects offload.Store
	// MaxPayload is the largest message NATS accepts now (headers included); required with Objects.
	MaxPayload func() int64
	// Tracer makes the spans of each request (see tracing.go, docs/tracing.md) and stamps its trace
	// context on the stored event; nil (tracing off) makes none.
	Tracer trace.TracerProvider
}

// HTTPConfig bounds the HTTP server's connections (see net/http.Server), so that one slow or
// noisy client cannot hold what the others need. Zero fields take the Default values.
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration // reading the request line and headers (cuts slowloris clients)
	ReadTimeout       time.Duration // reading the whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // a keep-alive connection waiting for its next request
	MaxHeaderBytes    int           // request line and headers
	// MaxBodyBytesInFlight bounds the bytes held by the bodies of all requests in flight
	// (0 = DefaultMaxBodyBytesInFlight(), sized for the machine); BodyWait is how long a request
	// waits for room before its 503 (0 = DefaultBodyWait). See bodybudget.go.
	MaxBodyBytesInFlight int64
	BodyWait             time.Duration
	// MaxConnections caps the open connections (see conns.go); 0 derives it from the file limit
	// (DeriveMaxConnections of FileLimit).
	MaxConnections int
	// PressureIdleTimeout replaces IdleTimeout, and bounds the wait for a first request, while
	// the open connections are at PressurePercent of MaxConnections or more.
	PressureIdleTimeout time.Duration
}

// Defaults of HTTPConfig.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	// fallbackFileLimit is assumed where the file limit cannot be read (the common default).
	fallbackFileLimit = 1024
)

// withDefaults fills the zero fields of h.
func (h HTTPConfig) withDefaults() HTTPConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&h.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&h.ReadTimeout, DefaultReadTimeout)
	def(&h.WriteTimeout, DefaultWriteTimeout)
	def(&h.IdleTimeout, DefaultIdleTimeout)
	if h.MaxHeaderBytes <= 0 {
		h.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if h.MaxBodyBytesInFlight <= 0 {
		h.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight()
	}
	def(&h.BodyWait, DefaultBodyWait)
	def(&h.PressureIdleTimeout, DefaultPressureIdleTimeout)
	if h.MaxConnections <= 0 {
		limit, err := FileLimit()
		if err != nil {
			limit = fallbackFileLimit
		}
		h.MaxConnections = DeriveMaxConnections(limit)
	}
	return h
}

// endpoint is a configured source with its metrics handle (nil without metrics). Reload swaps its
// Source while requests are in flight; each request uses the one it loaded first.
type endpoint struct {
	source  atomic.Pointer[Source]
	metrics *metrics.Source
	// limiter is the token bucket of the source's RateLimit, rebuilt when a reload changes it.
	limiter  atomic.Pointer[limiter]
	limitLog zerolog.Logger // sampled: a flood of 429s writes a line now and then, not one each
	busyLog  zerolog.Logger // sampled like limitLog: an outage's 503s write a line now and then
	// quarantine is the subject refused requests are kept on; "" keeps none.
	quarantine string
}

// Server is the ingest HTTP server.
type Server struct {
	echo      *echo.Echo
	handler   http.Handler // echo behind withRequestID
	http      *http.Server
	sources   map[string]*endpoint
	unknown   *metrics.Source // records requests for unconfigured sources; nil without metrics
	prefix    string
	subjects  *subjectCache // the subjects of prefix
	pub       Publisher
	quar      Quarantine         // nil keeps nothing
	offload   *offload.Offloader // nil stores nothing by reference
	budget    *bodyBudget        // bytes of bodies in flight
	log       zerolog.Logger
	now       func() time.Time
	draining  atomic.Bool
	answering atomic.Int64 // ns spent answering webhook requests, summed when each is answered (AnsweringTime)
	conns     *connTracker // caps the listener and closes idle connections under pressure
	tracer    trace.Tracer // nil: tracing off
}

// New builds the server; it does not listen yet.
func New(cfg Config) *Server {
	s := &Server{
		sources:  make(map[string]*endpoint, len(cfg.Sources)),
		prefix:   cfg.SubjectPrefix,
		subjects: newSubjectCache(cfg.SubjectPrefix),
		pub:      cfg.Publisher,
		quar:     cfg.Quarantine,
		log:      cfg.Log,
		now:      cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Tracer != nil {
		s.tracer = cfg.Tracer.Tracer(TracerName)
	}
	h := cfg.HTTP.withDefaults()
	s.budget = s.newBodyBudget(h, cfg.Sources, cfg.Metrics)
	if cfg.Objects != nil && cfg.MaxPayload != nil {
		s.offload = offload.New(cfg.Objects, cfg.MaxPayload)
	}
	for _, src := range cfg.Sources {
		if src.MaxBody <= 0 {
			src.MaxBody = DefaultMaxBody
		}
		ep := &endpoint{}
		ep.source.Store(&src)
		if cfg.Metrics != nil {
			ep.metrics = cfg.Metrics.Source(src.Name)
		}
		ep.limitLog = s.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: limitLogPeriod}).With().Str("source", src.Name).Logger()
		ep.busyLog = s.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: limitLogPeriod}).With().Str("source", src.Name).Logger()
		if s.quar != nil {
			subject, err := subjects.Quarantine(s.prefix, src.Name)
			if err != nil { // buildSources checks names first; not worth failing New for
				s.log.Error().Err(err).Str("source", src.Name).Msg("refused requests of this source cannot be quarantined")
			}
			ep.quarantine = subject
		}
		s.sources[src.Name] = ep
	}
	if cfg.Metrics != nil {
		s.unknown = cfg.Metrics.UnknownSource()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpErrorHandler
	// Echo applies middleware anew on every request (a closure each); the routes' chains are
	// built here once instead. Only handlers can panic, so recovering in them is enough.
	recoverer := middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error().Err(err).Bytes("stack", stack).Str("request_id", c.Response().Header().Get(echo.HeaderXRequestID)).Msg("panic in handler")
		return ErrInternal
	}})
	e.POST("/webhooks/:source", recoverer(s.rateLimit(s.handleWebhook)))
	e.OPTIONS("/webhooks/:source", recoverer(s.handleOptions))
	s.echo = e
	s.handler = withRequestID(e)
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    h.MaxHeaderBytes,
		ErrorLog:          stdlog.New(serverErrorLog{s.log}, "", 0),
	}
	s.conns = newConnTracker(h.MaxConnections, h.PressureIdleTimeout)
	s.http.ConnState = s.conns.state
	return s
}

// serverErrorLog sends net/http's own complaints (bad TLS handshakes, accept errors) to the
// structured log instead of the standard logger's stderr lines.
type serverErrorLog struct{ log zerolog.Logger }

func (w serverErrorLog) Write(p []byte) (int, error) {
	w.log.Warn().Str("component", "http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until Shutdown, at most HTTPConfig.MaxConnections at once. It
// returns nil after a clean shutdown.
func (s *Server) Serve(ln net.Listener) error {
	done := make(chan struct{})
	defer close(done)
	go s.conns.run(done)
	err := s.http.Serve(s.conns.limitListener(ln))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Draining reports whether Shutdown has begun; a readiness check should fail from then on, so that
// a load balancer stops sending requests that would be answered 503.
func (s *Server) Draining() bool { return s.draining.Load() }

// AnsweringTime is the time spent answering webhook requests so far, summed over the requests
// (each added when answered). Its growth over an interval divided by the interval is the average
// number of requests in flight during it (Little's law): how busy the ingest tier is, for
// background work that yields to it (serve's index writer). The count in flight at one instant
// is often low even when the tier is saturated.
func (s *Server) AnsweringTime() time.Duration { return time.Duration(s.answering.Load()) }

// Shutdown stops accepting connections, answers 503 to requests that arrive on open connections
// meanwhile, and waits (until ctx ends) for in-flight requests, each still waiting for its ack.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.http.Shutdown(ctx)
}
