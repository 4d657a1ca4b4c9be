package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/deliver"
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
	fl := addReplayFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadNATSConfig(cmd, fl.cf)
		if err != nil {
			return err
		}
		p, err := fl.plan(cfg, time.Now())
		if err != nil {
			return err
		}
		return runReplay(cmd, cfg, p)
	}
	return cmd
}

// replayFlags are the flags of replay, as given.
type replayFlags struct {
	cf                                     *configFlags
	changed                                func(name string) bool
	filter, since, until, platform, typ    *string
	out, toSubject, toURL, toRoute, secret *string
	startSeq                               *uint64
	dryRun, yes                            *bool
	rate                                   *float64
}

func addReplayFlags(cmd *cobra.Command) *replayFlags {
	f := cmd.Flags()
	return &replayFlags{
		cf:        addNATSFlags(cmd),
		changed:   f.Changed,
		filter:    f.String("filter", "", "NATS subject filter (default <prefix>.>)"),
		since:     f.String("since", "", "start at the events received in the last DUR (e.g. 30m, 2h, 7d) or at an RFC 3339 time"),
		startSeq:  f.Uint64("start-seq", 0, "start at this stream sequence"),
		until:     f.String("until", "", "stop after the events stored until this RFC 3339 time or DUR ago (default: the stream's end at the start)"),
		platform:  f.String("platform", "", "only events of this platform (or generic source name)"),
		typ:       f.String("type", "", "only events of this canonical type (avatar.video.completed or video.completed)"),
		out:       f.String("out", "", "write JSONL to FILE (- for stdout)"),
		toSubject: f.String("to-subject", "", "publish on PREFIX.<original subject>, e.g. "+subjects.ReplayRoot+".debug"),
		toURL:     f.String("to-url", "", "POST each event to this URL"),
		toRoute:   f.String("to-route", "", "POST each event to this route of the config (its URL, secret, timeout and filter)"),
		secret:    f.String("secret", "", "with --to-url: sign with this whsec_ secret (@FILE reads it from a file)"),
		dryRun:    f.Bool("dry-run", false, "print how many events match, write nothing"),
		rate:      f.Float64("rate", 0, "at most N events per second (0: no limit)"),
		yes:       f.Bool("yes", false, "allow --to-subject under the live prefix"),
	}
}

// replayPlan is what a replay does: which events, which window, one output.
type replayPlan struct {
	sel       replay.Selection
	window    replay.Window
	out       string         // --out: a file, or - for stdout
	toSubject string         // --to-subject
	target    deliver.Target // --to-url or --to-route
	dryRun    bool
	rate      float64
}

