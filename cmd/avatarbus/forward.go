package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/router"
)

func newForwardCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Run the config's HTTP routes without the ingest tier",
		Long: `Delivers the events of the stream to the HTTP services of the config's routes: each route is a
durable consumer (route-<name>) that POSTs every matching event as a CloudEvent, signed with
Standard Webhooks headers, retrying with backoff and dead-lettering after max_deliveries.

serve already runs the routes; forward runs them in a process of their own, e.g. next to a NATS
cluster, or to add delivery capacity: several forward processes (and serve) share each route's
consumer, and every event is delivered by one of them. --route keeps only the named routes.
The server is found through --config (nats.url, or the embedded server at nats.embedded.listen) or
--nats-url.`,
		Example: `  avatarbus forward --config avatarbus.yaml
  avatarbus forward --config avatarbus.yaml --route crm --nats-url nats://nats.internal:4222`,
		Args: cobra.NoArgs,
	}
	cf := addNATSFlags(cmd)
	only := cmd.Flags().StringArray("route", nil, "run only this route (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		log, err := newLogger(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
		if err != nil {
			return err
		}
		routes, err := selectRoutes(cfg, *only)
		if err != nil {
			return err
		}
		if len(routes) == 0 {
			return errors.New("no routes in the config: add a routes: section (see docs/consuming.md) or give --config")
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus forward", stderr)
		if err != nil {
			return err
		}
		defer nc.Close()
		tp, stopTracing, err := startTracing(cmd.Context(), cfg.Tracing, log) // like serve's routes
		if err != nil {
			return err
		}
		defer stopTracing() // after the drain below: the last deliveries' spans are flushed
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		// Its attempts go where serve's do, so find and the console show them. Without the
		// right to make that stream forward still delivers, recording nothing.
		rec, err := openAttempts(ctx, cfg, js, log, nil)
		if err != nil {
			log.Warn().Err(err).Str("stream", attemptsStream(cfg)).Msg("route attempts will not be recorded")
			rec = nil
		}
		rt, err := buildRouter(js, cfg, routes, nil, rec, log, router.WithTracerProvider(tp))
		if err != nil {
			if rec != nil {
				rec.Close()
			}
			return err
		}
		names := make([]string, len(routes))
		for i, r := range routes {
			names[i] = r.Name
		}
		log.Info().Strs("routes", names).Str("nats", nc.ConnectedUrlRedacted()).Msg("forwarding")
		err = rt.Run(ctx)
		if rec != nil {
			rec.Close() // stores the queued attempts while the connection is still up
		}
		if err != nil {
			return fmt.Errorf("forward: %w", err)
		}
		// Acks and retry requests of the last deliveries are sent before the connection closes.
		if err := nc.Drain(); err != nil {
			return fmt.Errorf("forward: drain: %w", err)
		}
		log.Info().Msg("stopped")
		return nil
	}
	return cmd
}
