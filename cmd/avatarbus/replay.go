package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/replay"
	"github.com/avatarbus/avatarbus/subjects"
)

func newReplayCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay --filter F (--since DUR | --start-seq N) (--out FILE | --to-subject P | --to-url U)",
		Short: "Replay a window of the stream without touching production consumers",
		Long: `Reads a window of the stream again and writes it to one output:

  --out FILE        JSONL, one envelope per line (--out - for stdout). Lines hold the envelope only:
                    no NATS headers, no replay headers.
  --to-subject P    core NATS publish on P.<original subject>, e.g. --to-subject replay.debug gives
                    replay.debug.avatar.video.completed.heygen. Use replay.<name>: a prefix starting
                    with the live prefix (avatar, or stream.subject_prefix) is refused unless --yes,
                    since the live stream would store the replay again. Nats-Msg-Id becomes
                    replay:<event id>; NATS control headers of the original are dropped.
  --to-url U        signed HTTP POST of each envelope (Standard Webhooks headers with --secret,
                    webhook-id = event id). Any answer but 2xx stops the replay (no retries); resume
                    with --start-seq at the sequence printed.
  --to-route NAME   the same, to a route of the config: its URL, secret and timeout, and its filter
                    unless --filter is given. Its service gets events it may have had already: the
                    webhook-id (event id) lets it drop those.

Published and posted replays carry the headers Avatarbus-Replay: true, Avatarbus-Original-Sequence
and Avatarbus-Original-Subject.

The window starts at --since (a duration ago, e.g. 2h or 7d, or an RFC 3339 time) or --start-seq,
and ends at --until (same forms) or at the stream's last message when the replay starts: a replay
never follows live traffic. --filter is a NATS subject filter (default <prefix>.>); --platform and
--type narrow it. --dry-run only counts the matching events.

A replay reads through an ephemeral ordered consumer that it deletes at the end: it creates no
durable consumer and acknowledges nothing, so production consumers are untouched.

Exit status: 0 when every matching event was written, 1 when the output failed or the replay was
interrupted (the summary says where it stopped), 2 on usage and connection errors.`,
		Example: `  avatarbus replay --since 2h --dry-run
  avatarbus replay --filter 'avatar.video.*.heygen' --since 24h --out videos.jsonl
  avatarbus replay --start-seq 1200 --until 2026-05-01T12:00:00Z --to-subject replay.debug
  avatarbus replay --type video.completed --since 1h --to-url http://localhost:3000/hooks --secret whsec_... --rate 5
  avatarbus replay --since 6h --to-route crm --config avatarbus.yaml`,
		Args: cobra.NoArgs,
	}
	cf := addNATSFlags(cmd)
	f := cmd.Flags()
	filter := f.String("filter", "", "NATS subject filter (default <prefix>.>)")
	since := f.String("since", "", "start at the events received in the last DUR (e.g. 30m, 2h, 7d) or at an RFC 3339 time")
	startSeq := f.Uint64("start-seq", 0, "start at this stream sequence")
	until := f.String("until", "", "stop after the events stored until this RFC 3339 time or DUR ago (default: the stream's end at the start)")
	platform := f.String("platform", "", "only events of this platform (or generic source name)")
	typ := f.String("type", "", "only events of this canonical type (avatar.video.completed or video.completed)")
	out := f.String("out", "", "write JSONL to FILE (- for stdout)")
	toSubject := f.String("to-subject", "", "publish on PREFIX.<original subject>, e.g. replay.debug")
	toURL := f.String("to-url", "", "POST each event to this URL")
	toRoute := f.String("to-route", "", "POST each event to this route of the config (its URL, secret, timeout and filter)")
	secret := f.String("secret", "", "with --to-url: sign with this whsec_ secret (@FILE reads it from a file)")
	dryRun := f.Bool("dry-run", false, "print how many events match, write nothing")
	rate := f.Float64("rate", 0, "at most N events per second (0: no limit)")
	yes := f.Bool("yes", false, "allow --to-subject under the live prefix")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		now := time.Now()
		var w replay.Window
		switch {
		case f.Changed("since") && f.Changed("start-seq"):
			return errors.New("--since and --start-seq exclude each other")
		case f.Changed("since"):
			if w.Since, err = parseTimeOrAgo("--since", *since, now); err != nil {
				return err
			}
		case f.Changed("start-seq"):
			if *startSeq == 0 {
				return errors.New("--start-seq: sequences start at 1")
			}
			w.StartSeq = *startSeq
		default:
			return errors.New("a start is required: --since DUR or --start-seq N")
		}
		if *until != "" {
			if w.Until, err = parseTimeOrAgo("--until", *until, now); err != nil {
				return err
			}
		}
		if err := w.Validate(); err != nil {
			return err
		}
		var route *config.Route
		if *toRoute != "" {
			routes, err := selectRoutes(cfg, []string{*toRoute})
			if err != nil {
				return err
			}
			route = &routes[0]
			if *filter == "" {
				*filter = route.Filter
			}
		}
		sel, err := buildSelection(cfg, *filter, *platform, *typ)
		if err != nil {
			return err
		}
		outputs := 0
		for _, o := range []string{*out, *toSubject, *toURL, *toRoute} {
			if o != "" {
				outputs++
			}
		}
		switch {
		case outputs > 1:
			return errors.New("choose one output: --out, --to-subject, --to-url or --to-route")
		case outputs == 0 && !*dryRun:
			return errors.New("an output is required: --out FILE (- for stdout), --to-subject PREFIX, --to-url URL or --to-route NAME (or --dry-run)")
		case *secret != "" && *toURL == "":
			return errors.New("--secret goes with --to-url")
		case *rate < 0:
			return errors.New("--rate must be >= 0")
		}
		var target deliver.Target
		if *toSubject != "" {
			if err := checkReplayPrefix(*toSubject, cfg.Stream.SubjectPrefix, *yes); err != nil {
				return err
			}
		}
		if route != nil {
			target = deliver.Target{URL: route.URL, Secret: route.Secret, Timeout: route.Timeout.Std()}
		}
		if *toURL != "" {
			target = deliver.Target{URL: *toURL, Secret: *secret}
			if path, ok := strings.CutPrefix(*secret, "@"); ok {
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--secret @%s: %w", path, err)
				}
				target.Secret = strings.TrimRight(string(b), " \t\r\n")
			}
		}
		if target.URL != "" {
			if err := target.Validate(); err != nil {
				return err
			}
		}

		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus replay", stderr)
		if err != nil {
			return err
		}
		defer nc.Close()
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()

		if *dryRun {
			n, err := replay.Count(ctx, js, sel, w)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d events match\n", n)
			return nil
		}

		var sink replay.Sink
		var file *os.File
		dest := ""
		switch {
		case *out == "-":
			sink, dest = replay.NewFileSink(cmd.OutOrStdout()), "stdout"
		case *out != "":
			// Open only now, so that a usage or connection error leaves no empty file behind.
			if file, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
				return err
			}
			sink, dest = replay.NewFileSink(file), *out
		case *toSubject != "":
			sink, dest = replay.NewSubjectSink(nc, *toSubject), strings.TrimSuffix(*toSubject, ".")+".<subject>"
		default:
			sink, dest = replay.NewURLSink(target), displayURL(target.URL)
		}
		opts := replay.Options{Rate: *rate}
		var bar *progressBar
		if isTerminal(cmd.ErrOrStderr()) {
			bar = &progressBar{w: stderr}
			opts.Progress = bar.update
		}
		st, err := replay.Run(ctx, js, sel, w, sink, opts)
		if bar != nil {
			bar.clear()
		}
		if file != nil {
			if cerr := file.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("%w: close %s: %w", replay.ErrSink, *out, cerr)
			}
		}
		printSummary(stderr, st, dest)
		return replayError(ctx, err, st)
	}
	return cmd
}

