package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/attempts"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/router"
)

// routeDurable is the durable consumer of a route: named after it, so a restart resumes where the
// route stopped and `nats consumer info AVATAR route-crm` shows its backlog.
func routeDurable(name string) string { return "route-" + name }

// routeAckSlack is added to a route's per-attempt timeout to make its ack wait: an attempt may use
// its whole timeout and JetStream must not redeliver the event meanwhile.
const routeAckSlack = 30 * time.Second

// selectRoutes returns the configured routes named in only, all of them when only is empty.
func selectRoutes(cfg *config.Config, only []string) ([]config.Route, error) {
	if len(only) == 0 {
		return cfg.Routes, nil
	}
	byName := make(map[string]config.Route, len(cfg.Routes))
	for _, r := range cfg.Routes {
		byName[r.Name] = r
	}
	routes := make([]config.Route, 0, len(only))
	for _, name := range only {
		r, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("%w: no route %q in the config", config.ErrInvalid, name)
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// buildRouter returns a router with one HTTP route per route in routes, or nil when there are
// none. m records each route's deliveries; nil records nothing. rec stores each delivery
// attempt in the attempts stream; nil stores none. extra are further Router-wide
// options (serve's tracer provider).
func buildRouter(js jetstream.JetStream, cfg *config.Config, routes []config.Route, m *metrics.Metrics, rec *attempts.Recorder, log zerolog.Logger, extra ...router.Option) (*router.Router, error) {
	if len(routes) == 0 {
		return nil, nil
	}
	rt, err := router.New(js, append([]router.Option{
		router.WithStream(cfg.Stream.Name),
		router.WithSubjectPrefix(cfg.Stream.SubjectPrefix),
		router.WithLogger(log.With().Str("component", "router").Logger()),
	}, extra...)...)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range routes {
		if err := handleRoute(rt, r, m, rec); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.Name, err))
			continue
		}
		if r.Secret == "" {
			log.Warn().Str("route", r.Name).Msg("route has no secret: its requests are not signed, so its service cannot tell them from forgeries")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", config.ErrInvalid, errors.Join(errs...))
	}
	return rt, nil
}

// handleRoute registers one configured route on rt.
func handleRoute(rt *router.Router, r config.Route, m *metrics.Metrics, rec *attempts.Recorder) error {
	target := deliver.Target{URL: r.URL, Secret: r.Secret, Timeout: r.Timeout.Std()}
	if rec != nil {
		// The transport reports the status of a 2xx too, which deliver does not return.
		target.Client = &http.Client{Transport: attempts.Transport(nil), CheckRedirect: noRedirect}
	}
	h, err := router.HTTPRoute(target)
	if err != nil {
		return err
	}
	if rec != nil {
		post, name := h, r.Name
		h = func(ctx context.Context, ev router.Event) error {
			return rec.Deliver(ctx, name, ev.ID, int(ev.NumDelivered), func(ctx context.Context) error { return post(ctx, ev) })
		}
	}
	backoff := make([]time.Duration, len(r.Backoff))
	for i, d := range r.Backoff {
		backoff[i] = d.Std()
	}
	opts := []router.Option{
		router.WithMaxDeliveries(r.MaxDeliveries),
		router.WithAckWait(r.Timeout.Std() + routeAckSlack),
	}
	if len(backoff) > 0 {
		opts = append(opts, router.WithBackoff(backoff...))
	}
	if m != nil {
		rm := m.Route(r.Name)
		opts = append(opts, router.WithObserver(func(o router.Outcome, took time.Duration) {
			rm.Attempt(routeOutcome(o), took)
		}))
	}
	return rt.Handle(r.Filter, routeDurable(r.Name), h, opts...)
}

// routeOutcome maps the router's outcome onto the metric's label.
func routeOutcome(o router.Outcome) metrics.RouteOutcome {
	switch o {
	case router.Handled:
		return metrics.RouteDelivered
	case router.Retried:
		return metrics.RouteRetried
	default:
		return metrics.RouteDeadLettered
	}
}

// noRedirect makes a redirect a failure, as deliver's default client does (Standard Webhooks).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
