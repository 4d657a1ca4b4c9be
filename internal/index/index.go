package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
)

// BucketSuffix makes the index bucket's name from the event stream's: AVATAR_INDEX.
const BucketSuffix = "_INDEX"

// ErrIndex wraps every failure of the index.
var ErrIndex = errors.New("index")

// Entry is what the index records of one stored event.
type Entry struct {
	Seq           uint64    `json:"seq"`
	ID            string    `json:"id"`
	ResourceID    string    `json:"resourceid,omitempty"`
	CorrelationID string    `json:"correlationid,omitempty"`
	Platform      string    `json:"platform"`
	Type          string    `json:"type"`
	Time          time.Time `json:"time"`
}

// Index finds entries by event id, resource id or correlation id; entries are sorted by Time then Seq.
type Index interface {
	Lookup(ctx context.Context, key string) ([]Entry, error)
}

// The three kinds of keys. Each value is hashed into one token (ids may hold dots or characters
// KV keys refuse), and the stream seq ends the key, so that the entries of one value are listed
// with the filter <kind>.<hash>.> : a lookup costs the events of that job, not of the bucket.
var kinds = []string{"id", "res", "cor"}

func hash(v string) string {
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:16])
}

func key(kind, value string, seq uint64) string {
	return kind + "." + hash(value) + "." + strconv.FormatUint(seq, 10) // what Sprintf("%s.%s.%d") writes, without its reflection
}

// keysOf returns the keys e is stored under: one per non-empty value.
func keysOf(e Entry) []string {
	var out []string
	for i, v := range []string{e.ID, e.ResourceID, e.CorrelationID} {
		if v != "" {
			out = append(out, key(kinds[i], v, e.Seq))
		}
	}
	return out
}

// KV is an [Index] reading the bucket.
type KV struct {
	kv     jetstream.KeyValue
	st     jetstream.Stream // the bucket's stream, KV_<bucket>
	js     jetstream.JetStream
	stream string
}

// Open opens the index bucket of stream for reading.
func Open(ctx context.Context, js jetstream.JetStream, stream string) (*KV, error) {
	kv, err := js.KeyValue(ctx, stream+BucketSuffix)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s%s: %w", ErrIndex, stream, BucketSuffix, err)
	}
	st, err := js.Stream(ctx, "KV_"+stream+BucketSuffix)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s%s: %w", ErrIndex, stream, BucketSuffix, err)
	}
	return &KV{kv: kv, st: st, js: js, stream: stream}, nil
}

