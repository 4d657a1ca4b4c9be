package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/replay"
	"github.com/avatarbus/avatarbus/subjects"
)

func newTailCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tail [FILTER]",
		Short: "Follow events live, one readable line each",
		Long: `Prints the events stored in the stream as they arrive, one line each:

  RECEIVED (UTC)        TYPE                    PLATFORM  SUBJECT (resource id)  ID

FILTER is a NATS subject filter (default: <prefix>.>, e.g. avatar.video.completed.* or
avatar.*.*.heygen); --platform and --type narrow it further. --since also prints the events
received in the last DUR first. --json prints each envelope whole, one per line (JSONL).

tail reads through an ephemeral ordered consumer that it deletes when it stops (Ctrl-C): it creates
no durable consumer, acknowledges nothing, and does not affect the consumers of other services.
The server is found through --config (nats.url, or the embedded server at nats.embedded.listen) or
--nats-url.`,
		Example: `  avatarbus tail
  avatarbus tail 'avatar.video.*.*' --since 1h
  avatarbus tail --platform heygen --json | jq .data.media_url
  avatarbus tail --nats-url nats://nats.internal:4222`,
		Args: cobra.MaximumNArgs(1),
	}
	cf := addNATSFlags(cmd)
	since := cmd.Flags().String("since", "", "first print the events received in the last DUR (e.g. 10m, 2h, 7d) or since an RFC 3339 time, then follow")
	asJSON := cmd.Flags().Bool("json", false, "print each envelope whole, one JSON object per line")
	platform := cmd.Flags().String("platform", "", "only events of this platform (or generic source name)")
	typ := cmd.Flags().String("type", "", "only events of this canonical type (avatar.video.completed or video.completed)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		filter := ""
		if len(args) == 1 {
			filter = args[0]
		}
		sel, err := replay.NewSelection(cfg.Stream.Name, cfg.Stream.SubjectPrefix, filter, *platform, *typ)
		if err != nil {
			return err
		}
		var from time.Time
		if *since != "" {
			if from, err = timeFlag("--since", *since, time.Now()); err != nil {
				return err
			}
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus tail", stderr)
		if err != nil {
			return err
		}
		defer nc.Close()
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		fmt.Fprintf(stderr, "avatarbus: following %s on stream %s at %s (Ctrl-C to stop)\n",
			describeSelection(sel), sel.Stream, nc.ConnectedUrlRedacted())
		p := newTailPrinter(cmd.OutOrStdout(), *asJSON, sel.Prefix)
		if err := replay.Follow(ctx, js, sel, from, p.print); err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		return nil
	}
	return cmd
}

// describeSelection says what a selection reads, for people.
func describeSelection(sel replay.Selection) string {
	s := sel.Filter
	if s == "" {
		s = subjects.Filter{Type: sel.Type, Platform: sel.Platform}.Subject(sel.Prefix)
	}
	if sel.Type != "" {
		s += " type " + sel.Type
	}
	if sel.Platform != "" {
		s += " platform " + sel.Platform
	}
	return s
}

// tailPrinter prints events as aligned columns (time, type, platform, subject, id) or as JSONL.
// Columns are as wide as the widest value seen so far, at least as wide as the known types.
type tailPrinter struct {
	w       io.Writer
	json    bool
	prefix  string
	widths  [3]int // type, platform, subject
	scratch strings.Builder
}

func newTailPrinter(w io.Writer, asJSON bool, prefix string) *tailPrinter {
	p := &tailPrinter{w: w, json: asJSON, prefix: prefix, widths: [3]int{0, 10, 12}}
	for _, t := range envelope.Types() {
		p.widths[0] = max(p.widths[0], len(t))
	}
	return p
}

func (p *tailPrinter) print(m replay.Message) error {
	if p.json {
		line, err := replay.JSONLine(m.Data)
		if err != nil {
			return fmt.Errorf("sequence %d (%s): %w", m.Sequence, m.Subject, err)
		}
		_, err = fmt.Fprintf(p.w, "%s\n", line)
		return err
	}
	at, typ, platform, subject, id := m.Time, "?", "?", "-", m.Header.Get(jetstream.MsgIDHeader)
	if t, pl, err := subjects.Parse(p.prefix, m.Subject); err == nil {
		typ, platform = t, pl
	}
	if ev := m.Event; ev != nil {
		if !ev.ReceivedAt.IsZero() {
			at = ev.ReceivedAt
		}
		typ, platform, id = ev.Type, ev.Platform, ev.ID
		if ev.Subject != "" {
			subject = ev.Subject
		}
	}
	cols := [3]string{typ, platform, subject}
	p.scratch.Reset()
	p.scratch.WriteString(at.UTC().Format(time.RFC3339))
	for i, c := range cols {
		p.widths[i] = max(p.widths[i], len(c))
		fmt.Fprintf(&p.scratch, "  %-*s", p.widths[i], c)
	}
	p.scratch.WriteString("  ")
	p.scratch.WriteString(id)
	p.scratch.WriteByte('\n')
	_, err := io.WriteString(p.w, p.scratch.String())
	return err
}
