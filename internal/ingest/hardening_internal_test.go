package ingest

import "testing"

// TestUnverifiedBudgetDefaults: the budget of requests failing verification is the configured
// one, or a quarter of the source's limit, never a burst below 1.
func TestUnverifiedBudgetDefaults(t *testing.T) {
	t.Parallel()
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

// TestDefaultBodyBudget: an eighth of the memory limit, within 32MiB..128MiB, 128MiB when unknown;
// the machine running the test gets what its memory says.
func TestDefaultBodyBudget(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tt := range []struct{ limit, want int64 }{
		{0, 128 * mib},
		{128 * mib, 32 * mib},
		{512 * mib, 64 * mib},
		{768 * mib, 96 * mib},
		{4096 * mib, 128 * mib},
		{64 << 30, 128 * mib},
	} {
		if got := budgetFor(tt.limit); got != tt.want {
			t.Errorf("memory %d MiB: budget %d MiB, want %d MiB", tt.limit/mib, got/mib, tt.want/mib)
		}
	}
	limit := memoryLimit()
	if got := DefaultMaxBodyBytesInFlight(); got != budgetFor(limit) || got < MinDefaultBodyBytesInFlight || got > MaxDefaultBodyBytesInFlight {
		t.Errorf("this machine (memory limit %d): default budget %d", limit, got)
	}
	t.Logf("this machine: memory limit %d MiB, default body budget %d MiB", limit/mib, DefaultMaxBodyBytesInFlight()/mib)
}
