package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/buildinfo"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/router"
)

// shutdownGrace bounds how long in-flight requests may take to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

// configFlags are the flags every command that reads the config file shares.
type configFlags struct {
	path      string
	overrides map[string]*string // dotted config key -> flag value
}

func addConfigFlags(cmd *cobra.Command, keys map[string]string) *configFlags {
	cf := &configFlags{overrides: map[string]*string{}}
	cmd.Flags().StringVar(&cf.path, "config", "", "config file (default: avatarbus.yaml when present)")
	for flag, key := range keys {
		cf.overrides[key] = cmd.Flags().String(flag, "", "overrides config key "+key)
	}
	return cf
}

// load reads the config: defaults, file, AVATARBUS_* environment, then the flags that were set.
func (cf *configFlags) load(cmd *cobra.Command) (*config.Config, []string, error) {
	flags := map[string]string{}
	for key, v := range cf.overrides {
		if *v != "" {
			flags[key] = *v
		}
	}
	return config.Load(config.LoadOptions{Path: cf.path, Flags: flags})
}

func newServeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive webhooks and store them in JetStream (embedded unless nats.url is set)",
		Args:  cobra.NoArgs,
	}
	cf := addConfigFlags(cmd, map[string]string{
		"listen":       "listen",
		"nats-url":     "nats.url",
		"store-dir":    "nats.embedded.store_dir",
		"nats-listen":  "nats.embedded.listen",
		"admin-listen": "admin_listen",
		"log-level":    "log.level",
		"log-format":   "log.format",
	})
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, warnings, err := cf.load(cmd)
		if err != nil {
			return err
		}
		log, err := newLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
		if err != nil {
			return err
		}
		// warnings already holds cfg.Warnings(): config.Load includes them.
		for _, w := range warnings {
			log.Warn().Msg(w)
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, cfg, log)
	}
	return cmd
}

// serve runs avatarbus until ctx ends, then stops in order: stop accepting and finish in-flight
// requests (each waits for its ack), stop the routes (each finishes its delivery), stop the admin
// listener, then drain NATS and stop the embedded server.
func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	sources, err := buildSources(cfg, platform.Default())
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		log.Warn().Msg("no sources configured: every webhook will be answered 404; see docs/configuration.md to add one")
	}
	warnRetryHorizons(cfg, platform.Default(), log)
	warnConnectionCap(cfg, log)
	bcfg, err := brokerConfig(cfg)
	if err != nil {
		return err
	}
	// Listen before starting NATS: a busy port is the most common start-up failure and should not
	// cost an embedded server start and stop.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("admin_listen on %s: %w", cfg.AdminListen, err)
	}
	defer adminLn.Close()

	b, err := broker.Open(ctx, bcfg, log)
	if err != nil {
		return err
	}
	closeBroker := sync.OnceFunc(b.Close) // drains NATS, then stops the embedded server
	defer closeBroker()

	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	if err := m.WatchNATS(b.Connected); err != nil {
		return err
	}
	bi := buildinfo.Read()
	if err := m.BuildInfo(metrics.Build{Version: bi.Version, Commit: bi.ShortCommit(), GoVersion: bi.GoVersion}); err != nil {
		return err
	}
	tp, stopTracing, err := startTracing(ctx, cfg.Tracing, log) // nil when tracing is off (tracing.go)
	if err != nil {
		return err
	}
	defer stopTracing()
	// The index and the attempts stream need the event stream, which broker.Open made; the
	// writer stops after the routes, before the broker closes (find.go).
	// The index writer yields to the ingest tier made below: it defers while many webhook
	// requests have been in flight on average since it last asked (docs/find.md).
	var ingestTier atomic.Pointer[ingest.Server]
	load := &averageLoad{now: time.Now, answering: func() time.Duration {
		if s := ingestTier.Load(); s != nil {
			return s.AnsweringTime()
		}
		return 0
	}}
	busy := func() bool { return load.sample() >= indexYieldInFlight }
	rec, stopIndex, err := startIndex(ctx, cfg, b.JS, m, busy, log)
	if err != nil {
		return err
	}
	stopIndexOnce := sync.OnceFunc(stopIndex)
	defer stopIndexOnce()
	rt, err := buildRouter(b.JS, cfg, cfg.Routes, m, rec, log, router.WithTracerProvider(tp))
	if err != nil {
		return err
	}
	srv := ingest.New(ingest.Config{
		Sources:       sources,
		SubjectPrefix: cfg.Stream.SubjectPrefix,
		Publisher:     eventPublisher(cfg, b, log),
		Log:           log,
		Metrics:       m,
		Quarantine:    quarantineOf(b),
		HTTP:          httpConfig(cfg),
		Objects:       objectsOf(b),
		MaxPayload:    b.MaxPayload,
		Tracer:        tp,
	})
	ingestTier.Store(srv)
	if err := m.WatchConnections(srv.Connections); err != nil {
		return err
	}
	api := adminAPIHandler(cfg, b.JS, log)
	admin := ingest.NewAdmin(ingest.AdminConfig{
		Gatherer: reg,
		API:      api,
		UI:       consoleHandler(cfg, api, log),
		Ready: func(ctx context.Context) error {
			if srv.Draining() {
				return errors.New("shutting down")
			}
			return b.Ready(ctx)
		},
		Log: log,
	})

	// Everything below runs until ctx ends or one part fails; then all of it stops in order.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	// The poller (reconcile, usage) needs the stream, which broker.Open made; it stops before
	// the broker closes (reconcile.go).
	stopPoller, err := startPoller(runCtx, cfg, b, m, log)
	if err != nil {
		return err
	}
	defer reloadOnSIGHUP(runCtx, cfg, srv, log)() // SIGHUP re-reads "@file" secrets (reload.go)
	// Sized for the two listeners, so neither blocks on a send nobody reads.
	failed := make(chan error, 2)
	go func() { failed <- srv.Serve(ln) }()
	go func() { failed <- admin.Serve(adminLn) }()
	var routed chan error // nil without routes: never ready in the select below
	if rt != nil {
		routed = make(chan error, 1)
		go func() { routed <- rt.Run(runCtx) }()
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	_, maxConns := srv.Connections()
	log.Info().Str("listen", ln.Addr().String()).Str("admin_listen", adminLn.Addr().String()).
		Int("max_connections", maxConns).Strs("sources", names).Int("routes", len(cfg.Routes)).Msg("avatarbus ready: POST /webhooks/{source}")

	var runErr error
	select {
	case runErr = <-failed:
		if runErr == nil {
			runErr = errors.New("a listener stopped unexpectedly")
		}
	case runErr = <-routed:
		routed = nil // Run has returned: nothing more to wait for
		if runErr == nil {
			runErr = errors.New("routes stopped unexpectedly")
		}
		runErr = fmt.Errorf("routes: %w", runErr)
	case runErr = <-b.Fatal(): // JetStream cannot store and avatarbus cannot heal it: exit for a restart
		runErr = fmt.Errorf("storage: %w", runErr)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("in-flight requests did not finish in time")
	}
	cancelRun()
	stopPoller()
	if routed != nil {
		if err := <-routed; err != nil && runErr == nil {
			runErr = fmt.Errorf("routes: %w", err)
		}
	}
	stopIndexOnce()
	if err := admin.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("admin listener did not stop in time")
	}
	closeBroker()
	if runErr != nil {
		log.Error().Err(runErr).Msg("stopped after a failure")
		return runErr
	}
	log.Info().Msg("stopped")
	return nil
}

