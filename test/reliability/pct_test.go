package reliability_test

import (
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/test/reliability"
)

func TestPercentile(t *testing.T) {
	ds := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ds(7), 99, 7 * time.Millisecond},
		{ds(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ds(5, 1, 4, 2, 3), 100, 5 * time.Millisecond},
		{ds(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9 * time.Millisecond},
		{ds(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 99, 10 * time.Millisecond},
		{ds(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 1, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := reliability.Percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}
