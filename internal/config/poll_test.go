package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadPollYAML writes body to a file and loads it; it returns the config (nil on error), the
// warnings and the error.
func loadPollYAML(t *testing.T, body string) (*Config, []string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "avatarbus.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(LoadOptions{Path: path, Env: []string{"K=api-key-value-0123456789"}})
}

const pollSource = `
nats: {embedded: {auth: true}}
sources:
  - name: heygen
    platform: heygen
    secrets: ["${K}"]
`

func TestPollConfig(t *testing.T) {
	cases := []struct {
		name     string
		extra    string
		errs     []string // substrings of the error; none: valid
		warn     string   // a substring of one warning
		reconcil *Reconcile
		usage    *Usage
		stall    time.Duration
	}{
		{name: "off", extra: ``},
		{name: "defaults", extra: "    api: {key: \"${K}\"}\n    reconcile: {}\n    usage: {}\n",
			reconcil: &Reconcile{Every: DefaultReconcileEvery, Lookback: DefaultReconcileLookback},
			usage:    &Usage{Every: DefaultUsageEvery, Low: "10%"}, stall: 2 * time.Hour},
		{name: "explicit", extra: "    api: {key: \"${K}\"}\n    reconcile: {every: 2m, lookback: 72h}\n    usage: {every: 30m, low: 500}\n    stall_after: 3h\n",
			reconcil: &Reconcile{Every: Duration(2 * time.Minute), Lookback: Duration(72 * time.Hour)},
			usage:    &Usage{Every: Duration(30 * time.Minute), Low: "500"}, stall: 3 * time.Hour},
		{name: "seconds warn", extra: "    api: {key: \"${K}\"}\n    reconcile: {every: 1s, lookback: 1m}\n    usage: {every: 2s, low: \"25%\"}\n",
			reconcil: &Reconcile{Every: Duration(time.Second), Lookback: Duration(time.Minute)},
			usage:    &Usage{Every: Duration(2 * time.Second), Low: "25%"}, stall: 2 * time.Hour,
			warn: "reconcile.every 1s is under 1m"},
		{name: "no key", extra: "    reconcile: {}\n", errs: []string{"sources[0].api.key", "required with reconcile or usage"}},
		{name: "too short", extra: "    api: {key: \"${K}\"}\n    reconcile: {every: 500ms}\n    usage: {every: 100ms}\n",
			errs: []string{"sources[0].reconcile.every", "sources[0].usage.every"}},
		{name: "lookback under every", extra: "    api: {key: \"${K}\"}\n    reconcile: {every: 10m, lookback: 5m}\n",
			errs: []string{"sources[0].reconcile.lookback"}},
		{name: "bad low", extra: "    api: {key: \"${K}\"}\n    usage: {low: \"150%\"}\n", errs: []string{"sources[0].usage.low"}},
		{name: "low not a number", extra: "    api: {key: \"${K}\"}\n    usage: {low: lots}\n", errs: []string{"lots"}},
		{name: "stall without reconcile", extra: "    stall_after: 1h\n", errs: []string{"sources[0].stall_after", "needs reconcile"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, warnings, err := loadPollYAML(t, pollSource+tc.extra)
			if len(tc.errs) > 0 {
				wantAll(t, err, tc.errs...)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			s := c.Sources[0]
			if (s.Reconcile == nil) != (tc.reconcil == nil) || (s.Reconcile != nil && *s.Reconcile != *tc.reconcil) {
				t.Errorf("reconcile = %+v, want %+v", s.Reconcile, tc.reconcil)
			}
			if (s.Usage == nil) != (tc.usage == nil) || (s.Usage != nil && *s.Usage != *tc.usage) {
				t.Errorf("usage = %+v, want %+v", s.Usage, tc.usage)
			}
			if s.StallAfter.Std() != tc.stall {
				t.Errorf("stall_after = %s, want %s", s.StallAfter, tc.stall)
			}
			found := tc.warn == ""
			for _, w := range warnings {
				if tc.warn != "" && strings.Contains(w, tc.warn) {
					found = true
				}
				if tc.warn == "" && strings.Contains(w, "API budget") {
					t.Errorf("unexpected warning %q", w)
				}
			}
			if !found {
				t.Errorf("no warning containing %q in %q", tc.warn, warnings)
			}
		})
	}
}

func TestThresholdRoundTrip(t *testing.T) {
	for _, s := range []string{"10%", "12.5%", "500", "0"} {
		th, err := ParseThreshold(s)
		if err != nil || th.String() != s {
			t.Errorf("ParseThreshold(%q) = %v, %v; String = %q", s, th, err, th.String())
		}
	}
}
