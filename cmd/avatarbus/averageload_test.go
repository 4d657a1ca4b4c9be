package main

import (
	"testing"
	"time"
)

// TestAverageLoad: the index writer's measure of ingest load is the time spent answering
// requests over the time passed, so a saturated tier reads as busy even at the instants when few
// requests happen to be in flight, and a quiet one does not.
func TestAverageLoad(t *testing.T) {
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var at time.Time
	var answering time.Duration
	l := &averageLoad{now: func() time.Time { return at }, answering: func() time.Duration { return answering }}
	at = start
	if got := l.sample(); got != 0 {
		t.Fatalf("first sample = %v, want 0 (nothing to compare with)", got)
	}
	steps := []struct {
		name      string
		passed    time.Duration
		answered  time.Duration // time spent answering in the interval, summed over requests
		want      float64
		wantAbove bool // at or above indexYieldInFlight
	}{
		{"5000 req/s at 0.7 ms", 25 * time.Millisecond, 125 * 700 * time.Microsecond, 3.5, false},
		{"idle", 25 * time.Millisecond, 0, 0, false},
		{"16000 req/s at 3.5 ms", 25 * time.Millisecond, 400 * 3500 * time.Microsecond, 56, true},
		{"exactly the threshold", time.Second, indexYieldInFlight * time.Second, indexYieldInFlight, true},
		{"no time passed", 0, time.Second, 0, false},
	}
	for _, s := range steps {
		at = at.Add(s.passed)
		answering += s.answered
		got := l.sample()
		if got < s.want-0.001 || got > s.want+0.001 {
			t.Errorf("%s: sample = %v, want %v", s.name, got, s.want)
		}
		if (got >= indexYieldInFlight) != s.wantAbove {
			t.Errorf("%s: %v in flight on average, busy = %v, want %v", s.name, got, got >= indexYieldInFlight, s.wantAbove)
		}
	}
}
