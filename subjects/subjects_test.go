package subjects_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/envelope"

	"github.com/avatarbus/avatarbus/subjects"
)

func TestFor(t *testing.T) {
	tests := []struct {
		name, prefix, typ, platform string
		want                        string
		wantErr                     error
	}{
		{"video completed", "avatar", "avatar.video.completed", "heygen", "avatar.video.completed.heygen", nil},
		{"custom prefix", "acme", "avatar.video.completed", "heygen", "acme.video.completed.heygen", nil},
		{"unrecognized", "avatar", "avatar.unrecognized", "did", "avatar.unrecognized.did", nil},
		{"underscore type", "avatar", "avatar.conversation.transcript_ready", "tavus", "avatar.conversation.transcript_ready.tavus", nil},
		{"generic source name", "avatar", "avatar.account.credits_low", "acme-eu", "avatar.account.credits_low.acme-eu", nil},
		{"platform with dot", "avatar", "avatar.video.completed", "hey.gen", "", subjects.ErrInvalidToken},
		{"platform wildcard", "avatar", "avatar.video.completed", "*", "", subjects.ErrInvalidToken},
		{"platform full wildcard", "avatar", "avatar.video.completed", ">", "", subjects.ErrInvalidToken},
		{"platform space", "avatar", "avatar.video.completed", "hey gen", "", subjects.ErrInvalidToken},
		{"platform empty", "avatar", "avatar.video.completed", "", "", subjects.ErrInvalidToken},
		{"prefix with dot", "a.b", "avatar.video.completed", "heygen", "", subjects.ErrInvalidToken},
		{"type without root", "avatar", "video.completed", "heygen", "", subjects.ErrInvalidSubject},
		{"type with empty token", "avatar", "avatar..completed", "heygen", "", subjects.ErrInvalidToken},
		{"type with tab", "avatar", "avatar.video\t.completed", "heygen", "", subjects.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := subjects.For(tt.prefix, tt.typ, tt.platform)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("For(%q, %q, %q) error = %v, want %v", tt.prefix, tt.typ, tt.platform, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("For(%q, %q, %q) = %q, want %q", tt.prefix, tt.typ, tt.platform, got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		prefix, subject string
		typ, platform   string
		wantErr         error
	}{
		{"avatar", "avatar.video.completed.heygen", "avatar.video.completed", "heygen", nil},
		{"acme", "acme.video.failed.did", "avatar.video.failed", "did", nil},
		{"avatar", "avatar.unrecognized.tavus", "avatar.unrecognized", "tavus", nil},
		{"avatar", "avatar.heygen", "", "", subjects.ErrInvalidSubject},
		{"avatar", "other.video.completed.heygen", "", "", subjects.ErrInvalidSubject},
		{"avatar", "avatar.video.*.heygen", "", "", subjects.ErrInvalidSubject},
		{"avatar", "avatar.video..heygen", "", "", subjects.ErrInvalidSubject},
		{"avatar", "", "", "", subjects.ErrInvalidSubject},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			typ, platform, err := subjects.Parse(tt.prefix, tt.subject)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.subject, err, tt.wantErr)
			}
			if typ != tt.typ || platform != tt.platform {
				t.Fatalf("Parse(%q) = %q, %q; want %q, %q", tt.subject, typ, platform, tt.typ, tt.platform)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		f       subjects.Filter
		subject string
		match   []string
		nomatch []string
	}{
		{subjects.Filter{Type: "avatar.video.completed"}, "avatar.video.completed.*",
			[]string{"avatar.video.completed.heygen", "avatar.video.completed.did"},
			[]string{"avatar.video.failed.heygen"}},
		{subjects.Filter{Type: "avatar.video.completed", Platform: "heygen"}, "avatar.video.completed.heygen",
			[]string{"avatar.video.completed.heygen"}, []string{"avatar.video.completed.did"}},
		{subjects.Filter{Platform: "heygen"}, "avatar.>",
			[]string{"avatar.video.completed.heygen", "avatar.unrecognized.heygen"}, []string{"avatar.video.completed.did"}},
		{subjects.Filter{}, "avatar.>", []string{"avatar.unrecognized.did"}, []string{"other.x.y"}},
	}
	for _, tt := range tests {
		if got := tt.f.Subject("avatar"); got != tt.subject {
			t.Errorf("%+v.Subject() = %q, want %q", tt.f, got, tt.subject)
		}
		for _, s := range tt.match {
			if !tt.f.Match("avatar", s) {
				t.Errorf("%+v should match %q", tt.f, s)
			}
		}
		for _, s := range tt.nomatch {
			if tt.f.Match("avatar", s) {
				t.Errorf("%+v should not match %q", tt.f, s)
			}
		}
	}
}

func TestStreamSubjects(t *testing.T) {
	if got := subjects.StreamSubjects("avatar"); len(got) != 1 || got[0] != "avatar.>" {
		t.Fatalf("StreamSubjects = %v", got)
	}
}

func FuzzForParse(f *testing.F) {
	f.Add("avatar", "video.completed", "heygen")
	f.Add("acme", "unrecognized", "did")
	f.Add("a", "b.c.d", "e-f_g")
	f.Add("avatar", "video. completed", "x>")
	f.Fuzz(func(t *testing.T, prefix, rest, platform string) {
		typ := subjects.CanonicalRoot + "." + rest
		s, err := subjects.For(prefix, typ, platform)
		if err != nil {
			return
		}
		gotTyp, gotPlatform, err := subjects.Parse(prefix, s)
		if err != nil {
			t.Fatalf("Parse(For(%q,%q,%q)=%q) failed: %v", prefix, typ, platform, s, err)
		}
		if gotTyp != typ || gotPlatform != platform {
			t.Fatalf("round trip of %q/%q/%q gave %q/%q", prefix, typ, platform, gotTyp, gotPlatform)
		}
	})
}

func TestPlatformSubjects(t *testing.T) {
	got := subjects.PlatformSubjects("acme", "heygen")
	want := []string{"acme.*.heygen", "acme.*.*.heygen", "acme.*.*.*.heygen"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("PlatformSubjects = %v, want %v", got, want)
	}
	// Every subject For builds, up to MaxTypeDepth, is selected by exactly one of them; another
	// platform's is selected by none. Every canonical type is within MaxTypeDepth.
	for _, typ := range append(envelope.Types(), "avatar.a.b.c") {
		subj, err := subjects.For("acme", typ, "heygen")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := subjects.For("acme", typ, "tavus")
		n := 0
		for _, f := range got {
			if wildcardMatch(f, subj) {
				n++
			}
			if wildcardMatch(f, other) {
				t.Errorf("%s selects %s", f, other)
			}
		}
		if n != 1 {
			t.Errorf("%s is selected by %d of %v, want 1", subj, n, got)
		}
	}
}

// wildcardMatch is NATS subject matching for filters with '*' only.
func wildcardMatch(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	if len(f) != len(s) {
		return false
	}
	for i := range f {
		if f[i] != "*" && f[i] != s[i] {
			return false
		}
	}
	return true
}
