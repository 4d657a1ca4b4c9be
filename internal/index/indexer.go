package index

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
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
	// Busy, when set, says the process has more urgent work (serve: many webhook requests in
	// flight). While it says so the writer defers its batches, so that on a saturated machine
	// the index lags instead of taking CPU from ingest; it defers at most MaxDefer at a time, then
	// writes until it has caught up.
	Busy     func() bool
	MaxDefer time.Duration // default DefaultMaxDefer
	// Atomic writes each batch's keys as one JetStream atomic batch (the bucket's stream gets
	// allow_atomic): one fsync for the batch where the server fsyncs every write
	// (sync_interval: always), where plain puts pay one each. Where it does not, plain puts cost
	// the server less. serve sets it with nats.publish_mode batch.
	Atomic bool
}

// DefaultMaxDefer bounds how long the writer defers to a busy process before it indexes anyway.
const DefaultMaxDefer = 30 * time.Second

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
	putPrefix   string
	lastSeq     uint64 // the bucket's last sequence after the last batch; 0: unknown (writer only)
	batchN      uint64 // atomic batches sent (writer only), for unique batch ids
	batchPrefix string // this writer's batch id prefix, made at its first atomic batch
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
	if o.Atomic {
		if err := allowAtomic(ctx, js, "KV_"+o.Stream+BucketSuffix); err != nil {
			return nil, err
		}
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
	var stopPull context.CancelFunc
	var pulled chan struct{}
	stop := func() {
		if stopPull != nil {
			stopPull() // the batch being written is finished and acked
			<-pulled
			stopPull = nil
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
		case rev != 0 && stopPull == nil:
			x.lastSeq = 0 // another holder may have written since: read it again
			pctx, cancel := context.WithCancel(ctx)
			stopPull, pulled = cancel, make(chan struct{})
			go func() { defer close(pulled); x.pull(pctx) }()
		case rev == 0 && stopPull != nil:
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

// maxBatch bounds the events written together (up to 3 puts each).
const maxBatch = 256

// putTimeout bounds the wait for the bucket's ack of one batch.
const putTimeout = 10 * time.Second

// pullEvery paces the writer when it has caught up: it asks the durable for what is there, writes
// it, and asks again pullEvery after the last ask. Under load a batch is then everything stored in
// the last pullEvery (100 events at 4000/s), fetched, written and checked with one round trip
// each; a durable pushing every event as it is stored cost the writer and the server a wake-up,
// a delivery and a batch per event. An event becomes findable at most pullEvery later.
const pullEvery = 25 * time.Millisecond

// pull indexes batches until ctx ends: as many as are waiting, back to back, then one each
// pullEvery.
func (x *Indexer) pull(ctx context.Context) {
	wctx := context.WithoutCancel(ctx) // a batch fetched is written and acked even when stopping
	batch := make([]jetstream.Msg, 0, maxBatch)
	maxDefer := x.o.MaxDefer
	if maxDefer <= 0 {
		maxDefer = DefaultMaxDefer
	}
	var deferring time.Time // when the writer began to defer to a busy process; zero: not deferring
	catchingUp := false     // deferred for maxDefer: index until caught up, busy or not
	for {
		asked := time.Now()
		if x.o.Busy != nil && !catchingUp && x.o.Busy() {
			if deferring.IsZero() {
				deferring = asked
			}
			if asked.Sub(deferring) < maxDefer {
				select {
				case <-ctx.Done():
					return
				case <-time.After(pullEvery):
				}
				continue
			}
			catchingUp = true
		}
		deferring = time.Time{}
		b, err := x.cons.FetchNoWait(maxBatch)
		if err != nil {
			x.o.Logf("index: fetch: %v", err)
			asked = asked.Add(time.Second) // not one log line every pullEvery while NATS is away
		} else {
			batch = batch[:0]
			// A no-wait fetch has no expiry: a reply lost to a reconnect must not stall the
			// writer (what was not written is delivered again after the durable's AckWait).
			lost := time.NewTimer(putTimeout)
		collect:
			for {
				select {
				case m, ok := <-b.Messages():
					if !ok {
						break collect
					}
					batch = append(batch, m)
				case <-lost.C:
					x.o.Logf("index: fetch: no end of batch within %s", putTimeout)
					break collect
				}
			}
			lost.Stop()
			if len(batch) > 0 {
				x.writeBatch(wctx, batch)
			}
			if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
				x.o.Logf("index: fetch: %v", err)
			}
		}
		if len(batch) == maxBatch && ctx.Err() == nil {
			continue // behind: the next batch at once
		}
		catchingUp = false
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(asked.Add(pullEvery))):
		}
	}
}

