package ingest

import (
	"sync"
	"sync/atomic"

	"github.com/avatarbus/avatarbus/subjects"
)

// maxCachedSubjects bounds the subject cache. The pairs of type and platform a configuration can
// produce are a few dozen; the bound only matters should a preset ever take its platform from
// the payload.
const maxCachedSubjects = 512

// subjectKey is what a subject is made of besides the server's prefix.
type subjectKey struct{ typ, platform string }

// subjectCache remembers the subjects subjects.For built, so that a stored request neither
// validates its type's tokens again nor allocates its subject. Readers load an immutable map
// without a lock; a miss copies it (rare: once per pair). Errors are not cached.
type subjectCache struct {
	prefix string
	m      atomic.Pointer[map[subjectKey]string]
	mu     sync.Mutex // serializes the copies
}

func newSubjectCache(prefix string) *subjectCache {
	c := &subjectCache{prefix: prefix}
	c.m.Store(&map[subjectKey]string{})
	return c
}

// For is subjects.For(prefix, typ, platform), cached.
func (c *subjectCache) For(typ, platform string) (string, error) {
	k := subjectKey{typ, platform}
	if s, ok := (*c.m.Load())[k]; ok {
		return s, nil
	}
	s, err := subjects.For(c.prefix, typ, platform)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if _, ok := old[k]; ok || len(old) >= maxCachedSubjects {
		return s, nil
	}
	next := make(map[subjectKey]string, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = s
	c.m.Store(&next)
	return s, nil
}
