package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
)

// Group commit (nats.publish_mode: batch, docs/publish-modes.md).
//
// With fsync before every ack (sync_interval: always) a JetStream server pays one fsync per
// stored message, and that fsync, not the CPU, bounds the rate. An atomic batch is stored with one
// fsync for all its messages (nats-server v2.15.2 server/stream.go processJetStreamBatchMsg:
// coalesceSync, then fs.FlushAllPending before the one ack), so a BatchPublisher gathers the
// requests that arrive while one batch is in flight into the next atomic batch, and answers each
// request after its batch's ack. One batch is in flight at a time: the server commits one atomic
// batch of a stream at a time (it holds the stream's isolation lock), and two or four in flight
// measured slower (issue 17).
//
// The protocol (ADR-50 "JetStream Batch Publishing") is written here rather than taken from
// github.com/synadia-io/orbit.go/jetstreamext v0.4.0, whose PublishMsgBatch fits (per-message
// headers, the ack's sequence and count, API error codes) but requires nats.go v1.56.0 and moves
// eight other modules; what is used is three headers and one request. As nats-server v2.15.2
// implements it (server/stream.go processJetStreamBatchMsg, header names JSBatchId, JSBatchSeq,
// JSBatchCommit in server/stream.go), CONFIRMED by the tests in batch_test.go:
//   - every message carries Nats-Batch-Id (≤ 64 characters) and Nats-Batch-Sequence 1..n, no gap;
//     the last one also Nats-Batch-Commit: 1 and a reply subject. Messages before the commit are
//     staged, not stored; without a reply they are not answered.
//   - the commit's answer is a PubAck whose seq is the stream sequence of the LAST message and
//     whose "batch" and "count" name the batch; the batch is stored contiguously (the stream's
//     isolation lock is held from the first store to the ack), so message i has
//     seq - count + 1 + i.
//   - Nats-Msg-Id is allowed, but a batch in which any id is a duplicate (inside the batch or
//     of a stored message) is refused whole: err_code 10201 "atomic publish batch contains
//     duplicate message id" (server/jetstream_batching.go checkMsgHeadersPreClusteredProposal),
//     or 10158 "duplicate message id is in process". Then every event of the batch is published
//     on its own, so each request still learns stored or duplicate (fallbackCodes).
//   - at most 1000 messages a batch (streamDefaultMaxAtomicBatchSize), 50 open batches a stream;
//     a batch whose commit does not come within 10 s is abandoned (streamDefaultMaxBatchTimeout).

// Atomic batch headers (nats-server v2.15.2 server/stream.go JSBatchId, JSBatchSeq, JSBatchCommit).
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// API error codes of a refused batch whose events are then published one by one (nats-server
// v2.15.2 server/jetstream_errors_generated.go): a duplicate id, which the events' own publishes
// answer as duplicate; and a stream or server that takes no such batch (allow_atomic turned off
// by an operator, or a server before v2.12.1 that refuses Nats-Msg-Id in a batch), where the
// events are still stored, one fsync each.
var fallbackCodes = map[jetstream.ErrorCode]bool{
	10201: true, // JSAtomicPublishContainsDuplicateMessageErr
	10158: true, // JSStreamDuplicateMessageConflict, "duplicate message id is in process"
	10174: true, // JSAtomicPublishDisabledErr
	10177: true, // JSAtomicPublishUnsupportedHeaderBatchErr
}

// Bounds of a batch.
const (
	// MaxBatchMessages is the server's limit on the messages of an atomic batch (nats-server
	// v2.15.2 streamDefaultMaxAtomicBatchSize; jetstream.limits.max_batch_size can lower it).
	MaxBatchMessages = 1000
	// DefaultBatchMaxMessages: four times the 64 concurrent publishers of the measurements, well
	// below the server's limit.
	DefaultBatchMaxMessages = 256
	// DefaultBatchMaxBytes bounds the staged data of one batch (the server stages it in a store
	// of its own before the commit).
	DefaultBatchMaxBytes = 8 << 20
	// DefaultBatchMaxWait is the longest a batch waits for more requests, and only while it holds
	// fewer than the previous batch did: under steady load the next batch fills up to what the
	// last one had; a lone request is sent at once.
	DefaultBatchMaxWait = 500 * time.Microsecond
)

// errBatchNoAck: the commit of a batch was not answered in time while connected, which says
// the server could not store (see isStorageFailure).
var errBatchNoAck = errors.New("no ack for the atomic batch")

// errPublisherClosed answers requests that arrive or wait when the BatchPublisher is closed.
var errPublisherClosed = errors.New("publisher closed")