// IndexedThrough returns the stream sequence up to which every event is indexed: the ack floor
// of the writer's durable (an event is acked once its keys are stored).
func (x *KV) IndexedThrough(ctx context.Context) (uint64, error) {
	c, err := x.js.Consumer(ctx, x.stream, Durable)
	if err != nil {
		return 0, fmt.Errorf("%w: consumer %s: %w", ErrIndex, Durable, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: consumer %s: %w", ErrIndex, Durable, err)
	}
	return info.AckFloor.Stream, nil
}

// Lookup returns the entries whose event id, resource id or correlation id is key.
func (x *KV) Lookup(ctx context.Context, k string) ([]Entry, error) {
	return x.LookupAll(ctx, []string{k})
}

// getters bounds the reads of one lookup in flight at once.
const getters = 16

// LookupAll returns the entries whose event id, resource id or correlation id is any of keys,
// sorted. For each key it asks the bucket's stream which keys match <kind>.<hash>.* (the stream's
// subject index answers that from its subject tree, at the cost of the matches), then reads those
// keys directly, several at once. A KV watcher or key lister over the same filters creates a
// consumer that scans the stream's blocks: ~4-8 s per lookup with 1M events indexed
// (BENCHMARKS.md#index).
func (x *KV) LookupAll(ctx context.Context, keys []string) ([]Entry, error) {
	var want, names []string
	for _, k := range keys {
		if k == "" || slices.Contains(want, k) {
			continue
		}
		want = append(want, k)
		found, err := x.keysOf(ctx, k)
		if err != nil {
			return nil, err
		}
		names = append(names, found...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	entries := make([]*Entry, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(getters)
	for i, name := range names {
		g.Go(func() error {
			e, err := x.kv.Get(gctx, name)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return nil // expired between listing and reading
			}
			if err != nil {
				return fmt.Errorf("%w: get %s: %w", ErrIndex, name, err)
			}
			var en Entry
			if json.Unmarshal(e.Value(), &en) == nil { // not ours: skipped rather than failing the lookup
				entries[i] = &en
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	var out []Entry
	for _, en := range entries {
		if en != nil && !seen[en.Seq] && slices.ContainsFunc(want, func(k string) bool { return matches(*en, k) }) {
			seen[en.Seq] = true
			out = append(out, *en)
		}
	}
	Sort(out)
	return out, nil
}

// keysOf returns the bucket's keys of value k, of every kind: the subjects of the bucket's stream
// matching $KV.<bucket>.*.<hash>.* (the kind is one of three tokens, the seq the last).
func (x *KV) keysOf(ctx context.Context, k string) ([]string, error) {
	prefix := "$KV." + x.kv.Bucket() + "."
	info, err := x.st.Info(ctx, jetstream.WithSubjectFilter(prefix+"*."+hash(k)+".*"))
	if err != nil {
		return nil, fmt.Errorf("%w: keys of %q: %w", ErrIndex, k, err)
	}
	out := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		out = append(out, strings.TrimPrefix(subj, prefix))
	}
	return out, nil
}

// matches guards against a hash collision.
func matches(e Entry, k string) bool { return e.ID == k || e.ResourceID == k || e.CorrelationID == k }

// Sort orders entries by Time then Seq.
func Sort(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return compareU(a.Seq, b.Seq)
	})
}

func compareU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Timeline returns the job of key: the entries found by key, then those sharing their
// correlation or resource ids (one step, so that a lookup by event id shows the whole job).
func Timeline(ctx context.Context, ix Index, k string) ([]Entry, error) {
	first, err := ix.Lookup(ctx, k)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	done := map[string]bool{k: true}
	var out []Entry
	add := func(es []Entry) {
		for _, e := range es {
			if !seen[e.Seq] {
				seen[e.Seq] = true
				out = append(out, e)
			}
		}
	}
	add(first)
	var next []string
	for _, e := range first {
		for _, v := range []string{e.CorrelationID, e.ResourceID} {
			if v != "" && !done[v] {
				done[v] = true
				next = append(next, v)
			}
		}
	}
	if many, ok := ix.(interface {
		LookupAll(context.Context, []string) ([]Entry, error)
	}); ok && len(next) > 0 {
		more, err := many.LookupAll(ctx, next) // one read for the whole step
		if err != nil {
			return nil, err
		}
		add(more)
		next = nil
	}
	for _, v := range next {
		more, err := ix.Lookup(ctx, v)
		if err != nil {
			return nil, err
		}
		add(more)
	}
	Sort(out)
	return out, nil
}

// entryOfJSON is entryOf by encoding/json: the reference entryOf agrees with, and its fallback.
func entryOfJSON(seq uint64, data []byte) (Entry, bool) {
	var ev struct {
		ID            string    `json:"id"`
		Type          string    `json:"type"`
		Subject       string    `json:"subject"`
		Time          time.Time `json:"time"`
		Platform      string    `json:"platform"`
		CorrelationID string    `json:"correlationid"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || strings.TrimSpace(ev.ID) == "" {
		return Entry{}, false
	}
	return Entry{Seq: seq, ID: ev.ID, ResourceID: ev.Subject, CorrelationID: ev.CorrelationID,
		Platform: ev.Platform, Type: ev.Type, Time: ev.Time}, true
}
