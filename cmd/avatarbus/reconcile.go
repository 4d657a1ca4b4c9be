package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/platform"
)

// pollTimeout bounds each platform API call of the poller.
const pollTimeout = 30 * time.Second

// pollSources builds the polled sources of cfg (those with reconcile or usage); only, when not
// empty, keeps that one source and builds its Lister even when reconcile is off (the reconcile
// command). m may be nil.
func pollSources(cfg *config.Config, reg *platform.Registry, m *metrics.Metrics, only string) ([]poll.Source, error) {
	var out []poll.Source
	for i, src := range cfg.Sources {
		if only != "" && src.Name != only {
			continue
		}
		if only == "" && src.Reconcile == nil && src.Usage == nil {
			continue
		}
		path := fmt.Sprintf("sources[%d] (%s)", i, src.Name)
		p, ok := reg.Lookup(src.Platform)
		if !ok {
			return nil, fmt.Errorf("%s: %w: unknown platform %q", path, config.ErrInvalid, src.Platform)
		}
		var api config.API
		if src.API != nil {
			api = *src.API
		}
		o := platformapi.Options{Base: api.Base, Key: api.Key, Timeout: pollTimeout}
		ps := poll.Source{Name: src.Name, Preset: p, Events: src.Events, StallAfter: src.StallAfter.Std()}
		if m != nil {
			ps.Metrics = m.Poll(src.Name)
		}
		if src.Reconcile != nil || only != "" {
			l, err := platformapi.NewLister(src.Platform, o)
			if err != nil {
				return nil, fmt.Errorf("%s.reconcile: %w: %w", path, config.ErrInvalid, err)
			}
			ps.Lister = l
			if r := src.Reconcile; r != nil {
				ps.Every, ps.Lookback = r.Every.Std(), r.Lookback.Std()
			}
		}
		if u := src.Usage; u != nil && only == "" {
			b, err := platformapi.NewBalancer(src.Platform, o)
			if err != nil {
				return nil, fmt.Errorf("%s.usage: %w: %w", path, config.ErrInvalid, err)
			}
			th := u.Threshold()
			ps.Balancer, ps.UsageEvery, ps.Low = b, u.Every.Std(), poll.Threshold{Value: th.Value, Percent: th.Percent}
		}
		out = append(out, ps)
	}
	if only != "" && len(out) == 0 {
		return nil, fmt.Errorf("%w: %q is not a source of the configuration", poll.ErrUnknownSource, only)
	}
	return out, nil
}

// pollConfig is the poller's view of the stream.
func pollConfig(cfg *config.Config, log zerolog.Logger) poll.Config {
	return poll.Config{
		Stream: cfg.Stream.Name, Prefix: cfg.Stream.SubjectPrefix, Replicas: cfg.Stream.Replicas,
		DuplicateWindow: cfg.Stream.DuplicateWindow.Std(), Log: log,
	}
}

// startPoller runs the poller of cfg's polled sources on the broker's stream until the
// returned stop is called (serve calls it on shutdown, before closing the broker). Without
// polled sources it does nothing.
func startPoller(ctx context.Context, cfg *config.Config, b *broker.Broker, m *metrics.Metrics, log zerolog.Logger) (stop func(), err error) {
	sources, err := pollSources(cfg, platform.Default(), m, "")
	if err != nil || len(sources) == 0 {
		return func() {}, err
	}
	p, err := poll.New(ctx, b.JS, b.Publisher(), pollConfig(cfg, log), sources)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(pctx) }()
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	log.Info().Strs("sources", names).Msg("poller started: it polls while it holds the cluster's lease")
	return func() { cancel(); <-done }, nil
}

func newReconcileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile SOURCE [--since 48h] [--dry-run]",
		Short: "Run one reconciliation pass of a source by hand: recover events whose webhooks were lost",
		Long: `Lists the jobs of SOURCE's platform created or changed in the last --since through its API
(sources[].api.key), and publishes the event of each finished job that is not stored yet, as its
webhook would have been (same type and id, recoveredby "poll"). Jobs still running are watched
for stalls as serve's poller does. --dry-run prints what it would recover; it publishes and
records nothing.
It does not take the poller lease: it may run next to serve (whatever both publish is
deduplicated by the event id). docs/reconciliation.md.

Exit status: 0 when the pass ran (even if some jobs failed: they are listed), 1 when the
listing failed, 2 on usage and connection errors.`,
		Example: `  avatarbus reconcile heygen --since 48h --dry-run
  avatarbus reconcile did --since 6h --config avatarbus.yaml`,
		Args: cobra.ExactArgs(1),
	}
	cf := addNATSFlags(cmd)
	since := cmd.Flags().String("since", "48h", "how far back to list (a duration, e.g. 6h)")
	dry := cmd.Flags().Bool("dry-run", false, "print what would be recovered; publish nothing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		d, err := config.ParseDuration(*since)
		if err != nil || d <= 0 {
			return &exitError{code: 2, err: fmt.Errorf("--since %q: want a positive duration, e.g. 48h", *since)}
		}
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		sources, err := pollSources(cfg, platform.Default(), nil, args[0])
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus reconcile", stderr)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		defer nc.Close()
		return runReconcile(cmd.Context(), cmd.OutOrStdout(), cfg, nc, js, sources[0], d.Std(), *dry)
	}
	return cmd
}

// runReconcile runs one pass of src and prints a line per job and a summary.
func runReconcile(ctx context.Context, w io.Writer, cfg *config.Config, nc *nats.Conn, js jetstream.JetStream, src poll.Source, since time.Duration, dry bool) error {
	if src.StallAfter == 0 {
		src.StallAfter = config.DefaultStallAfter.Std()
	}
	src.Lookback = since
	pub := broker.NewPublisher(nc, js, cfg.Stream.Name, cfg.NATS.PublishTimeout.Std())
	p, err := poll.New(ctx, js, pub, pollConfig(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel)), []poll.Source{src})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	rep, err := p.Reconcile(ctx, src.Name, time.Now().Add(-since), dry)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	for _, r := range rep.Results {
		line := fmt.Sprintf("%-14s %s %s", r.Outcome, r.Resource, r.Status)
		if r.ID != "" {
			line += fmt.Sprintf(" -> %s %s", r.Type, r.ID)
		}
		if r.Err != nil {
			line += ": " + r.Err.Error()
		}
		fmt.Fprintln(w, line)
	}
	verb := "recovered"
	n := rep.Count(poll.Recovered)
	if dry {
		verb, n = "would recover", rep.Count(poll.WouldRecover)
	}
	fmt.Fprintf(w, "%s: %d jobs since %s; %s %d, already stored %d, pending %d, stalled %d, failed %d\n",
		src.Name, len(rep.Results), rep.Since.UTC().Format(time.RFC3339), verb, n,
		rep.Count(poll.AlreadySeen)+rep.Count(poll.Duplicate), rep.Count(poll.Pending), rep.Count(poll.Stalled), rep.Count(poll.Failed))
	return nil
}
