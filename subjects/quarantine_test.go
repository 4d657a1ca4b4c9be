package subjects_test

import (
	"errors"
	"testing"

	"github.com/avatarbus/avatarbus/subjects"
)

func TestQuarantine(t *testing.T) {
	got, err := subjects.Quarantine("avatar", "acme")
	if err != nil || got != "quarantine.avatar.acme" {
		t.Fatalf("Quarantine = %q, %v", got, err)
	}
	if s := subjects.QuarantineSubjects("avatar"); len(s) != 1 || s[0] != "quarantine.avatar.>" {
		t.Fatalf("QuarantineSubjects = %q", s)
	}
	// A quarantine subject never falls under the event stream's subjects.
	f := subjects.Filter{}
	if f.Match("avatar", got) {
		t.Fatalf("%s matches the event stream's filter", got)
	}
	for _, bad := range [][2]string{{"avatar", "a.b"}, {"avatar", ""}, {"av*", "acme"}, {"avatar", "x y"}} {
		if _, err := subjects.Quarantine(bad[0], bad[1]); !errors.Is(err, subjects.ErrInvalidToken) {
			t.Errorf("Quarantine(%q, %q) error = %v, want ErrInvalidToken", bad[0], bad[1], err)
		}
	}
}