// plan checks the flags against each other and the config and turns them into a replayPlan;
// every usage error is found here, before connecting.
func (fl *replayFlags) plan(cfg *config.Config, now time.Time) (replayPlan, error) {
	p := replayPlan{out: *fl.out, toSubject: *fl.toSubject, dryRun: *fl.dryRun, rate: *fl.rate}
	var err error
	switch {
	case fl.changed("since") && fl.changed("start-seq"):
		return p, errors.New("--since and --start-seq exclude each other")
	case fl.changed("since"):
		if p.window.Since, err = timeFlag("--since", *fl.since, now); err != nil {
			return p, err
		}
	case fl.changed("start-seq"):
		if *fl.startSeq == 0 {
			return p, errors.New("--start-seq: sequences start at 1")
		}
		p.window.StartSeq = *fl.startSeq
	default:
		return p, errors.New("a start is required: --since DUR or --start-seq N")
	}
	if *fl.until != "" {
		if p.window.Until, err = timeFlag("--until", *fl.until, now); err != nil {
			return p, err
		}
	}
	if err := p.window.Validate(); err != nil {
		return p, err
	}
	filter := *fl.filter
	var route *config.Route
	if *fl.toRoute != "" {
		routes, err := selectRoutes(cfg, []string{*fl.toRoute})
		if err != nil {
			return p, err
		}
		route = &routes[0]
		if filter == "" {
			filter = route.Filter
		}
	}
	if p.sel, err = replay.NewSelection(cfg.Stream.Name, cfg.Stream.SubjectPrefix, filter, *fl.platform, *fl.typ); err != nil {
		return p, err
	}
	outputs := 0
	for _, o := range []string{*fl.out, *fl.toSubject, *fl.toURL, *fl.toRoute} {
		if o != "" {
			outputs++
		}
	}
	switch {
	case outputs > 1:
		return p, errors.New("choose one output: --out, --to-subject, --to-url or --to-route")
	case outputs == 0 && !*fl.dryRun:
		return p, errors.New("an output is required: --out FILE (- for stdout), --to-subject PREFIX, --to-url URL or --to-route NAME (or --dry-run)")
	case *fl.secret != "" && *fl.toURL == "":
		return p, errors.New("--secret goes with --to-url")
	case *fl.rate < 0:
		return p, errors.New("--rate must be >= 0")
	}
	if *fl.toSubject != "" {
		err := replay.CheckSubjectPrefix(*fl.toSubject, cfg.Stream.SubjectPrefix)
		switch {
		case errors.Is(err, replay.ErrLivePrefix) && !*fl.yes:
			return p, fmt.Errorf("--to-subject %q %w; use a prefix such as %s.debug, or --yes if you mean it", *fl.toSubject, err, subjects.ReplayRoot)
		case err != nil && !errors.Is(err, replay.ErrLivePrefix):
			return p, fmt.Errorf("--to-subject %q: %w", *fl.toSubject, err)
		}
	}
	if route != nil {
		p.target = deliver.Target{URL: route.URL, Secret: route.Secret, Timeout: route.Timeout.Std()}
	}
	if *fl.toURL != "" {
		p.target = deliver.Target{URL: *fl.toURL, Secret: *fl.secret}
		if path, ok := strings.CutPrefix(*fl.secret, "@"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return p, fmt.Errorf("--secret @%s: %w", path, err)
			}
			p.target.Secret = strings.TrimRight(string(b), " \t\r\n")
		}
	}
	if p.target.URL != "" {
		if err := p.target.Validate(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// runReplay connects, runs p and reports it on stderr.
func runReplay(cmd *cobra.Command, cfg *config.Config, p replayPlan) error {
	stderr := &lockedWriter{w: cmd.ErrOrStderr()}
	nc, js, err := dialJetStream(cfg, "avatarbus replay", stderr)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if p.dryRun {
		n, err := replay.Count(ctx, js, p.sel, p.window)
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
	case p.out == "-":
		sink, dest = replay.NewFileSink(cmd.OutOrStdout()), "stdout"
	case p.out != "":
		// Open only now, so that a usage or connection error leaves no empty file behind.
		if file, err = os.OpenFile(p.out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		sink, dest = replay.NewFileSink(file), p.out
	case p.toSubject != "":
		sink, dest = replay.NewSubjectSink(nc, p.toSubject), subjects.Under(p.toSubject, "<subject>")
	default:
		sink, dest = replay.NewURLSink(p.target), displayURL(p.target.URL)
	}
	opts := replay.Options{Rate: p.rate}
	var bar *progressBar
	if isTerminal(cmd.ErrOrStderr()) {
		bar = &progressBar{w: stderr}
		opts.Progress = bar.update
	}
	st, err := replay.Run(ctx, js, p.sel, p.window, sink, opts)
	if bar != nil {
		bar.clear()
	}
	if file != nil {
		if cerr := file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%w: close %s: %w", replay.ErrSink, p.out, cerr)
		}
	}
	printSummary(stderr, st, dest)
	return replayError(ctx, err, st)
}

// timeFlag reads flag's value s with replay.ParseTimeOrAgo; the error names the flag.
func timeFlag(flag, s string, now time.Time) (time.Time, error) {
	t, err := replay.ParseTimeOrAgo(s, now)
	if err != nil {
		return t, fmt.Errorf("%s %w", flag, err)
	}
	return t, nil
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
