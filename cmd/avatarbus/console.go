package main

import (
	"net/http"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/console"
)

// consoleHandler builds the web console that the admin server mounts under /ui/, over the admin
// API api; nil when the API is off, since the console has no other way in (docs/console.md).
func consoleHandler(cfg *config.Config, api http.Handler, log zerolog.Logger) http.Handler {
	if api == nil {
		return nil
	}
	routes := make([]console.Route, len(cfg.Routes))
	for i, r := range cfg.Routes {
		routes[i] = console.Route{Name: r.Name, Filter: r.Filter}
	}
	return console.New(console.Config{API: api, Routes: routes,
		Log: log.With().Str("component", "console").Logger()})
}
