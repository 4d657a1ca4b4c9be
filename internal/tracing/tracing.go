// Package tracing builds the OpenTelemetry tracer provider of serve: an OTLP exporter (gRPC or
// HTTP) behind a batching span processor, sampled by ratio unless the parent decided. Tracing is
// off by default; off, New returns nil and the ingest server and the router start no span at all.
// The spans themselves are made where the work is (internal/ingest, router); docs/tracing.md
// lists them.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ErrExporter is wrapped by the error of an exporter that cannot be built.
var ErrExporter = errors.New("tracing: OTLP exporter")

// DefaultServiceName is the service.name of a Config that names none.
const DefaultServiceName = "avatarbus"

// Config configures tracing (config.Tracing, translated by serve).
type Config struct {
	Enabled bool
	// Endpoint is host:port or an http(s) URL; "" lets the exporter read the standard
	// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables, then use its default.
	Endpoint string
	// Protocol is "grpc" ("" too) or "http".
	Protocol string
	// SampleRatio is the share of root traces sampled, 0 to 1.
	SampleRatio float64
	// ServiceName is the service.name resource attribute; "" is DefaultServiceName.
	ServiceName string
	// Version is the service.version resource attribute; "" leaves it out.
	Version string
}

// New returns the tracer provider of cfg, or nil when tracing is off: cfg.Enabled is false, or the
// standard OTEL_SDK_DISABLED variable is "true" (an operator's switch that needs no config edit).
// The caller shuts it down (Shutdown flushes the spans still buffered). Building the exporter does
// not connect: a collector that is down loses spans, never requests.
func New(ctx context.Context, cfg Config) (*sdktrace.TracerProvider, error) {
	if !cfg.Enabled || strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	exp, err := exporter(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExporter, err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []resource.Option{resource.WithAttributes(semconv.ServiceName(name))}
	if cfg.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(cfg.Version)))
	}
	// WithFromEnv comes last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the file.
	res, err := resource.New(ctx, append(attrs, resource.WithFromEnv())...)
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(Sampler(cfg.SampleRatio)),
	), nil
}

// Sampler samples ratio of the traces that start here and follows the parent's decision for the
// requests that carry a traceparent, so that a trace is kept or dropped whole.
func Sampler(ratio float64) sdktrace.Sampler {
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
}

// exporter builds the OTLP exporter of cfg's protocol and endpoint.
func exporter(ctx context.Context, cfg Config) (*otlptrace.Exporter, error) {
	host, insecure, path, err := endpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	switch cfg.Protocol {
	case "", "grpc":
		var opts []otlptracegrpc.Option
		if host != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(host))
			if insecure {
				opts = append(opts, otlptracegrpc.WithInsecure())
			}
		}
		return otlptracegrpc.New(ctx, opts...)
	case "http":
		var opts []otlptracehttp.Option
		if host != "" {
			opts = append(opts, otlptracehttp.WithEndpoint(host))
			if insecure {
				opts = append(opts, otlptracehttp.WithInsecure())
			}
			if path != "" {
				opts = append(opts, otlptracehttp.WithURLPath(path))
			}
		}
		return otlptracehttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("protocol %q is not grpc or http", cfg.Protocol)
}

// endpoint splits a configured endpoint: host:port (TLS, as the exporters default to) or a URL,
// whose http scheme turns TLS off and whose path (http protocol) replaces /v1/traces.
func endpoint(e string) (host string, insecure bool, path string, err error) {
	if e == "" || !strings.Contains(e, "://") {
		return e, false, "", nil
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false, "", fmt.Errorf("endpoint %q: want host:port or an http(s) URL", e)
	}
	if u.Path != "" && u.Path != "/" {
		path = u.Path
	}
	return u.Host, u.Scheme == "http", path, nil
}
