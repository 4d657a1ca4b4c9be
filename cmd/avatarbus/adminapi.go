package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/attempts"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/index"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

// adminAPIHandler builds the JSON admin API that the admin server mounts under /api/, or nil when
// cfg keeps it off (a non-loopback admin_listen without admin_token, which config validation
// refuses; a config built in code may still have it: see docs/console.md).
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
	var ix adminapi.EventIndex // nil: the API scans, and says so (index.enabled: false)
	if cfg.Index.Enabled {
		ix = &eventIndex{js: js, stream: cfg.Stream.Name}
	}
	return adminapi.New(adminapi.Config{
		JS: js, Stream: cfg.Stream.Name, DeadLetterStream: router.DefaultDeadLetterStream, QuarantineStream: quarantine,
		Token:    cfg.AdminToken,
		Routes:   routes,
		Redrive:  redriveOne(cfg, js, routes),
		Reverify: reverifyOne(cfg, js),
		Sources:  sourceRefs(cfg), RouteRefs: routeRefs(cfg), AttemptsStream: attemptsStream(cfg),
		Index: ix,
		Attempts: adminapi.AttemptListerFunc(func(ctx context.Context, eventID string) ([]adminapi.Attempt, error) {
			list, err := attempts.List(ctx, js, cfg.Stream.Name+subjects.AttemptsStreamSuffix, eventID)
			out := make([]adminapi.Attempt, len(list))
			for i, a := range list {
				out[i] = adminapi.Attempt(a)
			}
			return out, err
		}),
		SubjectPrefix: cfg.Stream.SubjectPrefix,
		Log:           log.With().Str("component", "adminapi").Logger(),
	})
}

// eventIndex answers the admin API's lookups from the KV index serve writes (internal/index),
// opened at the first lookup: the indexer creates the bucket after the API is built.
type eventIndex struct {
	js     jetstream.JetStream
	stream string
	mu     sync.Mutex
	kv     *index.KV
}

func (x *eventIndex) open(ctx context.Context) (*index.KV, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.kv == nil {
		kv, err := index.Open(ctx, x.js, x.stream)
		if err != nil {
			return nil, err
		}
		x.kv = kv
	}
	return x.kv, nil
}

// IndexedThrough lets the API look for an unknown event id only among the events not indexed yet.
func (x *eventIndex) IndexedThrough(ctx context.Context) (uint64, error) {
	kv, err := x.open(ctx)
	if err != nil {
		return 0, err
	}
	return kv.IndexedThrough(ctx)
}

func (x *eventIndex) Lookup(ctx context.Context, key string) ([]adminapi.Entry, error) {
	kv, err := x.open(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := kv.Lookup(ctx, key)
	out := make([]adminapi.Entry, len(entries))
	for i, e := range entries {
		out[i] = adminapi.Entry(e)
	}
	return out, err
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

// sourceRefs and routeRefs describe the configured sources and routes for GET /api/v1/status.
func sourceRefs(cfg *config.Config) []adminapi.SourceRef {
	out := make([]adminapi.SourceRef, len(cfg.Sources))
	for i, s := range cfg.Sources {
		token := s.Name // a source's events end in its platform token: its preset's name, or its own for a generic preset
		if p, ok := platform.Default().Lookup(s.Platform); ok {
			token = platform.EventPlatform(p, s.Name)
		}
		out[i] = adminapi.SourceRef{Name: s.Name, Platform: s.Platform, Filters: subjects.PlatformSubjects(cfg.Stream.SubjectPrefix, token)}
	}
	return out
}

func routeRefs(cfg *config.Config) []adminapi.RouteRef {
	out := make([]adminapi.RouteRef, len(cfg.Routes))
	for i, r := range cfg.Routes {
		out[i] = adminapi.RouteRef{Name: r.Name, Filter: r.Filter, Consumer: routeDurable(r.Name),
			AttemptsFilter: attempts.RouteFilter(cfg.Stream.SubjectPrefix, r.Name)}
	}
	return out
}
