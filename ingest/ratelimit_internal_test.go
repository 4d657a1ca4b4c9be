package ingest

import "testing"

// TestUnverifiedBudgetDefaults: the budget of requests failing verification is the configured
// one, or a quarter of the source's limit, never a burst below 1.
func TestUnverifiedBudgetDefaults(t *testing.T) {
	for _, tt := range []struct {
		limit RateLimit
		rps   float64
		burst int
	}{
		{RateLimit{RPS: 2, Burst: 4}, 0.5, 1},
		{RateLimit{RPS: 100, Burst: 200}, 25, 50},
		{RateLimit{RPS: 0.5, Burst: 1}, 0.125, 1},
		{RateLimit{RPS: 100, Burst: 200, UnverifiedRPS: 3, UnverifiedBurst: 7}, 3, 7},
		{RateLimit{RPS: 100, Burst: 200, UnverifiedBurst: 7}, 25, 7},
	} {
		if rps, burst := tt.limit.unverified(); rps != tt.rps || burst != tt.burst {
			t.Errorf("%+v: unverified %v/s burst %d, want %v/s burst %d", tt.limit, rps, burst, tt.rps, tt.burst)
		}
	}
}
