package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/router"
)

// HeaderRedrive marks a request that `avatarbus dlq redrive` sent (router.HeaderRedrive).
const HeaderRedrive = router.HeaderRedrive

func newDLQCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq (list | redrive)",
		Short: "List the dead letters of routes and consumers, and send a route's again",
		Long: `Dead letters are the events a route (or a Go service using the router package) gave up on
after max_deliveries, kept for 30 days on the stream AVATAR_DLQ with why: the consumer, the
original subject and sequence, the number of deliveries and the last error.

  dlq list                  one line per dead letter: DLQ sequence, time, consumer, deliveries,
                            subject, event id, reason (--json: one JSON object per line)
  dlq redrive --route NAME  POST the route's dead letters to its URL again (signed with its secret,
                            like the route), oldest first, and delete each one its service
                            accepted (2xx). The first failure stops the redrive: nothing after it
                            is sent, and what was not accepted stays in AVATAR_DLQ.

Both read through an ephemeral ordered consumer and touch no durable consumer.

Exit status: 0 when done, 1 when a redrive stopped on a failed delivery, 2 on usage and connection
errors.`,
		Example: `  avatarbus dlq list --config avatarbus.yaml
  avatarbus dlq list --route crm --json
  avatarbus dlq redrive --route crm --dry-run
  avatarbus dlq redrive --route crm --seq 17 --seq 18`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDLQListCommand(), newDLQRedriveCommand())
	return cmd
}

func newDLQListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [--route NAME | --consumer DURABLE] [--json]",
		Short: "List dead letters",
		Args:  cobra.NoArgs,
	}
	cf := addNATSFlags(cmd)
	route := cmd.Flags().String("route", "", "only the dead letters of this route (consumer route-NAME)")
	consumer := cmd.Flags().String("consumer", "", "only the dead letters of this durable consumer")
	asJSON := cmd.Flags().Bool("json", false, "one JSON object per line, with the whole envelope")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *route != "" && *consumer != "" {
			return errors.New("--route and --consumer exclude each other")
		}
		if *route != "" {
			*consumer = routeDurable(*route)
		}
		return withDeadLetters(cmd, cf, "avatarbus dlq list", func(ctx context.Context, cfg *config.Config, js jetstream.JetStream) error {
			out := cmd.OutOrStdout()
			n := 0
			err := router.ScanDeadLetters(ctx, js, router.DefaultDeadLetterStream, cfg.Stream.SubjectPrefix, func(l router.StoredDeadLetter) error {
				if *consumer != "" && l.Consumer != *consumer {
					return nil
				}
				n++
				if *asJSON {
					return writeDeadLetterJSON(out, l)
				}
				_, err := fmt.Fprintf(out, "%d\t%s\t%s\t%dx\t%s\t%s\t%s\n", l.DLQSequence, l.Time.UTC().Format(time.RFC3339),
					l.Consumer, l.Deliveries, l.Subject, eventID(l), l.Reason)
				return err
			})
			if err == nil && n == 0 && !*asJSON {
				fmt.Fprintln(cmd.ErrOrStderr(), "no dead letters")
			}
			return err
		})
	}
	return cmd
}

func newDLQRedriveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "redrive --route NAME [--seq N]... [--dry-run]",
		Short: "Send a route's dead letters to its URL again, deleting each one accepted",
		Args:  cobra.NoArgs,
	}
	cf := addNATSFlags(cmd)
	name := cmd.Flags().String("route", "", "the route (from the config's routes:) whose dead letters to send")
	seqs := cmd.Flags().UintSlice("seq", nil, "only these AVATAR_DLQ sequences (from dlq list); repeatable")
	dryRun := cmd.Flags().Bool("dry-run", false, "print what would be sent, send nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *name == "" {
			return errors.New("--route is required: the route whose URL and secret the dead letters go to")
		}
		return withDeadLetters(cmd, cf, "avatarbus dlq redrive", func(ctx context.Context, cfg *config.Config, js jetstream.JetStream) error {
			routes, err := selectRoutes(cfg, []string{*name})
			if err != nil {
				return err
			}
			r := routes[0]
			only := make([]uint64, len(*seqs))
			for i, n := range *seqs {
				only[i] = uint64(n)
			}
			out := cmd.OutOrStdout()
			rd := router.Redrive{
				Stream: router.DefaultDeadLetterStream, Prefix: cfg.Stream.SubjectPrefix, Consumer: routeDurable(r.Name),
				Target: deliver.Target{URL: r.URL, Secret: r.Secret, Timeout: r.Timeout.Std()},
				Only:   only, DryRun: *dryRun,
				Sent: func(l router.StoredDeadLetter) error {
					if *dryRun {
						_, err := fmt.Fprintf(out, "would send %d (%s, %s) to %s\n", l.DLQSequence, l.Subject, eventID(l), displayURL(r.URL))
						return err
					}
					_, err := fmt.Fprintf(out, "sent %d (%s, %s)\n", l.DLQSequence, l.Subject, eventID(l))
					return err
				},
			}
			matched, sent, err := rd.Run(ctx, js)
			if re, ok := errors.AsType[*router.RedriveError](err); ok {
				// The answer's first bytes on one line: an HTML error page would fill the terminal.
				return &exitError{code: 1, err: fmt.Errorf("redrive stopped at dead letter %d (%s, %s) after %d sent: %s; it and the rest stay in %s",
					re.Letter.DLQSequence, re.Letter.Subject, eventID(re.Letter), re.Sent, strings.Join(strings.Fields(re.Err.Error()), " "), router.DefaultDeadLetterStream)}
			}
			switch {
			case err != nil:
				return err
			case *dryRun:
				fmt.Fprintf(cmd.ErrOrStderr(), "%d dead letters of route %s would be sent\n", matched, r.Name)
			default:
				fmt.Fprintf(cmd.ErrOrStderr(), "%d dead letters of route %s sent and deleted\n", sent, r.Name)
			}
			return nil
		})
	}
	return cmd
}

// withDeadLetters loads the config, connects, and runs fn until it returns or a signal arrives.
func withDeadLetters(cmd *cobra.Command, cf *configFlags, client string,
	fn func(ctx context.Context, cfg *config.Config, js jetstream.JetStream) error) error {
	cfg, err := loadNATSConfig(cmd, cf)
	if err != nil {
		return err
	}
	nc, js, err := dialJetStream(cfg, client, &lockedWriter{w: cmd.ErrOrStderr()})
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = fn(ctx, cfg, js)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		fmt.Fprintf(cmd.ErrOrStderr(), "no dead letters: the stream %s does not exist yet (no route or consumer has run)\n", router.DefaultDeadLetterStream)
		return nil
	}
	return err
}

// eventID is l's event id for output: "-" when its body is not an envelope.
func eventID(l router.StoredDeadLetter) string {
	if l.EventID == "" {
		return "-"
	}
	return l.EventID
}

// writeDeadLetterJSON writes l as one line of JSON, the envelope embedded as it is stored.
func writeDeadLetterJSON(w io.Writer, l router.StoredDeadLetter) error {
	var event json.RawMessage
	if json.Valid(l.Data) {
		event = l.Data
	}
	b, err := json.Marshal(struct {
		DLQSequence uint64          `json:"dlq_sequence"`
		Time        time.Time       `json:"time"`
		Consumer    string          `json:"consumer"`
		Subject     string          `json:"subject"`
		Sequence    uint64          `json:"sequence"`
		Deliveries  uint64          `json:"deliveries"`
		Reason      string          `json:"reason"`
		Event       json.RawMessage `json:"event,omitempty"`
	}{l.DLQSequence, l.Time.UTC(), l.Consumer, l.Subject, l.Sequence, l.Deliveries, l.Reason, event})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
