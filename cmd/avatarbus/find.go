package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/attempts"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/index"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/subjects"
)

// startIndex starts serve's index writer (it writes while it holds the cluster's index lease)
// and the recorder of route attempts. stop ends the writer, then stores the queued attempts;
// call it after the routes have stopped and before the broker closes.
func startIndex(ctx context.Context, cfg *config.Config, js jetstream.JetStream, m *metrics.Metrics, busy func() bool, log zerolog.Logger) (rec *attempts.Recorder, stop func(), err error) {
	xm, err := m.Index()
	if err != nil {
		return nil, nil, err
	}
	var ix *index.Indexer
	if cfg.Index.Enabled { // off: no writer here (index.enabled, docs/find.md); attempts are still recorded
		ix, err = index.New(ctx, js, index.Options{
			Stream:   cfg.Stream.Name,
			Replicas: cfg.Stream.Replicas,
			Lag:      xm.Lag,
			Logf:     func(format string, args ...any) { log.Warn().Msgf(format, args...) },
			Busy:     busy,
			// Where events go in atomic batches (fsync per write), so do the index's keys.
			Atomic: cfg.NATS.EffectivePublishMode() == config.PublishBatch,
		})
		if err != nil {
			return nil, nil, err
		}
	} else {
		log.Info().Msg("index off (index.enabled: false): find, the admin API and the console scan the newest events")
	}
	if rec, err = openAttempts(ctx, cfg, js, log, xm.AttemptNotRecorded); err != nil {
		return nil, nil, err
	}
	ictx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ix != nil {
			_ = ix.Run(ictx)
		}
	}()
	return rec, func() { cancel(); <-done; rec.Close() }, nil
}

// openAttempts makes sure the attempts stream exists and returns a recorder of route attempts
// into it (serve's routes and forward's); notRecorded, if not nil, counts the ones lost.
func openAttempts(ctx context.Context, cfg *config.Config, js jetstream.JetStream, log zerolog.Logger, notRecorded func()) (*attempts.Recorder, error) {
	if err := attempts.EnsureStream(ctx, js, attemptsStream(cfg), cfg.Stream.SubjectPrefix, cfg.Stream.AttemptsMaxAge.Std(), cfg.Stream.Replicas); err != nil {
		return nil, err
	}
	return attempts.NewRecorder(js, cfg.Stream.SubjectPrefix, func(err error) {
		if notRecorded != nil {
			notRecorded()
		}
		log.Warn().Err(err).Msg("route attempt not recorded")
	}), nil
}

func attemptsStream(cfg *config.Config) string {
	return cfg.Stream.Name + subjects.AttemptsStreamSuffix
}

func newFindCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "find ID [--config FILE | --nats-url URL] [--json]",
		Short: "Print the timeline of a job: its events across platforms and their route attempts",
		Long: `Looks ID up in the event index (KV <stream>_INDEX, written by serve) as an event id, a
resource id (the envelope's subject) or a correlation id, follows the correlation and resource
ids of what it finds one step, and prints the job's events in time order (time, type,
platform, subject, id, seq), each with the route delivery attempts recorded in
<stream>_ATTEMPTS. docs/find.md.

Exit status: 0 when events were found, 1 when none were, 2 on usage and connection errors.`,
		Example: `  avatarbus find job-42 --config avatarbus.yaml
  avatarbus find 3f1c0a9e --nats-url nats://nats:4222 --json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addNATSFlags(cmd)
	asJSON := cmd.Flags().Bool("json", false, "print one JSON document")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus find", stderr)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		defer nc.Close()
		return runFind(cmd.Context(), cmd.OutOrStdout(), js, cfg.Stream.Name, attemptsStream(cfg), args[0], *asJSON)
	}
	return cmd
}

// foundEvent is one event of find's answer.
type foundEvent struct {
	index.Entry
	Attempts []attempts.Attempt `json:"attempts"`
}

// runFind prints the timeline of key.
func runFind(ctx context.Context, w io.Writer, js jetstream.JetStream, stream, attemptsStreamName, key string, asJSON bool) error {
	ix, err := index.Open(ctx, js, stream)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%w (is serve running? it creates the index)", err)}
	}
	entries, err := index.Timeline(ctx, ix, key)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	events := make([]foundEvent, len(entries))
	for i, e := range entries {
		as, err := attempts.List(ctx, js, attemptsStreamName, e.ID)
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return &exitError{code: 2, err: err}
		}
		events[i] = foundEvent{Entry: e, Attempts: as}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if events == nil {
			events = []foundEvent{}
		}
		if err := enc.Encode(struct {
			Events []foundEvent `json:"events"`
		}{events}); err != nil {
			return err
		}
	} else {
		for _, e := range events {
			fmt.Fprintf(w, "%s  %-28s %-11s %-12s %s  seq %d\n", e.Time.UTC().Format(time.RFC3339), e.Type, e.Platform, dash(e.ResourceID), e.ID, e.Seq)
			for _, a := range e.Attempts {
				status := "no answer"
				if a.Status != 0 {
					status = fmt.Sprintf("HTTP %d", a.Status)
				}
				fmt.Fprintf(w, "    attempt %d route %s  %s  %s  %s", a.Attempt, a.Route, a.At.UTC().Format("15:04:05.000"), status, a.Latency.Round(time.Millisecond))
				if a.Error != "" {
					fmt.Fprintf(w, "  %s", a.Error)
				}
				fmt.Fprintln(w)
			}
		}
	}
	if len(events) == 0 {
		return &exitError{code: 1, err: fmt.Errorf("nothing found for %q in %s%s (or not indexed yet)", key, stream, index.BucketSuffix)}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
