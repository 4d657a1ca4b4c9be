package index

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Durable is the name of the indexer's consumer on the event stream.
const Durable = "avatarbus-index"

// leaseKey is the indexer's key in <stream>_LEASES (the poller's is "poller").
const leaseKey = "indexer"

// Options configure an [Indexer].
type Options struct {
	Stream   string
	Replicas int              // of the index bucket (and of the leases bucket when it creates it); default 1
	LeaseTTL time.Duration    // default 10s, when it creates the leases bucket
	Lag      func(lag uint64) // called after each event with the events still to index; may be nil
	Logf     func(format string, args ...any)
}

// Indexer writes the index: it holds the lease, and while it does consumes the event stream
// with a durable consumer, so a restart resumes where the last holder stopped.
type Indexer struct {
	js     jetstream.JetStream
	o      Options
	kv     jetstream.KeyValue
	leases jetstream.KeyValue
	cons   jetstream.Consumer
	holder string
}

// New creates (or updates) the index bucket, with TTL = the stream's max_age, the leases bucket
// and the durable consumer. The stream must exist.
func New(ctx context.Context, js jetstream.JetStream, o Options) (*Indexer, error) {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	o.Replicas = max(o.Replicas, 1)
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	st, err := js.Stream(ctx, o.Stream)
	if err != nil {
		return nil, fmt.Errorf("%w: stream %s: %w", ErrIndex, o.Stream, err)
	}
	maxAge := st.CachedInfo().Config.MaxAge
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: o.Stream + BucketSuffix, TTL: maxAge, History: 1, Replicas: o.Replicas,
		Description: "avatarbus: event id, resource id and correlation id -> stream seq",
	})
	if err != nil {
		return nil, fmt.Errorf("%w: bucket %s%s: %w", ErrIndex, o.Stream, BucketSuffix, err)
	}
	leases, err := js.KeyValue(ctx, o.Stream+"_LEASES")
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		leases, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: o.Stream + "_LEASES", TTL: o.LeaseTTL, Replicas: o.Replicas})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: leases bucket: %w", ErrIndex, err)
	}
	// The bucket is shared with the poller's lease, which may have made it with its own TTL:
	// renew on the TTL the bucket has.
	if st, err := leases.Status(ctx); err == nil && st.TTL() > 0 {
		o.LeaseTTL = st.TTL()
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: Durable, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait: 30 * time.Second, MaxAckPending: 1000,
		Description: "avatarbus index writer",
	})
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %s: %w", ErrIndex, Durable, err)
	}
	return &Indexer{js: js, o: o, kv: kv, leases: leases, cons: cons, holder: holderName()}, nil
}

func holderName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	if host == "" {
		host = "avatarbus"
	}
	return host + "-" + hex.EncodeToString(b)
}

// Run indexes until ctx ends: it tries the lease, consumes while holding it, and stops consuming
// (and releases the lease) when it loses it or ctx ends.
func (x *Indexer) Run(ctx context.Context) error {
	var rev uint64
	var cc jetstream.ConsumeContext
	stop := func() {
		if cc != nil {
			cc.Drain()
			<-cc.Closed()
			cc = nil
		}
	}
	defer func() {
		stop()
		if rev != 0 {
			_ = x.leases.Delete(context.WithoutCancel(ctx), leaseKey, jetstream.LastRevision(rev))
		}
	}()
	every := min(x.o.LeaseTTL/3, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rev = x.tick(ctx, rev)
		switch {
		case rev != 0 && cc == nil:
			var err error
			cc, err = x.cons.Consume(func(m jetstream.Msg) { x.handle(ctx, m) })
			if err != nil {
				x.o.Logf("index: consume: %v", err)
				cc = nil
			}
		case rev == 0 && cc != nil:
			stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick takes or renews the lease and returns the revision held, 0 when not held.
func (x *Indexer) tick(ctx context.Context, rev uint64) uint64 {
	if rev != 0 {
		if r, err := x.leases.Update(ctx, leaseKey, []byte(x.holder), rev); err == nil {
			return r
		}
		return 0
	}
	r, err := x.leases.Create(ctx, leaseKey, []byte(x.holder))
	if err == nil {
		return r
	}
	return 0
}

// handle indexes one event; a failed put is not acked, so the event is redelivered.
func (x *Indexer) handle(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	e, ok := entryOf(md.Sequence.Stream, m.Data())
	if ok {
		v, _ := json.Marshal(e)
		for _, k := range keysOf(e) {
			if _, err := x.kv.Put(ctx, k, v); err != nil {
				x.o.Logf("index: put seq %d: %v", e.Seq, err)
				_ = m.NakWithDelay(time.Second)
				return
			}
		}
	}
	_ = m.Ack()
	if x.o.Lag != nil {
		x.o.Lag(md.NumPending)
	}
}
