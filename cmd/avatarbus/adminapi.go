package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/router"
)

// adminAPIHandler builds the JSON admin API that the admin server mounts under /api/, or nil when
// cfg keeps it off (a non-loopback admin_listen without admin_token: see docs/console.md).
func adminAPIHandler(cfg *config.Config, js jetstream.JetStream, log zerolog.Logger) http.Handler {
	if !cfg.AdminAPIEnabled() {
		return nil
	}
	routes := make(map[string]deliver.Target, len(cfg.Routes))
	for _, r := range cfg.Routes {
		routes[r.Name] = deliver.Target{URL: r.URL, Secret: r.Secret, Timeout: r.Timeout.Std()}
	}
	quarantine := ""
	if cfg.Quarantine.Enabled {
		quarantine = cfg.Quarantine.Stream
		if quarantine == "" {
			quarantine = cfg.Stream.Name + "_QUARANTINE"
		}
	}
	return adminapi.New(adminapi.Config{
		JS: js, Stream: cfg.Stream.Name, DeadLetterStream: router.DefaultDeadLetterStream, QuarantineStream: quarantine,
		Token:   cfg.AdminToken,
		Routes:  routes,
		Redrive: redriveOne(cfg, js, routes),
		Log:     log.With().Str("component", "adminapi").Logger(),
	})
}

// redriveOne sends one dead letter to the route whose consumer gave it up, as `avatarbus dlq
// redrive --route R --seq N` does.
func redriveOne(cfg *config.Config, js jetstream.JetStream, routes map[string]deliver.Target) adminapi.Redriver {
	return func(ctx context.Context, seq uint64) error {
		s, err := js.Stream(ctx, router.DefaultDeadLetterStream)
		if err != nil {
			return err
		}
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("%w: dead letter %d: %w", adminapi.ErrNotFound, seq, err)
		}
		consumer := m.Header.Get(router.HeaderDeadLetterConsumer)
		t, ok := routes[strings.TrimPrefix(consumer, routeDurable(""))]
		if !ok {
			return fmt.Errorf("%w: dead letter %d is of consumer %q, not a configured route", adminapi.ErrBadRequest, seq, consumer)
		}
		matched, _, err := router.Redrive{Stream: router.DefaultDeadLetterStream, Prefix: cfg.Stream.SubjectPrefix,
			Consumer: consumer, Target: t, Only: []uint64{seq}}.Run(ctx, js)
		if err == nil && matched == 0 {
			err = fmt.Errorf("%w: dead letter %d", adminapi.ErrNotFound, seq)
		}
		return err
	}
}
