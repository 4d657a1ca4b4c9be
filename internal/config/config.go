package config

import "path/filepath"

// Config is the complete avatarbus configuration.
type Config struct {
	// Listen is the address of the ingest HTTP server (host:port), default ":8080".
	Listen string `yaml:"listen"`
	// AdminListen is the address of the admin HTTP server (health, metrics),
	// default "127.0.0.1:9090".
	AdminListen string `yaml:"admin_listen"`
	// AdminToken guards the JSON admin API (/api/v1 on admin_listen): a Bearer token or the
	// session a login with it issues. A secret reference. Required when admin_listen is not a
	// loopback address; empty leaves the API and console open to local users on a loopback one.
	AdminToken string `yaml:"admin_token"`
	// NATS configures the connection to NATS, or the embedded server.
	NATS NATS `yaml:"nats"`
	// Stream configures the JetStream stream events are published to.
	Stream Stream `yaml:"stream"`
	// Sources are the webhook endpoints, one per platform account.
	Sources []Source `yaml:"sources"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Routes are outgoing webhook deliveries fed from the stream.
	Routes []Route `yaml:"routes"`
	// Quarantine keeps the requests refused for their signature or timestamp, so an operator can
	// re-check them (avatarbus verify --from-quarantine) after fixing a secret.
	Quarantine Quarantine `yaml:"quarantine"`
	// HTTP tunes the ingest HTTP server: timeouts and header limit.
	HTTP HTTP `yaml:"http"`
	// Tracing configures OpenTelemetry tracing (docs/tracing.md); off by default.
	Tracing Tracing `yaml:"tracing"`
	// Index configures the event index serve writes for find, the admin API and the console
	// (docs/find.md); on by default.
	Index Index `yaml:"index"`

	// refs remembers the secret references (by dotted path) that were
	// resolved into this configuration, so they can be re-read later.
	refs map[string]secretRef
}

// NATS configures the NATS connection.
type NATS struct {
	// URL is the NATS server URL (or comma-separated URLs); empty runs the
	// embedded server.
	URL string `yaml:"url"`
	// Embedded configures the embedded server used when URL is empty.
	Embedded Embedded `yaml:"embedded"`
	// Creds is the path of a NATS credentials (.creds) file.
	Creds string `yaml:"creds"`
	// User is the user name for user/password authentication.
	User string `yaml:"user"`
	// Password is the password for user/password authentication; a secret
	// reference is allowed.
	Password string `yaml:"password"`
	// Token is the authentication token; a secret reference is allowed.
	Token string `yaml:"token"`
	// TLS configures TLS towards the NATS server.
	TLS TLS `yaml:"tls"`
	// PublishMode is how events are published (docs/publish-modes.md): "async",
	// each event on its own, pipelined; or "batch", group commit into
	// JetStream atomic batches (one fsync for many events; the stream gets
	// allow_atomic). Default "": batch when the embedded server runs with
	// sync_interval "always", else async (EffectivePublishMode).
	PublishMode string `yaml:"publish_mode"`
	// PublishTimeout bounds the wait for a JetStream PubAck, default 1500ms;
	// it must be > 0 and <= 10s.
	PublishTimeout Duration `yaml:"publish_timeout"`
	// PingInterval is how often the connection to an external server is
	// checked, default 5s: two unanswered pings in a row (a silent network
	// partition) replace the connection, e.g. with another cluster node.
	// It must be >= 100ms and <= 10m.
	PingInterval Duration `yaml:"ping_interval"`
	// StorageFailureExit bounds how long JetStream may fail to store (a write error on its store)
	// while avatarbus cannot heal it — the embedded server is restarted in process, an external one
	// cannot be — before serve exits non-zero for its supervisor to restart it; default 2m, 0 never
	// exits, else >= 10s.
	StorageFailureExit Duration `yaml:"storage_failure_exit"`
}

// Publish modes (NATS.PublishMode).
const (
	PublishAsync = "async"
	PublishBatch = "batch"
)

// EffectivePublishMode is PublishMode, or when it is unset the mode its
// absence chooses: batch when the embedded server fsyncs before every ack
// (there batch stores several times as many events per second), else async.
func (n NATS) EffectivePublishMode() string {
	if n.PublishMode != "" {
		return n.PublishMode
	}
	if n.URL == "" && n.Embedded.SyncInterval == "always" {
		return PublishBatch
	}
	return PublishAsync
}

// TLS configures TLS towards the NATS server. Cert and Key are set together
// or not at all.
type TLS struct {
	// CA is the path of a PEM file with the CA certificates to trust.
	CA string `yaml:"ca"`
	// Cert is the path of the PEM client certificate.
	Cert string `yaml:"cert"`
	// Key is the path of the PEM client private key.
	Key string `yaml:"key"`
	// InsecureSkipVerify disables server certificate verification (testing only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Embedded configures the embedded NATS server.
type Embedded struct {
	// Listen is the client address (host:port) of the embedded server,
	// default "127.0.0.1:4222".
	Listen string `yaml:"listen"`
	// StoreDir is the JetStream storage directory, default "./data/jetstream".
	StoreDir string `yaml:"store_dir"`
	// SyncInterval is the fsync policy: "always" or a Go duration such as
	// "1s" (the default).
	SyncInterval string `yaml:"sync_interval"`
	// ServerName is the embedded server's name, default "avatarbus".
	ServerName string `yaml:"server_name"`
	// Auth makes clients of the embedded server log in, default true: user
	// "avatarbus" (every right: serve and the CLI commands) and user "consumer"
	// (read streams, create/use/delete consumers, ack; never publish to the
	// stream, purge, delete or update it). Anonymous clients are refused.
	// false lets any local process forge events or purge the stream, and is
	// warned about.
	Auth bool `yaml:"auth"`
	// CredentialsFile is where the generated passwords of both users are kept
	// (JSON, mode 0600, created on first start, reused later), default ""
	// meaning "<store_dir>/nats-credentials.json". Not used when the
	// passwords below are given.
	CredentialsFile string `yaml:"credentials_file"`
	// AvatarbusPassword and ConsumerPassword, when given (both or neither;
	// secret references allowed), are the users' passwords instead of the
	// generated ones.
	AvatarbusPassword string `yaml:"avatarbus_password"`
	ConsumerPassword  string `yaml:"consumer_password"`
}

// CredentialsPath is the generated credentials file: CredentialsFile, or
// nats-credentials.json inside StoreDir.
func (e Embedded) CredentialsPath() string {
	if e.CredentialsFile != "" {
		return e.CredentialsFile
	}
	return filepath.Join(e.StoreDir, "nats-credentials.json")
}

// Stream configures the JetStream stream.
type Stream struct {
	// Name is the stream name, default "AVATAR"; it must match [A-Za-z0-9_-]+.
	Name string `yaml:"name"`
	// SubjectPrefix is the first subject token, default "avatar"; it must be
	// one non-empty token without '.', '*', '>' or whitespace.
	SubjectPrefix string `yaml:"subject_prefix"`
	// Replicas is the number of stream replicas, default 1; 1..5.
	Replicas int `yaml:"replicas"`
	// MaxAge is how long messages are kept, default 720h; > 0.
	MaxAge Duration `yaml:"max_age"`
	// DuplicateWindow is the JetStream de-duplication window, default 48h: it
	// covers the documented retry horizons of the presets (HeyGen 24h, Svix
	// ~27.6h; docs/dedup-memory.md has the memory cost). It must be > 0,
	// <= MaxAge and at least every source's tolerance; serve warns when it is
	// shorter than a configured source's retry horizon.
	DuplicateWindow Duration `yaml:"duplicate_window"`
	// MaxBytes caps the stream size; 0 (the default) is unlimited.
	MaxBytes Size `yaml:"max_bytes"`
	// AttemptsMaxAge is how long route delivery attempts are kept in the stream
	// <name>_ATTEMPTS, default 168h; > 0.
	AttemptsMaxAge Duration `yaml:"attempts_max_age"`
}

// Source is one webhook endpoint, served at /webhooks/{name}.
type Source struct {
	// Name is the URL path segment and identity of the source; required,
	// unique, matching ^[a-z0-9][a-z0-9_-]{0,62}$.
	Name string `yaml:"name"`
	// Platform is the preset name (heygen, did, tavus, elevenlabs, synthesia,
	// standardwebhooks, hmac); required.
	Platform string `yaml:"platform"`
	// Secrets are the verification secrets (several allow rotation); each may
	// be a secret reference.
	Secrets []string `yaml:"secrets"`
	// Verify overrides the platform's verification settings.
	Verify Verify `yaml:"verify"`
	// Tolerance is the accepted timestamp skew; 0 means the scheme's default.
	Tolerance Duration `yaml:"tolerance"`
	// MaxBody is the largest accepted request body, at most 256MiB; 0 means
	// the platform's default: 128MiB for elevenlabs (an hour of call audio
	// in base64 is ~60-80MiB), 1MiB for the others. The body is held in
	// memory, and must arrive within http.read_timeout.
	MaxBody Size `yaml:"max_body"`
	// OffloadAbove stores bodies larger than this by reference: their large
	// fields go to the object store (stream.name + "_OBJECTS") and the event
	// carries nats:// references. 0 means the platform's default: 512KiB for
	// elevenlabs, otherwise only events too large for a NATS message (which
	// every source offloads, whatever this says). At most 256MiB.
	OffloadAbove Size `yaml:"offload_above"`
	// Events maps platform event names to canonical event types, which start
	// with "avatar.".
	Events map[string]string `yaml:"events"`
	// RateLimit limits the rate of verified requests of this source, with a smaller budget of
	// its own for requests that fail verification; nil means unlimited.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Confirm is "" or "fetch" (confirm an event by fetching it from the
	// platform's API).
	Confirm string `yaml:"confirm"`
	// API configures access to the platform's API; nil means unused.
	API *API `yaml:"api"`
	// Reconcile lists the platform's jobs through the API to recover lost webhooks; nil means
	// off. It needs api.key (docs/reconciliation.md).
	Reconcile *Reconcile `yaml:"reconcile"`
	// Usage polls the account's credit balance into credits_low / credits_exhausted events;
	// nil means off. It needs api.key.
	Usage *Usage `yaml:"usage"`
	// StallAfter is how long a job may stay non-terminal before one avatar.video.stalled is
	// published, default 2h when reconcile is on; only with reconcile.
	StallAfter Duration `yaml:"stall_after"`
}

// Verify selects and tunes the signature verification scheme of a source.
// Empty fields take the platform's (or scheme's) defaults.
type Verify struct {
	// Scheme is "" for the platform's default, or one of standardwebhooks,
	// elevenlabs, synthesia, hmac, token, none.
	Scheme string `yaml:"scheme"`
	// Header is the HTTP header carrying the signature or token.
	Header string `yaml:"header"`
	// Algorithm is the HMAC hash: "", sha256 or sha512.
	Algorithm string `yaml:"algorithm"`
	// Encoding is the signature encoding: "", hex or base64.
	Encoding string `yaml:"encoding"`
	// Prefix is a prefix of the signature value (such as "sha256=") to strip.
	Prefix string `yaml:"prefix"`
	// TimestampHeader is the HTTP header carrying the signing timestamp.
	TimestampHeader string `yaml:"timestamp_header"`
	// IDHeader is the HTTP header carrying the message ID.
	IDHeader string `yaml:"id_header"`
	// Content is what is signed: "", body, timestamp.body or id.timestamp.body.
	Content string `yaml:"content"`
	// Param is the name of a query parameter carrying the token or signature.
	Param string `yaml:"param"`
}

// RateLimit is a token-bucket rate limit: Burst requests at once, refilled at RPS per second.
// A request over the limit is answered 429 with Retry-After.
type RateLimit struct {
	// RPS is the sustained rate in requests per second; > 0 (fractions allowed: 0.5 is one
	// request every two seconds).
	RPS float64 `yaml:"rps"`
	// Burst is the bucket size, the most requests accepted at once; >= 1.
	Burst int `yaml:"burst"`
	// Unverified is the budget of the requests that fail verification (unsigned, forged, stale):
	// they never spend rps/burst, so a stranger's flood cannot use up the genuine sender's limit,
	// and beyond their own budget they are answered 429 without the 401 path (quarantine copy, log
	// line). Zero fields take the default derived from the limit: rps/4 and burst/4 (at least 1).
	Unverified UnverifiedLimit `yaml:"unverified"`
}

// UnverifiedLimit is the token bucket of a source's requests that fail verification. Zero fields
// take the default derived from the source's rate_limit.
type UnverifiedLimit struct {
	// RPS is the sustained rate; 0 means rate_limit.rps / 4, else > 0.
	RPS float64 `yaml:"rps"`
	// Burst is the bucket size; 0 means max(1, rate_limit.burst / 4), else >= 1.
	Burst int `yaml:"burst"`
}

// Quarantine configures the stream that keeps requests refused for their signature or timestamp
// (401), with the reason, their headers (secret carriers masked) and their body. Requests refused
// for other reasons (unknown source, too large, rate limited) are not kept.
type Quarantine struct {
	// Enabled turns quarantine on; default true.
	Enabled bool `yaml:"enabled"`
	// Stream is the stream name; "" (the default) means stream.name + "_QUARANTINE"
	// (AVATAR_QUARANTINE). It must match [A-Za-z0-9_-]+ and differ from stream.name.
	Stream string `yaml:"stream"`
	// MaxAge is how long a refused request is kept, default 72h; > 0.
	MaxAge Duration `yaml:"max_age"`
	// MaxBytes caps the stream, default 256MiB; > 0. The oldest requests are discarded first.
	MaxBytes Size `yaml:"max_bytes"`
	// Replicas is the number of stream replicas; 0 (the default) follows stream.replicas.
	Replicas int `yaml:"replicas"`
}

// Index configures the event index (KV <stream>_INDEX, docs/find.md).
type Index struct {
	// Enabled runs the index writer in serve (one instance per cluster writes, by lease); default
	// true. Off, lookups by id in the admin API and the console scan the newest events only, and
	// find answers from what an instance with the index on wrote, if any.
	Enabled bool `yaml:"enabled"`
}

// HTTP tunes the ingest HTTP server so that one slow or noisy client cannot hold the others'
// connections. Every field must be > 0.
type HTTP struct {
	// ReadHeaderTimeout bounds reading a request's headers, default 5s (cuts slowloris clients).
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, headers and body, default 30s; it must be at
	// least read_header_timeout.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from the end of its headers to the end of the answer
	// (body, verification, the JetStream ack, the write), default 30s; it must exceed
	// nats.publish_timeout.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its next request, default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps the request line and headers, default 64KiB; 1KiB..1MiB.
	MaxHeaderBytes Size `yaml:"max_header_bytes"`
	// MaxBodyBytesInFlight caps the bytes held by the bodies of all requests in flight together,
	// charged from Content-Length before reading (a chunked body as it grows) and given back when
	// the request is answered. Beyond it a request waits up to body_wait for room, then gets 503
	// with Retry-After; a body larger than the whole budget gets 413. 0 (the default) sizes it for
	// the machine: an eighth of the memory limit (the smaller of physical memory and the cgroup's
	// memory.max), within 32MiB..128MiB, or 128MiB where neither can be read. Else >= 1MiB.
	MaxBodyBytesInFlight Size `yaml:"max_body_bytes_in_flight"`
	// BodyWait is how long a request waits for room under max_body_bytes_in_flight before its
	// 503, default 1s; > 0 and <= 10s.
	BodyWait Duration `yaml:"body_wait"`
	// MaxConnections caps the open ingest connections; more wait in the kernel's accept queue.
	// 0 (the default) derives it from the file limit (RLIMIT_NOFILE soft limit) at start:
	// limit - max(256, limit/4), leaving the embedded JetStream and the rest their file handles.
	// It must be >= 0.
	MaxConnections int `yaml:"max_connections"`
	// PressureIdleTimeout replaces idle_timeout (and bounds the wait for a first request) while
	// 80% of max_connections or more are open, default 1s; > 0 and <= idle_timeout.
	PressureIdleTimeout Duration `yaml:"pressure_idle_timeout"`
}

// API configures access to a platform's API.
type API struct {
	// Base is the API base URL; empty means the platform's default.
	Base string `yaml:"base"`
	// Key is the API key; a secret reference is allowed.
	Key string `yaml:"key"`
}

// Log configures logging.
type Log struct {
	// Level is one of trace, debug, info (the default), warn, error.
	Level string `yaml:"level"`
	// Format is json, console, or "" (console on a terminal, json otherwise;
	// decided by the caller).
	Format string `yaml:"format"`
}

// Tracing configures OpenTelemetry tracing: spans of the ingest pipeline and of route deliveries,
// exported over OTLP, and the W3C trace context carried in each event (docs/tracing.md).
type Tracing struct {
	// Enabled turns tracing on; off (the default) builds no exporter and starts no span.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the OTLP collector: host:port, or a URL (http:// for no TLS). Empty takes the
	// standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else the
	// exporter's default (localhost:4317 for grpc, localhost:4318 for http).
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc (the default, also when empty) or http (OTLP over HTTP with protobuf).
	Protocol string `yaml:"protocol"`
	// SampleRatio is the share of traces started here that are sampled, 0 to 1 (default 1); a
	// request that carries a traceparent follows its parent's decision.
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name resource attribute, default (and when empty) "avatarbus";
	// OTEL_SERVICE_NAME overrides it.
	ServiceName string `yaml:"service_name"`
}

// Tracing protocols.
const (
	TracingGRPC = "grpc"
	TracingHTTP = "http"
)

// Route is an outgoing webhook delivery of events from the stream.
type Route struct {
	// Name identifies the route (and its durable consumer); required, unique.
	Name string `yaml:"name"`
	// Filter selects the events to deliver, e.g. "avatar.video.completed.*";
	// required.
	Filter string `yaml:"filter"`
	// URL is the absolute http(s) URL events are POSTed to.
	URL string `yaml:"url"`
	// Secret signs deliveries; a secret reference is allowed.
	Secret string `yaml:"secret"`
	// Timeout bounds one delivery attempt, default 10s.
	Timeout Duration `yaml:"timeout"`
	// Backoff are the delays between attempts, default [5s, 30s, 2m, 10m, 30m].
	Backoff []Duration `yaml:"backoff"`
	// MaxDeliveries is the number of attempts before giving up, default 10.
	MaxDeliveries int `yaml:"max_deliveries"`
}
