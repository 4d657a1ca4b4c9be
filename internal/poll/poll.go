package poll

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/record"
	"github.com/avatarbus/avatarbus/platform"
)

// RecoveredBy is the value of the recoveredby attribute of the events this package publishes.
const RecoveredBy = "poll"

// DefaultLeaseTTL is how long a lease lasts without renewal: a dead holder's successor starts
// polling at most this long (plus one renewal interval) after its last renewal.
const DefaultLeaseTTL = 10 * time.Second

var (
	// ErrUnknownSource: no polled source has the name asked for.
	ErrUnknownSource = errors.New("no such polled source")
	// ErrNotPolled: the source has no reconcile (or no usage) configured.
	ErrNotPolled = errors.New("source is not polled")
)

// Publisher stores an event and says whether it was new (ingest's, implemented by broker).
type Publisher interface {
	Publish(ctx context.Context, subject string, ev *envelope.Event) (record.Ack, error)
}

// Threshold is the credits_low level: Value percent of the period's limit, or Value in the
// platform's unit.
type Threshold struct {
	Value   float64
	Percent bool
}

// Source is one configured source that is polled.
type Source struct {
	// Name is the configured source name; Preset and Events normalize as ingest does.
	Name   string
	Preset platform.Preset
	Events map[string]string

	// Lister lists the jobs for reconciliation; nil: reconciliation is off.
	Lister     platformapi.Lister
	Every      time.Duration // between reconcile passes
	Lookback   time.Duration // how far back a pass lists
	StallAfter time.Duration // 0: no stall events

	// Balancer reads the credits; nil: usage is off.
	Balancer   platformapi.Balancer
	UsageEvery time.Duration
	Low        Threshold

	// Metrics records the source's polling; nil records nothing.
	Metrics *metrics.Poll
}

// Config is what the Poller needs of the stream.
type Config struct {
	Stream          string        // the events stream; the KV buckets are named after it
	Prefix          string        // subject prefix (stream.subject_prefix)
	Replicas        int           // of the KV buckets; 0 means 1
	DuplicateWindow time.Duration // the stream's; SEEN keeps ids lookback + this long
	LeaseTTL        time.Duration // 0: DefaultLeaseTTL
	Holder          string        // this instance's lease name; "" makes a random one
	Log             zerolog.Logger
	// Now is the clock; nil means time.Now (tests move it to make jobs stall).
	Now func() time.Time
}

// Poller polls the sources' APIs into events. Build it with New; Run polls while it holds the
// lease; Reconcile and Usage run one pass by hand.
type Poller struct {
	cfg     Config
	js      jetstream.JetStream
	pub     Publisher
	sources map[string]*Source
	order   []*Source

	seen, jobs, usage, leases jetstream.KeyValue
	seenTTL                   time.Duration

	mu     sync.Mutex
	leader bool
}

// New creates (or opens) the KV buckets and returns a Poller of sources.
func New(ctx context.Context, js jetstream.JetStream, pub Publisher, cfg Config, sources []Source) (*Poller, error) {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Holder == "" {
		cfg.Holder = randomHolder()
	}
	p := &Poller{cfg: cfg, js: js, pub: pub, sources: map[string]*Source{}}
	var lookback, stall time.Duration
	for i := range sources {
		s := sources[i]
		p.sources[s.Name] = &s
		p.order = append(p.order, &s)
		lookback = max(lookback, s.Lookback)
		stall = max(stall, s.StallAfter)
	}
	// SEEN must outlive both what a pass lists (lookback) and what JetStream dedups itself.
	seenTTL := max(lookback+cfg.DuplicateWindow, time.Minute)
	// A job's first-seen time must outlive its listing (lookback) and its stall delay.
	jobsTTL := max(lookback+stall, time.Minute)
	p.seenTTL = seenTTL
	var err error
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
		ttl  time.Duration
		what string
	}{
		{&p.seen, "_SEEN", seenTTL, "ids of stored events, for reconciliation beyond the dedup window"},
		{&p.jobs, "_JOBS", jobsTTL, "first-seen times of non-terminal jobs, for stall events"},
		{&p.usage, "_USAGE", 0, "credit thresholds crossed, per source and billing period"},
		{&p.leases, "_LEASES", cfg.LeaseTTL, "the poller lease: one poller per cluster"},
	} {
		if *b.kv, err = ensureKV(ctx, js, cfg.Stream+b.name, b.ttl, cfg.Replicas, b.what); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ensureKV creates bucket or updates its TTL and replicas.
func ensureKV(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, replicas int, what string) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "avatarbus: " + what, TTL: ttl, Replicas: replicas,
		Storage: jetstream.FileStorage, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", bucket, err)
	}
	return kv, nil
}

// Sources returns the polled sources, in configuration order.
func (p *Poller) Sources() []*Source { return append([]*Source(nil), p.order...) }

// key turns an id (any bytes) into a KV key: KV keys allow few characters, ids have ':'.
func key(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// seenKey is the SEEN key of an event id.
func seenKey(id string) string { return "id." + key(id) }

// MarkSeen records that the event id is stored.
func (p *Poller) MarkSeen(ctx context.Context, id string) error {
	if _, err := p.seen.Put(ctx, seenKey(id), nil); err != nil {
		return fmt.Errorf("kv %s_SEEN: %w", p.cfg.Stream, err)
	}
	return nil
}

// isSeen reports whether the event id is recorded as stored.
func (p *Poller) isSeen(ctx context.Context, id string) (bool, error) {
	_, err := p.seen.Get(ctx, seenKey(id))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("kv %s_SEEN: %w", p.cfg.Stream, err)
	}
}

// platformOf is the platform token of s's events (generic presets use the source name).
func platformOf(s *Source, ev *envelope.Event) string {
	if ev != nil && ev.Platform != "" {
		return ev.Platform
	}
	return s.Preset.Name()
}

// newEvent is the skeleton of an event made by the poller itself (stalled, credits).
func (p *Poller) newEvent(s *Source, plat, typ, id string, now time.Time) envelope.Event {
	return envelope.Event{
		SpecVersion: envelope.SpecVersion, ID: id, Source: envelope.SourceFor(plat), Type: typ,
		Time: now, DataContentType: envelope.DataContentType, Platform: plat, RecoveredBy: RecoveredBy,
		ReceivedAt: now,
	}
}