// checkReplayPrefix refuses a --to-subject prefix that is not a subject, or that would put the
// replay under the live prefix (where the live stream stores it again) without --yes.
func checkReplayPrefix(prefix, live string, yes bool) error {
	p := strings.TrimSuffix(prefix, ".")
	for _, tok := range strings.Split(p, ".") {
		if err := subjects.ValidToken(tok); err != nil {
			return fmt.Errorf("--to-subject %q: %w", prefix, err)
		}
	}
	first, _, _ := strings.Cut(p, ".")
	if !yes && (first == live || first == subjects.CanonicalRoot) {
		return fmt.Errorf("--to-subject %q starts with the live prefix %q: the live stream would store the replay as new events; use a prefix such as replay.debug, or --yes if you mean it", prefix, first)
	}
	return nil
}

// replayError maps the end of a replay to the exit status: 1 for a sink error or an interruption,
// 2 (a plain error) for anything else.
func replayError(ctx context.Context, err error, st replay.Stats) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replay.ErrSink):
		var we *replay.WriteError
		if errors.As(err, &we) {
			return &exitError{code: 1, err: fmt.Errorf("replay stopped: %w; resume with --start-seq %d", err, we.Sequence)}
		}
		return &exitError{code: 1, err: fmt.Errorf("replay failed: %w", err)}
	case ctx.Err() != nil:
		msg := "replay interrupted"
		if st.LastSeq > 0 {
			msg += fmt.Sprintf("; resume with --start-seq %d", st.LastSeq+1)
		}
		return &exitError{code: 1, err: errors.New(msg)}
	}
	return err
}

