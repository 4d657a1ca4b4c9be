package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	return fmt.Sprintf("%s.%s.%d", kind, hash(value), seq)
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
type KV struct{ kv jetstream.KeyValue }

// Open opens the index bucket of stream for reading.
func Open(ctx context.Context, js jetstream.JetStream, stream string) (*KV, error) {
	kv, err := js.KeyValue(ctx, stream+BucketSuffix)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s%s: %w", ErrIndex, stream, BucketSuffix, err)
	}
	return &KV{kv: kv}, nil
}

// Lookup returns the entries whose event id, resource id or correlation id is key.
func (x *KV) Lookup(ctx context.Context, k string) ([]Entry, error) {
	if k == "" {
		return nil, nil
	}
	seen := map[uint64]bool{}
	var out []Entry
	for _, kind := range kinds {
		lister, err := x.kv.ListKeysFiltered(ctx, kind+"."+hash(k)+".>")
		if err != nil {
			return nil, fmt.Errorf("%w: list %s keys: %w", ErrIndex, kind, err)
		}
		for name := range lister.Keys() {
			e, err := x.kv.Get(ctx, name)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // expired between list and get
			}
			if err != nil {
				_ = lister.Stop()
				return nil, fmt.Errorf("%w: get %s: %w", ErrIndex, name, err)
			}
			var en Entry
			if err := json.Unmarshal(e.Value(), &en); err != nil {
				continue // not ours: skip rather than fail the lookup
			}
			if !seen[en.Seq] && matches(en, k) {
				seen[en.Seq] = true
				out = append(out, en)
			}
		}
	}
	Sort(out)
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
	for _, e := range first {
		for _, v := range []string{e.CorrelationID, e.ResourceID} {
			if v == "" || done[v] {
				continue
			}
			done[v] = true
			more, err := ix.Lookup(ctx, v)
			if err != nil {
				return nil, err
			}
			add(more)
		}
	}
	Sort(out)
	return out, nil
}

// entryOf reads what the index needs from a stored event (structured CloudEvents JSON).
func entryOf(seq uint64, data []byte) (Entry, bool) {
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
