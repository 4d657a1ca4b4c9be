package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Config is everything Open needs.
type Config struct {
	// Conn reaches an external NATS; when Conn.URL is empty an embedded server is started instead.
	Conn     ConnConfig
	Embedded EmbeddedConfig
	Stream   StreamConfig
	// PublishTimeout bounds each publish (see Publisher).
	PublishTimeout time.Duration
	// Quarantine, when set, is the stream of refused requests, created beside Stream (see
	// Broker.Quarantine); nil keeps none.
	Quarantine *QuarantineConfig
	// Objects, when set, is the object store bucket of payloads too large for an event, created
	// beside Stream (see Broker.Objects); nil keeps none.
	Objects *ObjectsConfig
	// StorageFailureExit bounds how long JetStream may fail to store, and avatarbus fail to heal
	// it, before Fatal reports it (see health.go); 0 never reports.
	StorageFailureExit time.Duration
	// HealInterval is how often the embedded server's health is checked; 0 = DefaultHealInterval.
	HealInterval time.Duration
}

// Broker is an open connection to JetStream with avatarbus's stream in place, and the embedded
// server when avatarbus runs one.
type Broker struct {
	// Server is the embedded server, nil when connected to an external NATS. It is replaced when
	// the server is restarted (health.go); read it through EmbeddedServer after Open.
	Server *server.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	cfg    Config
	log    zerolog.Logger
	// closing silences the disconnect warning when the disconnect is our own drain.
	closing atomic.Bool

	srvMu        sync.Mutex   // guards Server across restarts
	sw           serverSwitch // the embedded server the connection reaches
	embeddedAddr string       // host:port the embedded server listens on, kept across restarts
	storage      storageState // recent publishes that failed for a storage reason
	fatal        chan error
	stopWatch    chan struct{} // closed by Close to stop watchStorage
	watchDone    chan struct{} // closed when watchStorage has returned
	// lock is held on the embedded server's store dir from before it starts until Close.
	lock *StoreLock
	// batchers are the BatchPublishers made by BatchPublisher, closed by Close before the drain.
	batchMu  sync.Mutex
	batchers []*BatchPublisher
}

// Open starts the embedded server (when cfg.Conn.URL is empty) or connects to the external one,
// then creates or updates the stream. It keeps trying to reach the stream until ctx ends, so avatarbus
// can start before its cluster is ready.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*Broker, error) {
	b := &Broker{cfg: cfg, log: log, fatal: make(chan error, 1)}
	if cfg.Quarantine != nil {
		if err := cfg.Quarantine.check(); err != nil {
			return nil, err
		}
	}
	var err error
	if cfg.Conn.URL == "" {
		if err = b.startEmbedded(); err != nil {
			b.Close()
			return nil, err
		}
		b.sw.cur.Store(b.Server)
		b.embeddedAddr = b.Server.Addr().String()
		var login []nats.Option
		if c := b.cfg.Embedded.Credentials; c != nil {
			login = append(login, c.Avatarbus.Option())
		}
		b.Conn, err = dialEmbedded(&b.sw, cfg.Conn.Name, b.handlers(), login...)
	} else {
		b.Conn, err = dialExternal(cfg.Conn, b.handlers())
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	if b.JS, err = jetstream.New(b.Conn); err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = b.ensureStreams(tctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			b.Close()
			return nil, fmt.Errorf("streams: %w (last error: %w)", ctx.Err(), err)
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg("stream not ready; retrying")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	log.Info().Str("stream", cfg.Stream.Name).Strs("subjects", cfg.Stream.Subjects).
		Str("duplicate_window", cfg.Stream.Duplicates.String()).Int("replicas", cfg.Stream.Replicas).Msg("stream ready")
	if o := cfg.Objects; o != nil {
		log.Info().Str("bucket", o.Bucket).Str("ttl", o.TTL.String()).Int("replicas", o.Replicas).Msg("object store ready")
	}
	if q := cfg.Quarantine; q != nil {
		log.Info().Str("stream", q.Name).Strs("subjects", q.Subjects).Str("max_age", q.MaxAge.String()).
			Int64("max_bytes", q.MaxBytes).Int("replicas", q.Replicas).Msg("quarantine stream ready")
	}
	interval := cfg.HealInterval
	if interval <= 0 {
		interval = DefaultHealInterval
	}
	b.stopWatch, b.watchDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(b.watchDone)
		b.watchStorage(b.stopWatch, interval)
	}()
	return b, nil
}

// startEmbedded locks the store dir, resolves the credentials and starts the embedded server.
func (b *Broker) startEmbedded() error {
	emb, log := &b.cfg.Embedded, b.log
	var err error
	if b.lock, err = LockStore(emb.StoreDir); err != nil {
		return err
	}
	switch {
	case emb.NoAuth:
		log.Warn().Str("listen", emb.Listen).Msg("embedded NATS auth is off (nats.embedded.auth: false): " +
			"any process that reaches it can publish forged events or purge the stream")
	case emb.Credentials != nil:
		log.Info().Msg("embedded NATS requires auth: users avatarbus and consumer, passwords from the config")
	default:
		path := emb.CredentialsPath()
		c, created, err := LoadOrCreateCredentials(path)
		if err != nil {
			return err
		}
		emb.Credentials = &c
		log.Info().Str("credentials", path).Bool("created", created).
			Msg("embedded NATS requires auth: users avatarbus and consumer, passwords in the credentials file")
	}
	if b.Server, err = StartEmbedded(*emb, log); err != nil {
		return err
	}
	log.Info().Str("listen", b.Server.ClientURL()).Str("store_dir", emb.StoreDir).
		Msg("embedded NATS JetStream started")
	return nil
}