// warnRetryHorizons logs a warning for each source whose platform documents retries for longer than
// stream.duplicate_window: a retry arriving after the window would be stored a second time. It
// is a warning, not a refusal, since an operator may accept that for memory (docs/dedup-memory.md).
func warnRetryHorizons(cfg *config.Config, reg *platform.Registry, log zerolog.Logger) {
	window := cfg.Stream.DuplicateWindow.Std()
	for _, src := range cfg.Sources {
		p, ok := reg.Lookup(src.Platform)
		if !ok {
			continue
		}
		h := platform.RetryHorizonOf(p)
		if h.Duration <= window {
			continue
		}
		log.Warn().Str("source", src.Name).Str("platform", p.Name()).Str("retry_horizon", h.Duration.String()).
			Str("retry_horizon_source", h.Source).Str("duplicate_window", window.String()).
			Msg("the platform retries for longer than stream.duplicate_window: a late retry would be stored twice; raise stream.duplicate_window")
	}
}

// indexYieldInFlight is how many webhook requests in flight on average make the index writer
// defer: at 5000 requests/s answered in under a millisecond fewer than 5 are in flight; 16 means
// requests are queueing for the CPU, and the index can wait (BENCHMARKS.md#index).
const indexYieldInFlight = 16

// averageLoad measures how many webhook requests were in flight on average between two calls of
// sample: the growth of the time spent answering them over the time passed (Little's law). The
// count at one instant was a poor signal: at 64 connections keeping both cores busy it was often
// under 16 when the writer looked, and the writer took ~12% of the events from a saturated
// ingest tier (BENCHMARKS.md#index).
type averageLoad struct {
	now       func() time.Time
	answering func() time.Duration

	mu       sync.Mutex
	lastAt   time.Time
	lastBusy time.Duration
}

// sample returns the average number of requests in flight since the previous call (0 on the
// first call).
func (l *averageLoad) sample() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, busy := l.now(), l.answering()
	var avg float64
	if !l.lastAt.IsZero() {
		if d := at.Sub(l.lastAt); d > 0 {
			avg = float64(busy-l.lastBusy) / float64(d)
		}
	}
	l.lastAt, l.lastBusy = at, busy
	return avg
}
