package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/platform"
)

// reloadSources re-reads the secret references of cfg (the files of "@path" secrets and API keys;
// "${ENV}" values cannot change in a running process), rebuilds every source and swaps them into
// srv. It returns the configuration now in force: cfg itself when anything fails, in which case
// srv keeps serving with its current sources. Only sources change: the set of source names, and
// every other setting, need a restart.
func reloadSources(cfg *config.Config, reg *platform.Registry, srv *ingest.Server) (*config.Config, error) {
	next := cfg.Clone()
	if err := next.ResolveSecrets(nil, nil); err != nil {
		return cfg, err
	}
	sources, err := buildSources(&next, reg)
	if err != nil {
		return cfg, err
	}
	if err := srv.Reload(sources); err != nil {
		return cfg, err
	}
	return &next, nil
}

// watchReload calls reloadSources on each value of hup until ctx ends, logging the outcome (the
// source names, never a secret).
func watchReload(ctx context.Context, hup <-chan os.Signal, cfg *config.Config, reg *platform.Registry, srv *ingest.Server, log zerolog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			next, err := reloadSources(cfg, reg, srv)
			if err != nil {
				log.Error().Err(err).Msg("reload failed: keeping the current secrets")
				continue
			}
			cfg = next
			log.Info().Int("sources", len(cfg.Sources)).Msg("reloaded: secrets re-read")
		}
	}
}

// reloadOnSIGHUP re-reads secrets whenever the process gets SIGHUP, until ctx ends or stop is
// called. serve calls it once the ingest server exists.
func reloadOnSIGHUP(ctx context.Context, cfg *config.Config, srv *ingest.Server, log zerolog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchReload(ctx, hup, cfg, platform.Default(), srv, log)
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
