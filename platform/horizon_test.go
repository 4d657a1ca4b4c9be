package platform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/platform"
)

// TestRetryHorizons: every preset states its retry horizon with a labelled source, and the
// documented figures are the ones of docs/platforms/*.md.
func TestRetryHorizons(t *testing.T) {
	want := map[string]time.Duration{
		"heygen":           24 * time.Hour,
		"standardwebhooks": 27*time.Hour + 35*time.Minute + 5*time.Second,
		"elevenlabs":       45 * time.Minute,
		"synthesia":        10 * time.Minute,
		"did":              0,
		"tavus":            0,
		"hmac":             0,
	}
	for _, p := range platform.Default().All() {
		t.Run(p.Name(), func(t *testing.T) {
			d, ok := want[p.Name()]
			if !ok {
				t.Fatalf("preset %s has no expected horizon in this test", p.Name())
			}
			h := platform.RetryHorizonOf(p)
			if h.Duration != d {
				t.Fatalf("horizon %s, want %s", h.Duration, d)
			}
			if p.Name() != "hmac" && !strings.HasPrefix(h.Source, "CONFIRMED") && !strings.HasPrefix(h.Source, "UNCONFIRMED") {
				t.Fatalf("source %q carries no status label", h.Source)
			}
		})
	}
}