// BatchConfig bounds the batches of a BatchPublisher; zero fields take the defaults.
type BatchConfig struct {
	MaxMessages int           // at most MaxBatchMessages; 0 = DefaultBatchMaxMessages
	MaxBytes    int           // 0 = DefaultBatchMaxBytes
	MaxWait     time.Duration // 0 = DefaultBatchMaxWait; < 0 never waits
	// Timeout bounds the wait of a request, from Publish to its answer (queued, then its
	// batch's ack); 0 = DefaultPublishTimeout.
	Timeout time.Duration
}

func (c BatchConfig) withDefaults() BatchConfig {
	if c.MaxMessages <= 0 {
		c.MaxMessages = DefaultBatchMaxMessages
	}
	c.MaxMessages = min(c.MaxMessages, MaxBatchMessages)
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultBatchMaxBytes
	}
	switch {
	case c.MaxWait == 0:
		c.MaxWait = DefaultBatchMaxWait
	case c.MaxWait < 0:
		c.MaxWait = 0
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultPublishTimeout
	}
	return c
}

// BatchStats counts what a BatchPublisher did.
type BatchStats struct {
	Batches   int64 // atomic batches committed (a lone request is a plain publish: not counted)
	Messages  int64 // events stored or found duplicate
	Fallbacks int64 // refused batches (a duplicate id, no allow_atomic) whose events were then published one by one
}

// BatchPublisher publishes envelopes to one stream by group commit into atomic batches, with the
// contract of Publisher.Publish: it returns after the ack of its own event, with its own stream
// sequence, or an error wrapping ErrUnavailable.
type BatchPublisher struct {
	nc      *nats.Conn
	js      jetstream.JetStream // per-event publishes after a batch refused for a duplicate id
	stream  []string            // the Nats-Expected-Stream header value, shared by every message
	cfg     BatchConfig
	observe func(error) // as Publisher.observe

	queue     chan *batchReq
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	idPrefix string      // random per publisher, so batch ids never collide across processes
	batchN   uint64      // owned by run
	inFlight atomic.Bool // a batch is sent and its ack awaited (for tests)
	stats    struct{ batches, messages, fallbacks atomic.Int64 }
}

// States of a request: waiting in the queue or a forming batch; sent (its event may be stored);
// abandoned by its caller before it was sent (it never will be).
const (
	reqQueued int32 = iota
	reqSent
	reqAbandoned
)

type batchReq struct {
	msg   *nats.Msg
	size  int
	enq   time.Time
	state atomic.Int32
	done  chan batchResult // buffered: the answer never waits for its caller
}

type batchResult struct {
	ack Ack
	err error
}

func (r *batchReq) answer(ack Ack, err error) { r.done <- batchResult{ack, err} }

// NewBatchPublisher returns a BatchPublisher that stores into stream through nc, and starts its
// batching goroutine; Close stops it. The stream must allow atomic publish
// (StreamConfig.AtomicPublish).
func NewBatchPublisher(nc *nats.Conn, stream string, cfg BatchConfig) *BatchPublisher {
	return newBatchPublisher(nc, stream, cfg, nil)
}

// newBatchPublisher is NewBatchPublisher with the health observer, set before run starts.
func newBatchPublisher(nc *nats.Conn, stream string, cfg BatchConfig, observe func(error)) *BatchPublisher {
	cfg = cfg.withDefaults()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand)
	p := &BatchPublisher{
		nc: nc, stream: []string{stream}, cfg: cfg, observe: observe,
		queue:    make(chan *batchReq, DefaultMaxInFlight),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		idPrefix: hex.EncodeToString(rnd[:]) + "-",
	}
	// The fallback's own JetStream context, so that its ack timeout is the publish timeout.
	p.js, _ = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(DefaultMaxInFlight),
		jetstream.WithPublishAsyncTimeout(cfg.Timeout))
	go p.run()
	return p
}

// Stats returns the counts so far.
func (p *BatchPublisher) Stats() BatchStats {
	return BatchStats{Batches: p.stats.batches.Load(), Messages: p.stats.messages.Load(), Fallbacks: p.stats.fallbacks.Load()}
}

// Close stops the batching goroutine after the batch in flight; requests still queued are
// answered ErrUnavailable. It is safe to call more than once.
func (p *BatchPublisher) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
}

