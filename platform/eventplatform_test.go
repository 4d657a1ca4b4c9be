package platform_test

import (
	"testing"

	"github.com/avatarbus/avatarbus/platform"
)

// TestEventPlatform: a source's events carry the preset's name for a named platform and the
// source's name for a generic preset, whatever the source is called.
func TestEventPlatform(t *testing.T) {
	for _, tc := range []struct{ preset, source, want string }{
		{"heygen", "heygen", "heygen"},
		{"heygen", "heygen-eu", "heygen"},
		{"elevenlabs", "voices", "elevenlabs"},
		{"standardwebhooks", "acme", "acme"},
		{"hmac", "crm", "crm"},
	} {
		p, ok := platform.Default().Lookup(tc.preset)
		if !ok {
			t.Fatalf("no preset %q", tc.preset)
		}
		if got := platform.EventPlatform(p, tc.source); got != tc.want {
			t.Errorf("EventPlatform(%s, %q) = %q, want %q", tc.preset, tc.source, got, tc.want)
		}
	}
}
