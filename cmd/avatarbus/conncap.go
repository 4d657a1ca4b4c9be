package main

import (
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
)

// warnConnectionCap warns when http.max_connections is set above what the file limit leaves after
// JetStream's share (ingest.DeriveMaxConnections): idle clients could then take the file handles
// the embedded JetStream needs to write (docs/operations.md "Connections, file limits and readiness").
func warnConnectionCap(cfg *config.Config, log zerolog.Logger) {
	set := cfg.HTTP.MaxConnections
	if set == 0 {
		return
	}
	limit, err := ingest.FileLimit()
	if err != nil {
		return
	}
	if safe := ingest.DeriveMaxConnections(limit); set > safe {
		log.Warn().Int("max_connections", set).Uint64("file_limit", limit).Int("derived", safe).
			Msg("http.max_connections leaves JetStream too few of the file limit's handles: clients could stop storage; lower it, raise the limit (ulimit -n) or set 0 to derive it")
	}
}
