package config

import (
	"time"

	"github.com/avatarbus/avatarbus/subjects"
)

// Defaults that are not visible in Default() because they apply to list items.
const (
	// DefaultPath is the configuration file Load reads when LoadOptions.Path
	// is empty and the file exists in the working directory.
	DefaultPath = "avatarbus.yaml"
	// DefaultMaxBody is a source's body limit when max_body is 0 and its
	// platform has no default of its own.
	DefaultMaxBody = 1 * MiB
	// MaxMaxBody is the largest allowed max_body (and offload_above).
	MaxMaxBody = 256 * MiB
	// ObjectsSuffix names the object store bucket of large payloads:
	// stream.name + ObjectsSuffix (AVATAR_OBJECTS).
	ObjectsSuffix = subjects.ObjectsSuffix
	// DefaultRouteTimeout is a route's timeout when unset.
	DefaultRouteTimeout = Duration(10 * time.Second)
	// DefaultMaxDeliveries is a route's max_deliveries when unset.
	DefaultMaxDeliveries = 10
	// MaxPublishTimeout is the largest allowed nats.publish_timeout.
	MaxPublishTimeout = Duration(10 * time.Second)
	// MinPingInterval and MaxPingInterval bound nats.ping_interval.
	MinPingInterval = Duration(100 * time.Millisecond)
	MaxPingInterval = Duration(10 * time.Minute)
	// MinStorageFailureExit is the smallest nats.storage_failure_exit other than 0 (never).
	MinStorageFailureExit = Duration(10 * time.Second)
	// QuarantineStreamSuffix names the quarantine stream when quarantine.stream is empty:
	// stream.name + QuarantineStreamSuffix.
	QuarantineStreamSuffix = subjects.QuarantineStreamSuffix
	// MinMaxHeaderBytes and MaxMaxHeaderBytes bound http.max_header_bytes.
	MinMaxHeaderBytes = 1 * KiB
	MaxMaxHeaderBytes = 1 * MiB
	// MinMaxBodyBytesInFlight is the smallest http.max_body_bytes_in_flight that may be set.
	MinMaxBodyBytesInFlight = 1 * MiB
	// MaxBodyWait is the largest http.body_wait.
	MaxBodyWait = Duration(10 * time.Second)
)

// DefaultBackoff returns a route's default backoff schedule:
// 5s, 30s, 2m, 10m, 30m.
func DefaultBackoff() []Duration {
	return []Duration{
		Duration(5 * time.Second),
		Duration(30 * time.Second),
		Duration(2 * time.Minute),
		Duration(10 * time.Minute),
		Duration(30 * time.Minute),
	}
}

// Default returns the default configuration: every field populated, no
// sources and no routes. It is valid as it is.
func Default() Config {
	return Config{
		Listen:      ":8080",
		AdminListen: "127.0.0.1:9090",
		NATS: NATS{
			Embedded: Embedded{
				Listen:       "127.0.0.1:4222",
				StoreDir:     "./data/jetstream",
				SyncInterval: "1s",
				ServerName:   "avatarbus",
				Auth:         true,
			},
			PublishTimeout: Duration(1500 * time.Millisecond),
			PingInterval:   Duration(5 * time.Second),
			// StorageFailureExit: long enough for several in-process restarts of the embedded server.
			StorageFailureExit: Duration(2 * time.Minute),
		},
		Stream: Stream{
			Name:            subjects.DefaultStream,
			SubjectPrefix:   subjects.CanonicalRoot,
			Replicas:        1,
			MaxAge:          Duration(720 * time.Hour),
			DuplicateWindow: Duration(48 * time.Hour),
			MaxBytes:        0,
			AttemptsMaxAge:  Duration(7 * 24 * time.Hour),
		},
		Log: Log{Level: "info"},
		Quarantine: Quarantine{
			Enabled:  true,
			MaxAge:   Duration(72 * time.Hour),
			MaxBytes: 256 * MiB,
		},
		HTTP: HTTP{
			ReadHeaderTimeout:   Duration(5 * time.Second),
			ReadTimeout:         Duration(30 * time.Second),
			WriteTimeout:        Duration(30 * time.Second),
			IdleTimeout:         Duration(120 * time.Second),
			PressureIdleTimeout: Duration(time.Second),
			MaxHeaderBytes:      64 * KiB,
			BodyWait:            Duration(time.Second),
		},
		Tracing: Tracing{Protocol: TracingGRPC, SampleRatio: 1, ServiceName: "avatarbus"},
		Index:   Index{Enabled: true},
	}
}

// QuarantineStream is the name of the quarantine stream: quarantine.stream, or stream.name +
// "_QUARANTINE" when that is empty.
func (c *Config) QuarantineStream() string {
	if c.Quarantine.Stream != "" {
		return c.Quarantine.Stream
	}
	return c.Stream.Name + QuarantineStreamSuffix
}

// QuarantineReplicas is the replica count of the quarantine stream: quarantine.replicas, or
// stream.replicas when that is 0.
func (c *Config) QuarantineReplicas() int {
	if c.Quarantine.Replicas != 0 {
		return c.Quarantine.Replicas
	}
	return c.Stream.Replicas
}

// ObjectsBucket is the name of the object store bucket of large payloads:
// stream.name + "_OBJECTS".
func (c *Config) ObjectsBucket() string { return c.Stream.Name + ObjectsSuffix }

// ApplyDefaults fills in the defaults of list items, which Default cannot
// know about: a route's timeout, backoff and max_deliveries. A source's
// max_body and offload_above stay 0 when unset: their defaults are the
// platform's, which serve knows. Load calls it before Validate; call it
// yourself on configurations built in code.
func (c *Config) ApplyDefaults() {
	for i := range c.Sources {
		applyPollDefaults(&c.Sources[i])
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Timeout == 0 {
			r.Timeout = DefaultRouteTimeout
		}
		if len(r.Backoff) == 0 {
			r.Backoff = DefaultBackoff()
		}
		if r.MaxDeliveries == 0 {
			r.MaxDeliveries = DefaultMaxDeliveries
		}
	}
}

// Clone returns a deep copy of c.
func (c *Config) Clone() Config {
	out := *c
	if c.Sources != nil {
		out.Sources = make([]Source, len(c.Sources))
		for i, s := range c.Sources {
			if s.Secrets != nil {
				s.Secrets = append([]string(nil), s.Secrets...)
			}
			if s.Events != nil {
				ev := make(map[string]string, len(s.Events))
				for k, v := range s.Events {
					ev[k] = v
				}
				s.Events = ev
			}
			if s.RateLimit != nil {
				rl := *s.RateLimit
				s.RateLimit = &rl
			}
			if s.API != nil {
				api := *s.API
				s.API = &api
			}
			if s.Reconcile != nil {
				r := *s.Reconcile
				s.Reconcile = &r
			}
			if s.Usage != nil {
				u := *s.Usage
				s.Usage = &u
			}
			out.Sources[i] = s
		}
	}
	if c.Routes != nil {
		out.Routes = make([]Route, len(c.Routes))
		for i, r := range c.Routes {
			if r.Backoff != nil {
				r.Backoff = append([]Duration(nil), r.Backoff...)
			}
			out.Routes[i] = r
		}
	}
	if c.refs != nil {
		out.refs = make(map[string]secretRef, len(c.refs))
		for k, v := range c.refs {
			out.refs[k] = v
		}
	}
	return out
}