// Publish stores ev on subject with Nats-Msg-Id = ev.ID in the next atomic batch and waits for
// that batch's ack, at most until ctx ends or the publisher's timeout passes. It returns an error
// wrapping ErrUnavailable when the event was not acknowledged: when ctx ended before its batch
// was sent, the event is not published; otherwise it may or may not be in the stream, and a retry
// of the same event is deduplicated by its id.
func (p *BatchPublisher) Publish(ctx context.Context, subject string, ev *envelope.Event) (Ack, error) {
	r, err := p.request(subject, ev)
	if err != nil {
		return Ack{}, err
	}
	if !p.nc.IsConnected() {
		// Fail now rather than wait for the deadline: while reconnecting nothing can be stored.
		return Ack{}, fmt.Errorf("%w: %s", ErrUnavailable, p.nc.Status())
	}
	if err := ctx.Err(); err != nil {
		return Ack{}, fmt.Errorf("%w: not sent: %w", ErrUnavailable, err)
	}
	select {
	case p.queue <- r:
	default:
		// A full queue means JetStream has stopped answering: wait a little, not a whole timeout.
		t := time.NewTimer(p.cfg.Timeout / 4)
		defer t.Stop()
		select {
		case p.queue <- r:
		case <-t.C:
			return Ack{}, fmt.Errorf("%w: %d publishes waiting", ErrUnavailable, cap(p.queue))
		case <-ctx.Done():
			return Ack{}, fmt.Errorf("%w: not sent: %w", ErrUnavailable, ctx.Err())
		case <-p.stop:
			return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, errPublisherClosed)
		}
	}
	select {
	case res := <-r.done:
		return res.ack, res.err
	case <-ctx.Done():
		select { // answered at the same moment: the answer is the truth
		case res := <-r.done:
			return res.ack, res.err
		default:
		}
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return Ack{}, fmt.Errorf("%w: not sent: %w", ErrUnavailable, ctx.Err())
		}
		return Ack{}, fmt.Errorf("%w: no ack: %w", ErrUnavailable, ctx.Err())
	case <-p.done:
		select { // run answers every request it took before it returns
		case res := <-r.done:
			return res.ack, res.err
		default:
			return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, errPublisherClosed)
		}
	}
}

// request is ev as the message Publisher would send, waiting to be batched.
func (p *BatchPublisher) request(subject string, ev *envelope.Event) (*batchReq, error) {
	msg, err := eventMsg(subject, ev, p.stream)
	if err != nil {
		return nil, err
	}
	// size counts the batch headers too, roughly: MaxBytes is a bound, not an exact sum.
	return &batchReq{msg: msg, size: len(subject) + len(msg.Data) + len(ev.ID) + 160, enq: time.Now(), done: make(chan batchResult, 1)}, nil
}

// run forms and sends batches, one at a time, until Close.
func (p *BatchPublisher) run() {
	defer close(p.done)
	var (
		batch   = make([]*batchReq, 0, p.cfg.MaxMessages)
		carry   *batchReq // taken, but over the byte bound of the batch it came to
		last    int       // requests in the previous batch
		lingers = time.NewTimer(time.Hour)
	)
	lingers.Stop()
	defer func() {
		for _, r := range batch {
			r.answer(Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, errPublisherClosed))
		}
		if carry != nil {
			carry.answer(Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, errPublisherClosed))
		}
		for {
			select {
			case r := <-p.queue:
				r.answer(Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, errPublisherClosed))
			default:
				return
			}
		}
	}()
	for {
		batch = batch[:0]
		bytes := 0
		add := func(r *batchReq) bool { // false: the batch is full
			if len(batch) > 0 && bytes+r.size > p.cfg.MaxBytes {
				carry = r
				return false
			}
			batch, bytes = append(batch, r), bytes+r.size
			return len(batch) < p.cfg.MaxMessages && bytes < p.cfg.MaxBytes
		}
		open := true
		if carry != nil {
			r := carry
			carry = nil
			open = add(r)
		} else {
			select {
			case r := <-p.queue:
				open = add(r)
			case <-p.stop:
				return
			}
		}
		// What arrived while the previous batch was in flight.
	gather:
		for open {
			select {
			case r := <-p.queue:
				open = add(r)
			default:
				break gather
			}
		}
		// Under load, a little longer, for as many as the previous batch had.
		if open && len(batch) < last && p.cfg.MaxWait > 0 {
			lingers.Reset(p.cfg.MaxWait)
		linger:
			for open && len(batch) < last {
				select {
				case r := <-p.queue:
					open = add(r)
				case <-lingers.C:
					break linger
				case <-p.stop:
					return
				}
			}
			lingers.Stop()
		}
		last = len(batch)
		p.send(batch)
		clear(batch) // no request outlives its answer here
		batch = batch[:0]
	}
}

