package waitfor_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// recorder is a testing.TB that records Fatalf instead of ending the goroutine.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestCond(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		trueFrom int // the call from which cond holds; 0 never
		timeout  time.Duration
		wantFail bool
		maxTook  time.Duration
	}{
		{name: "holds at once", trueFrom: 1, timeout: time.Second, maxTook: 5 * waitfor.Every},
		{name: "holds after a few polls", trueFrom: 4, timeout: time.Second, maxTook: 500 * time.Millisecond},
		{name: "never holds", trueFrom: 0, timeout: 100 * time.Millisecond, wantFail: true, maxTook: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			cond := func() bool {
				n := int(calls.Add(1))
				return tt.trueFrom > 0 && n >= tt.trueFrom
			}
			r := &recorder{TB: t}
			start := time.Now()
			waitfor.Cond(r, tt.timeout, cond, "the thing")
			took := time.Since(start)
			if (r.failed != "") != tt.wantFail {
				t.Fatalf("failed = %q, want failure %v", r.failed, tt.wantFail)
			}
			if tt.wantFail && (r.failed != "not within 100ms: the thing" || took < tt.timeout) {
				t.Fatalf("failed %q after %v, want the timeout and what after at least %v", r.failed, took, tt.timeout)
			}
			if !tt.wantFail && int(calls.Load()) != tt.trueFrom {
				t.Fatalf("cond called %d times, want %d (no call after it held)", calls.Load(), tt.trueFrom)
			}
			if took > tt.maxTook {
				t.Fatalf("took %v, want at most %v", took, tt.maxTook)
			}
		})
	}
}
