package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// StreamName is the stream a Stack stores into.
const StreamName = subjects.DefaultStream

// Test secrets of the sources a Stack serves. They exist only here.
const (
	LoadSecret       = "whsec_cmVsaWFiaWxpdHktbG9hZC1vbmx5LXNlY3JldA=="
	ElevenLabsSecret = "reliability-elevenlabs-secret"
	SynthesiaSecret  = "reliability-synthesia-secret"
	HeyGenSecret     = "reliability-heygen-secret"
	TokenSecret      = "reliability-token-0123456789"
)

// Source names a Stack serves at /webhooks/{name}. "load" is a Standard Webhooks source mapping
// video.done to avatar.video.completed; the others use their platform's preset and scheme.
const (
	LoadSource       = "load"
	ElevenLabsSource = "elevenlabs"
	SynthesiaSource  = "synthesia"
	HeyGenSource     = "heygen"
	TokenSource      = "did"
)

// StackConfig says how to build a Stack. The zero value runs an embedded JetStream in a
// directory the caller must give (StoreDir).
type StackConfig struct {
	// NATSURL is the external NATS (comma-separated URLs); empty runs an embedded server.
	NATSURL string
	// StoreDir holds the embedded server's files.
	StoreDir string
	// SyncInterval is the embedded server's fsync interval; 0 = 1s, avatarbus's default.
	SyncInterval time.Duration
	// Replicas of the stream; 0 = 1.
	Replicas int
	// PublishTimeout bounds each publish; 0 = broker.DefaultPublishTimeout.
	PublishTimeout time.Duration
	// PingInterval of the NATS connection; 0 = broker.DefaultPingInterval.
	PingInterval time.Duration
	// DuplicateWindow of the stream; 0 = 1h, avatarbus's default.
	DuplicateWindow time.Duration
	// MaxBody of every source; 0 = ingest.DefaultMaxBody.
	MaxBody int64
	// Now is ingest's clock; nil = time.Now.
	Now func() time.Time
	// HTTP bounds ingest's connections; zero fields take ingest's defaults (as serve's do).
	HTTP ingest.HTTPConfig
	// Batch publishes by group commit into atomic batches (nats.publish_mode: batch, as serve
	// does); the stream then allows atomic publish. false publishes one by one (async).
	Batch bool
	// Log receives avatarbus's log; the zero logger writes nothing.
	Log zerolog.Logger
}

// Stack is avatarbus's ingest tier on a loopback listener, with the broker it publishes to,
// built the way `avatarbus serve` builds them (broker.Open, ingest.New, the real http.Server).
type Stack struct {
	// URL is the base URL of the ingest listener, e.g. http://127.0.0.1:41234.
	URL    string
	Broker *broker.Broker
	Ingest *ingest.Server
	served chan error
}

// Start opens the broker (creating the stream), then serves ingest on 127.0.0.1 with a free port.
// It keeps trying to reach the stream until ctx ends, as serve does.
func Start(ctx context.Context, cfg StackConfig) (*Stack, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.DuplicateWindow == 0 {
		cfg.DuplicateWindow = time.Hour
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Second
	}
	sources, err := Sources(cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	b, err := broker.Open(ctx, broker.Config{
		Conn:     broker.ConnConfig{URL: cfg.NATSURL, Name: "avatarbus", PingInterval: cfg.PingInterval},
		Embedded: broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: cfg.StoreDir, SyncInterval: cfg.SyncInterval, ServerName: "avatarbus"},
		Stream: broker.StreamConfig{Name: StreamName, Subjects: subjects.StreamSubjects("avatar"), Replicas: cfg.Replicas,
			MaxAge: 24 * time.Hour, Duplicates: cfg.DuplicateWindow, AtomicPublish: cfg.Batch},
		PublishTimeout: cfg.PublishTimeout,
	}, cfg.Log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	var pub ingest.Publisher = b.Publisher()
	if cfg.Batch {
		pub = b.BatchPublisher(broker.BatchConfig{}) // serve's defaults; the broker's publish timeout
	}
	s := &Stack{
		URL:    "http://" + ln.Addr().String(),
		Broker: b,
		Ingest: ingest.New(ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: pub, Log: cfg.Log, Now: cfg.Now, HTTP: cfg.HTTP}),
		served: make(chan error, 1),
	}
	go func() { s.served <- s.Ingest.Serve(ln) }()
	return s, nil
}

// Close stops the stack in serve's order: finish in-flight requests (until ctx ends), then drain
// NATS and stop the embedded server. It returns the error that ended serving, if any.
func (s *Stack) Close(ctx context.Context) error {
	err := s.Ingest.Shutdown(ctx)
	err = errors.Join(err, <-s.served)
	s.Broker.Close()
	return err
}

// sourceDef is one source of a Stack: its name, preset and secret.
type sourceDef struct {
	name, platform, secret string
	events                 map[string]string
}

// sourceDefs lists the sources a Stack serves.
func sourceDefs() []sourceDef {
	return []sourceDef{
		{LoadSource, "standardwebhooks", LoadSecret, map[string]string{"video.done": envelope.TypeVideoCompleted}},
		{ElevenLabsSource, "elevenlabs", ElevenLabsSecret, nil},
		{SynthesiaSource, "synthesia", SynthesiaSecret, nil},
		{HeyGenSource, "heygen", HeyGenSecret, nil},
		{TokenSource, "did", TokenSecret, nil},
	}
}

// Sources returns the sources a Stack serves, each with maxBody (0 = ingest.DefaultMaxBody).
func Sources(maxBody int64) ([]ingest.Source, error) {
	var out []ingest.Source
	for _, d := range sourceDefs() {
		p, vc, err := VerifyConfig(d.name)
		if err != nil {
			return nil, err
		}
		vc.Secrets = []string{d.secret}
		v, err := verify.New(vc)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", d.name, err)
		}
		out = append(out, ingest.Source{Name: d.name, Preset: p, Verifier: v, MaxBody: maxBody, Events: d.events})
	}
	return out, nil
}

// VerifyConfig returns the preset and the verify configuration (with its secret) of the Stack's
// source name: what a sender passes to verify.Sign.
func VerifyConfig(name string) (platform.Preset, verify.Config, error) {
	for _, d := range sourceDefs() {
		if d.name != name {
			continue
		}
		p, ok := platform.Default().Lookup(d.platform)
		if !ok {
			return nil, verify.Config{}, fmt.Errorf("no preset %s", d.platform)
		}
		vc := p.DefaultVerify()
		vc.Secrets = []string{d.secret}
		return p, vc, nil
	}
	return nil, verify.Config{}, fmt.Errorf("no source %q", name)
}