// printSummary reports a replay on stderr.
func printSummary(w io.Writer, st replay.Stats, dest string) {
	if st.Matched == 0 {
		fmt.Fprintln(w, "replay: no events match")
		return
	}
	fmt.Fprintf(w, "replay: %d matched, %d written to %s", st.Matched, st.Written, dest)
	if st.Written > 0 {
		fmt.Fprintf(w, ", sequences %d to %d", st.FirstSeq, st.LastSeq)
	}
	fmt.Fprintln(w)
}

// buildSelection turns the flags shared by tail and replay into a selection of the configured
// stream. --type accepts avatar.video.completed or video.completed.
func buildSelection(cfg *config.Config, filter, platform, typ string) (replay.Selection, error) {
	sel := replay.Selection{Stream: cfg.Stream.Name, Prefix: cfg.Stream.SubjectPrefix, Filter: filter, Platform: platform}
	if typ != "" {
		if !strings.HasPrefix(typ, subjects.CanonicalRoot+".") {
			typ = subjects.CanonicalRoot + "." + typ
		}
		if !envelope.Known(typ) {
			return sel, fmt.Errorf("--type %q is not a canonical type (known: %s)", typ, strings.Join(envelope.Types(), ", "))
		}
		sel.Type = typ
	}
	if err := sel.Validate(); err != nil {
		return sel, err
	}
	return sel, nil
}

// parseTimeOrAgo reads an RFC 3339 time, or a duration ago: a Go duration (90s, 30m, 2h) or whole
// days (7d).
func parseTimeOrAgo(flag, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%s %q: want a positive duration ago (30m, 2h, 7d) or an RFC 3339 time", flag, s)
	}
	return now.Add(-d), nil
}

// displayURL is u without credentials and query (a token may hide there), for the summary.
func displayURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the URL"
	}
	p.User, p.RawQuery, p.Fragment = nil, "", ""
	return p.String()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressBar draws one \r-refreshed line on a terminal, at most every 100ms.
type progressBar struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (b *progressBar) update(done, total int) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && done != total {
		return
	}
	b.last = now
	const width = 30
	filled := width
	pct := 100
	if total > 0 {
		filled = width * done / total
		pct = 100 * done / total
	}
	fmt.Fprintf(b.w, "\rreplay [%s%s] %d/%d read (%d%%)", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total, pct)
	b.drawn = true
}

// clear erases the bar, so the summary starts on a clean line.
func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
