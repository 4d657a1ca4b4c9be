package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/tracing"
)

// tracingFlushTimeout bounds the flush of the last spans at shutdown: a collector that is down
// must not hold the exit.
const tracingFlushTimeout = 5 * time.Second

// startTracing builds the tracer provider of cfg: nil, and a no-op stop, when tracing is off. stop
// flushes the spans still buffered; serve calls it after the listeners and routes have stopped.
func startTracing(ctx context.Context, cfg config.Tracing, log zerolog.Logger) (trace.TracerProvider, func(), error) {
	tp, err := tracing.New(ctx, tracing.Config{Enabled: cfg.Enabled, Endpoint: cfg.Endpoint, Protocol: cfg.Protocol,
		SampleRatio: cfg.SampleRatio, ServiceName: cfg.ServiceName})
	if err != nil || tp == nil {
		return nil, func() {}, err
	}
	log.Info().Str("protocol", cfg.Protocol).Float64("sample_ratio", cfg.SampleRatio).
		Msg("tracing on: spans exported over OTLP")
	return tp, func() {
		sctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("tracing: spans not flushed at shutdown")
		}
	}, nil
}
