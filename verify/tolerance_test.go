package verify

import (
	"testing"
	"time"
)

func TestEffectiveTolerance(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{Scheme: "standardwebhooks"}, 5 * time.Minute},
		{Config{Scheme: "standardwebhooks", Tolerance: time.Minute}, time.Minute},
		{Config{Scheme: "elevenlabs"}, 30 * time.Minute},
		{Config{Scheme: "synthesia"}, 10 * time.Minute},
		{Config{Scheme: "hmac"}, 0},
		{Config{Scheme: "hmac", Tolerance: time.Hour}, 0},
		{Config{Scheme: "hmac", TimestampHeader: "X-Ts"}, 5 * time.Minute},
		{Config{Scheme: "hmac", TimestampHeader: "X-Ts", Tolerance: time.Hour}, time.Hour},
		{Config{Scheme: "token", Tolerance: time.Hour}, 0},
		{Config{Scheme: "none"}, 0},
		{Config{Scheme: "unknown"}, 0},
	} {
		if got := EffectiveTolerance(c.cfg); got != c.want {
			t.Errorf("EffectiveTolerance(%+v) = %v, want %v", c.cfg, got, c.want)
		}
	}
}
