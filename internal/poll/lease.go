package poll

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaseKey is the one key of <stream>_LEASES: one poller per cluster, whatever the sources.
const leaseKey = "poller"

// randomHolder names this instance in the lease: host name (for operators reading the bucket)
// plus random bytes (two processes on one host differ).
func randomHolder() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	if host == "" {
		host = "avatarbus"
	}
	return host + "-" + hex.EncodeToString(b)
}

// lease holds <stream>_LEASES/poller: created when absent (the bucket's TTL removes the key of
// a holder that stopped renewing), renewed by compare-and-set on the revision this holder wrote,
// so that two instances never both believe they hold it.
type lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
	rev    uint64    // revision of our last write; 0 when not held
	until  time.Time // when our hold ends without renewal (local clock, conservative)
}

// renewEvery is how often the holder renews: a third of the TTL, at most a second.
func (l *lease) renewEvery() time.Duration { return min(l.ttl/3, time.Second) }

// tryEvery is how often the others try to take it: often enough that a successor starts soon
// after the key expires (a Create on an existing key is one small request).
func (l *lease) tryEvery() time.Duration { return min(l.ttl/8, 250*time.Millisecond) }

// tick tries to take or renew the lease when due and reports whether this instance holds it now.
func (l *lease) tick(ctx context.Context) bool {
	start := time.Now()
	if l.rev != 0 && start.Before(l.until.Add(-l.ttl+l.renewEvery())) {
		return true // renewed recently
	}
	if l.rev != 0 {
		rev, err := l.kv.Update(ctx, leaseKey, []byte(l.holder), l.rev)
		if err == nil {
			l.rev, l.until = rev, start.Add(l.ttl)
			return true
		}
		l.rev = 0 // lost (expired and taken, or not reachable): stop polling now
		return false
	}
	rev, err := l.kv.Create(ctx, leaseKey, []byte(l.holder))
	if err == nil {
		l.rev, l.until = rev, start.Add(l.ttl)
		return true
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		// Ours from before a restart of this instance (same holder name): take it back.
		if e, gerr := l.kv.Get(ctx, leaseKey); gerr == nil && string(e.Value()) == l.holder {
			if rev, err := l.kv.Update(ctx, leaseKey, []byte(l.holder), e.Revision()); err == nil {
				l.rev, l.until = rev, start.Add(l.ttl)
				return true
			}
		}
	}
	return false
}

// held reports whether the lease is held and not past its TTL on the local clock.
func (l *lease) held() bool { return l.rev != 0 && time.Now().Before(l.until) }

// release deletes the lease if held, so that a successor need not wait for the TTL.
func (l *lease) release(ctx context.Context) {
	if l.rev != 0 {
		_ = l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(l.rev))
		l.rev = 0
	}
}