// EmbeddedCredentials are the logins of the embedded server, or nil when avatarbus runs none or
// it requires no auth.
func (b *Broker) EmbeddedCredentials() *Credentials {
	if b.Server == nil || b.cfg.Embedded.NoAuth {
		return nil
	}
	return b.cfg.Embedded.Credentials
}

// ensureStreams creates or updates the event stream and, when configured, the object store and
// the quarantine stream.
func (b *Broker) ensureStreams(ctx context.Context) error {
	if _, err := EnsureStream(ctx, b.JS, b.cfg.Stream); err != nil {
		return err
	}
	if o := b.cfg.Objects; o != nil {
		if err := EnsureObjects(ctx, b.JS, *o); err != nil {
			return err
		}
	}
	if q := b.cfg.Quarantine; q != nil {
		if _, err := EnsureStream(ctx, b.JS, q.streamConfig()); err != nil {
			return err
		}
	}
	return nil
}

// ensureStreamAfterReconnect puts the stream back after a reconnect, for a server that came back
// empty (a new node, a wiped store): without it every publish would fail until a restart.
func (b *Broker) ensureStreamAfterReconnect() {
	if b.JS == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.ensureStreams(ctx); err != nil {
		b.log.Warn().Err(err).Msg("could not ensure streams after reconnect")
	}
}

// Publisher returns a Publisher into the stream.
func (b *Broker) Publisher() *Publisher {
	p := NewPublisher(b.Conn, b.JS, b.cfg.Stream.Name, b.cfg.PublishTimeout)
	p.observe = func(err error) { b.storage.observe(err, time.Now()) }
	return p
}

// BatchPublisher returns a group-commit publisher into the stream (publish_mode batch; see
// batch.go), which Close stops. The stream must have been opened with Stream.AtomicPublish.
// cfg.Timeout 0 is the broker's PublishTimeout.
func (b *Broker) BatchPublisher(cfg BatchConfig) *BatchPublisher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = b.cfg.PublishTimeout
	}
	p := newBatchPublisher(b.Conn, b.cfg.Stream.Name, cfg, func(err error) { b.storage.observe(err, time.Now()) })
	b.batchMu.Lock()
	b.batchers = append(b.batchers, p)
	b.batchMu.Unlock()
	return p
}

// Objects returns the object store of large payloads, or nil when Config.Objects is nil.
func (b *Broker) Objects() *Objects {
	if b.cfg.Objects == nil {
		return nil
	}
	return NewObjects(b.JS, b.cfg.Objects.Bucket, b.cfg.Objects.Timeout)
}

// MaxPayload is the largest message the server accepts (headers included), as it announced when
// the connection was made.
func (b *Broker) MaxPayload() int64 { return b.Conn.MaxPayload() }

// Connected reports whether the connection to NATS is up now (a gauge for metrics).
func (b *Broker) Connected() bool { return b.Conn != nil && b.Conn.IsConnected() }

// Ready reports whether an event published now could be stored: connected, the stream present,
// and storage working (health.go: the embedded server's health check, or no recent publish that
// failed for a storage reason). Its error names what is missing and never carries credentials.
func (b *Broker) Ready(ctx context.Context) error {
	if !b.Connected() {
		return fmt.Errorf("%w: not connected to NATS", ErrUnavailable)
	}
	if _, err := b.JS.Stream(ctx, b.cfg.Stream.Name); err != nil {
		return fmt.Errorf("%w: stream %s: %w", ErrUnavailable, b.cfg.Stream.Name, err)
	}
	if err := b.storageErr(time.Now()); err != nil {
		return err
	}
	return nil
}

// Close drains the connection (in-flight acks are received) and stops the embedded server, in
// that order.
func (b *Broker) Close() {
	b.closing.Store(true)
	if b.stopWatch != nil {
		close(b.stopWatch)
		<-b.watchDone
		b.stopWatch = nil
	}
	b.batchMu.Lock()
	for _, p := range b.batchers {
		p.Close() // the batch in flight is answered before the connection drains
	}
	b.batchers = nil
	b.batchMu.Unlock()
	if b.Conn != nil && !b.Conn.IsClosed() {
		if err := b.Conn.Drain(); err != nil {
			b.Conn.Close()
		}
		for i := 0; i < 100 && !b.Conn.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if srv := b.EmbeddedServer(); srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	_ = b.lock.Release() // after the server is gone: the store is free for the next process
}

// handlers are the connection callbacks: log disconnects that are not our own, and put the
// stream back after a reconnect.
func (b *Broker) handlers() connHandlers {
	return connHandlers{log: b.log, closing: &b.closing, onReconnect: b.ensureStreamAfterReconnect}
}