// writeBatch stores the keys of every event of batch, then acks the events (or, when a put
// failed, asks for them again in a second: puts are idempotent, same key and value).
//
// The puts are plain NATS publishes to the bucket's subjects, what KeyValue.Put sends but without
// a reply subject, except the last of the batch, which asks for JetStream's ack. One connection's
// messages to one stream are stored in order, so that ack comes after all the others were handled,
// and its stream sequence tells whether they were all stored: it must be the bucket's last
// sequence before the batch plus the number of puts. The bucket has one writer, the lease holder;
// anything else (a put lost, another writer during a lease hand-over) fails the check and the
// batch is written again. An ack per put cost the server and the writer about a third more
// (BENCHMARKS.md#index).
func (x *Indexer) writeBatch(ctx context.Context, batch []jetstream.Msg) {
	type event struct {
		m    jetstream.Msg
		seq  uint64
		left uint64
		puts int
	}
	evs := make([]event, len(batch))
	var subjects []string
	var values [][]byte
	for i, m := range batch {
		ev := &evs[i]
		ev.m = m
		md, err := m.Metadata()
		if err != nil {
			continue // seq 0: not a JetStream message
		}
		ev.seq, ev.left = md.Sequence.Stream, md.NumPending
		e, ok := entryOf(ev.seq, m.Data())
		if !ok {
			continue // not an envelope: nothing to index, acked below
		}
		v, _ := json.Marshal(e)
		for _, k := range keysOf(e) {
			subjects = append(subjects, x.putPrefix+k)
			values = append(values, v)
			ev.puts++
		}
	}
	err := x.putAll(ctx, subjects, values)
	if err != nil {
		x.o.Logf("index: %d puts of %d events: %v", len(subjects), len(batch), err)
	}
	for _, ev := range evs {
		switch {
		case ev.seq == 0:
			_ = ev.m.Term()
		case err != nil && ev.puts > 0:
			_ = ev.m.NakWithDelay(time.Second)
		default:
			_ = ev.m.Ack()
		}
	}
	if x.o.Lag != nil {
		x.o.Lag(evs[len(evs)-1].left)
	}
}

// putAll publishes values to subjects, the last with a JetStream ack, and checks by the bucket's
// sequence that every put was stored (see writeBatch).
func (x *Indexer) putAll(ctx context.Context, subjects []string, values [][]byte) error {
	n := len(subjects)
	if n == 0 {
		return nil
	}
	if x.lastSeq == 0 {
		st, err := x.js.Stream(ctx, "KV_"+x.kv.Bucket())
		if err != nil {
			return fmt.Errorf("%w: bucket stream: %w", ErrIndex, err)
		}
		x.lastSeq = st.CachedInfo().State.LastSeq
	}
	nc := x.js.Conn()
	var batch nats.Header // Atomic: the batch headers, one map reused for each message
	if x.o.Atomic && n > 1 {
		x.batchN++
		// Batch ids are at most 64 characters (ADR-50): a random prefix of this writer, not the
		// holder's name, which holds a host name.
		if x.batchPrefix == "" {
			var b [6]byte
			_, _ = rand.Read(b[:])
			x.batchPrefix = "ix-" + hex.EncodeToString(b[:]) + "-"
		}
		batch = nats.Header{batchIDHeader: {x.batchPrefix + strconv.FormatUint(x.batchN, 10)}}
	}
	put := func(i int) *nats.Msg {
		m := &nats.Msg{Subject: subjects[i], Data: values[i]}
		if batch != nil {
			batch[batchSeqHeader] = []string{strconv.Itoa(i + 1)}
			if i == n-1 {
				batch[batchCommitHeader] = []string{"1"}
			}
			m.Header = batch
		}
		return m
	}
	for i := range n - 1 {
		if err := nc.PublishMsg(put(i)); err != nil {
			x.lastSeq = 0
			return fmt.Errorf("%w: put: %w", ErrIndex, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, putTimeout)
	defer cancel()
	ack, err := x.js.PublishMsg(pctx, put(n-1))
	if err != nil {
		x.lastSeq = 0 // unknown now: read it again before the next batch
		return fmt.Errorf("%w: put: %w", ErrIndex, err)
	}
	before := x.lastSeq
	x.lastSeq = ack.Sequence
	if ack.Sequence-before != uint64(n) {
		return fmt.Errorf("%w: %d puts moved the bucket from seq %d to %d", ErrIndex, n, before, ack.Sequence)
	}
	return nil
}

// Atomic batch headers (ADR-50; nats-server v2.15.2 server/stream.go JSBatchId, JSBatchSeq,
// JSBatchCommit; the same protocol as internal/broker/batch.go, CONFIRMED by its tests and by
// TestAtomicWriterBatchesPuts). The commit's ack carries the last message's sequence, so the
// check of putAll holds unchanged.
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// allowAtomic turns on atomic batch publish on stream, in place (never off: another instance may
// rely on it).
func allowAtomic(ctx context.Context, js jetstream.JetStream, stream string) error {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrIndex, stream, err)
	}
	cfg := st.CachedInfo().Config
	if cfg.AllowAtomicPublish {
		return nil
	}
	cfg.AllowAtomicPublish = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("%w: %s: allow atomic publish: %w", ErrIndex, stream, err)
	}
	return nil
}
