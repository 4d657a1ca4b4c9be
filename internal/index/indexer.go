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
	Lag      func(lag uint64) // called after each batch written with the events still to index; may be nil
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
	// putPrefix is the subject prefix of the bucket's keys, "$KV.<bucket>.": the indexer publishes
	// to it directly so that puts can be pipelined (KeyValue.Put waits for each ack).
	putPrefix string
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
	return &Indexer{js: js, o: o, kv: kv, leases: leases, cons: cons, holder: holderName(),
		putPrefix: "$KV." + kv.Bucket() + "."}, nil
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
	var writer chan jetstream.Msg
	var written chan struct{}
	stop := func() {
		if cc != nil {
			cc.Drain() // the messages already delivered still reach the writer, which acks them
			<-cc.Closed()
			close(writer)
			<-written
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
			writer, written = make(chan jetstream.Msg, maxBatch), make(chan struct{})
			in := writer
			var err error
			cc, err = x.cons.Consume(func(m jetstream.Msg) { in <- m })
			if err != nil {
				x.o.Logf("index: consume: %v", err)
				cc = nil
				break
			}
			go func() { defer close(written); x.write(in) }()
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

// maxBatch bounds the events written together: 3 keys each stay well under the client's
// default window of 4000 asynchronous publishes in flight.
const maxBatch = 256

// putTimeout bounds the wait for the KV stream's acks of one batch.
const putTimeout = 10 * time.Second

// write indexes the events of in until it is closed, in batches: whatever has arrived while the
// last batch was written (group commit). At a low rate a batch is one event, written at once;
// under load one round trip stores hundreds of keys. Synchronous puts, one round trip per key,
// kept up with ~8k events/s alone on 2 cores and fell behind under ingest load (BENCHMARKS.md#index).
func (x *Indexer) write(in <-chan jetstream.Msg) {
	batch := make([]jetstream.Msg, 0, maxBatch)
	for m := range in {
		batch = append(batch[:0], m)
	more:
		for len(batch) < maxBatch {
			select {
			case m, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		x.writeBatch(batch)
	}
}

// writeBatch puts the keys of every event of batch with asynchronous publishes to the bucket's
// subjects (what KeyValue.Put does, without waiting for each ack), then acks each event whose
// keys were all stored. An event with a failed put is not acked but redelivered after a second;
// the puts are idempotent (same key, same value), so writing its other keys again is harmless.
func (x *Indexer) writeBatch(batch []jetstream.Msg) {
	type pending struct {
		m    jetstream.Msg
		acks []jetstream.PubAckFuture
		seq  uint64
		left uint64
		err  error
	}
	ps := make([]pending, len(batch))
	for i, m := range batch {
		p := &ps[i]
		p.m = m
		md, err := m.Metadata()
		if err != nil {
			p.err = err
			continue
		}
		p.seq, p.left = md.Sequence.Stream, md.NumPending
		e, ok := entryOf(p.seq, m.Data())
		if !ok {
			continue // not an envelope: nothing to index, acked below
		}
		v, _ := json.Marshal(e)
		for _, k := range keysOf(e) {
			f, err := x.js.PublishAsync(x.putPrefix+k, v)
			if err != nil {
				p.err = err
				break
			}
			p.acks = append(p.acks, f)
		}
	}
	timeout := time.NewTimer(putTimeout)
	defer timeout.Stop()
	for i := range ps {
		p := &ps[i]
		for _, f := range p.acks {
			if p.err != nil {
				break
			}
			select {
			case <-f.Ok():
			case p.err = <-f.Err():
			case <-timeout.C:
				p.err = errPutTimeout
			}
		}
		switch {
		case p.seq == 0:
			_ = p.m.Term() // no metadata: not a JetStream message
		case p.err != nil:
			x.o.Logf("index: put seq %d: %v", p.seq, p.err)
			_ = p.m.NakWithDelay(time.Second)
		default:
			_ = p.m.Ack()
		}
	}
	if x.o.Lag != nil {
		x.o.Lag(ps[len(ps)-1].left)
	}
}

var errPutTimeout = fmt.Errorf("%w: no ack from the index bucket within %s", ErrIndex, putTimeout)