// send publishes the requests of batch that are still wanted and answers every one of them.
func (p *BatchPublisher) send(batch []*batchReq) {
	now := time.Now()
	live := batch[:0]
	for _, r := range batch {
		if now.Sub(r.enq) >= p.cfg.Timeout { // its caller was told nothing yet, but waited enough
			if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
				r.answer(Ack{}, fmt.Errorf("%w: not sent within %s", ErrUnavailable, p.cfg.Timeout))
			}
			continue
		}
		if r.state.CompareAndSwap(reqQueued, reqSent) { // else abandoned: dropped, never published
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	fail := func(err error) {
		for _, r := range live {
			r.answer(Ack{}, err)
		}
	}
	if !p.nc.IsConnected() {
		fail(fmt.Errorf("%w: %s", ErrUnavailable, p.nc.Status()))
		return
	}
	// The batch waits for its ack what its oldest request has left of the timeout, and at least a
	// quarter of it.
	wait := max(p.cfg.Timeout-now.Sub(live[0].enq), p.cfg.Timeout/4)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	var id string
	if len(live) > 1 {
		p.batchN++
		id = p.idPrefix + strconv.FormatUint(p.batchN, 10)
	}
	p.inFlight.Store(true)
	ack, err := p.commit(ctx, live, id)
	p.inFlight.Store(false)
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && len(live) > 1 && fallbackCodes[apiErr.ErrorCode]:
		p.stats.fallbacks.Add(1)
		p.oneByOne(live)
		return
	case err != nil:
		if p.observe != nil {
			p.observe(err)
		}
		fail(fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	if p.observe != nil {
		p.observe(nil)
	}
	if len(live) == 1 {
		p.stats.messages.Add(1)
		live[0].answer(Ack{Stream: ack.Stream, Seq: ack.Seq, Duplicate: ack.Duplicate}, nil)
		return
	}
	p.stats.batches.Add(1)
	p.stats.messages.Add(int64(len(live)))
	first := ack.Seq - ack.Count + 1
	for i, r := range live {
		r.answer(Ack{Stream: ack.Stream, Seq: first + uint64(i)}, nil)
	}
}

// batchAck is the server's answer to a publish or a batch commit: a PubAck, with "batch" and
// "count" for a batch (nats-server v2.15.2 server/stream.go), or an API error.
type batchAck struct {
	Error     *jetstream.APIError `json:"error,omitempty"`
	Stream    string              `json:"stream"`
	Seq       uint64              `json:"seq"`
	Duplicate bool                `json:"duplicate,omitempty"`
	Batch     string              `json:"batch,omitempty"`
	Count     uint64              `json:"count,omitempty"`
}

// commit sends live as one atomic batch named id (or, for a lone request, as a plain publish)
// and returns the server's ack.
func (p *BatchPublisher) commit(ctx context.Context, live []*batchReq, id string) (batchAck, error) {
	var resp *nats.Msg
	var err error
	if len(live) == 1 {
		// One message needs no batch, and a plain publish costs the server less (no staging store).
		resp, err = p.nc.RequestMsgWithContext(ctx, live[0].msg)
	} else {
		idv := []string{id}
		for i, r := range live {
			h := r.msg.Header
			h[batchIDHeader] = idv
			h[batchSeqHeader] = []string{strconv.Itoa(i + 1)}
			if i < len(live)-1 {
				if err = p.nc.PublishMsg(r.msg); err != nil {
					// Disconnected: the server abandons the uncommitted batch; nothing is stored.
					return batchAck{}, fmt.Errorf("batch message %d of %d: %w", i+1, len(live), err)
				}
				continue
			}
			h[batchCommitHeader] = commitOne
			resp, err = p.nc.RequestMsgWithContext(ctx, r.msg)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			return batchAck{}, fmt.Errorf("%w (%d messages): %w", errBatchNoAck, len(live), err)
		}
		return batchAck{}, err
	}
	var ack batchAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return batchAck{}, fmt.Errorf("%w: %w", jetstream.ErrInvalidJSAck, err)
	}
	if ack.Error != nil {
		return batchAck{}, ack.Error
	}
	if ack.Stream == "" || (len(live) > 1 && (ack.Batch != id || ack.Count != uint64(len(live)) || ack.Seq < ack.Count)) {
		return batchAck{}, fmt.Errorf("%w: %s", jetstream.ErrInvalidJSAck, resp.Data)
	}
	return ack, nil
}

var commitOne = []string{"1"}

// oneByOne publishes the events of a batch the server refused for a duplicate id one by one,
// pipelined, so that each request learns whether its event was stored or a duplicate.
func (p *BatchPublisher) oneByOne(live []*batchReq) {
	futures := make([]jetstream.PubAckFuture, len(live))
	for i, r := range live {
		h := r.msg.Header
		delete(h, batchIDHeader)
		delete(h, batchSeqHeader)
		delete(h, batchCommitHeader)
		f, err := p.js.PublishMsgAsync(r.msg, jetstream.WithStallWait(p.cfg.Timeout/4))
		if err != nil {
			r.answer(Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, err))
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			if p.observe != nil {
				p.observe(nil)
			}
			p.stats.messages.Add(1)
			live[i].answer(Ack{Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil)
		case err := <-f.Err():
			if p.observe != nil {
				p.observe(err)
			}
			live[i].answer(Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, err))
		}
	}
}
