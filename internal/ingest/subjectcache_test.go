package ingest

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/avatarbus/avatarbus/subjects"
)

// TestSubjectCacheAgreesWithFor: the cache answers what subjects.For answers, the second time
// from the cache, and never caches an error (an invalid type fails every time).
func TestSubjectCacheAgreesWithFor(t *testing.T) {
	c := newSubjectCache("avatar")
	for _, tt := range []struct{ typ, platform string }{
		{"avatar.video.completed", "heygen"},
		{"avatar.video.completed", "tavus"},
		{"avatar.video.failed", "heygen"},
		{"avatar.unrecognized", "acme"},
		{"avatar.video.completed", "bad platform"},
		{"video.completed", "heygen"},
		{"avatar.video..completed", "heygen"},
		{"avatar.video.*", "heygen"},
	} {
		want, wantErr := subjects.For("avatar", tt.typ, tt.platform)
		for round := range 3 {
			got, err := c.For(tt.typ, tt.platform)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Fatalf("%+v round %d: %q, %v; subjects.For says %q, %v", tt, round, got, err, want, wantErr)
			}
			if err != nil && !errors.Is(err, subjects.ErrInvalidSubject) && !errors.Is(err, subjects.ErrInvalidToken) {
				t.Fatalf("%+v: error %v wraps neither sentinel", tt, err)
			}
		}
		_, cached := (*c.m.Load())[subjectKey{tt.typ, tt.platform}]
		if cached != (wantErr == nil) {
			t.Fatalf("%+v: cached %v, but the subject is valid: %v", tt, cached, wantErr == nil)
		}
	}
}

// TestSubjectCacheIsBounded: past maxCachedSubjects pairs the cache stops growing and still
// answers right, also under concurrent use (run with -race).
func TestSubjectCacheIsBounded(t *testing.T) {
	c := newSubjectCache("avatar")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range maxCachedSubjects + 100 {
				p := "p" + strconv.Itoa(i)
				got, err := c.For("avatar.video.completed", p)
				if want := "avatar.video.completed." + p; err != nil || got != want {
					t.Errorf("goroutine %d: %q, %v, want %q", g, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(*c.m.Load()); n != maxCachedSubjects {
		t.Fatalf("%d subjects cached, want the bound %d", n, maxCachedSubjects)
	}
}
