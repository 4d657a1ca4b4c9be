// Package waitfor is the tests' one way to wait for something observable: poll a condition until
// it holds or a deadline passes. Tests use it instead of time.Sleep as synchronisation, so that
// they wait as long as needed on a loaded machine and no longer on a quiet one.
package waitfor

import (
	"testing"
	"time"
)

// Every is how often Cond polls: short next to any timeout the tests use, long enough that the
// polling itself costs nothing measurable.
const Every = 10 * time.Millisecond

// Cond polls cond until it holds, failing t with what after timeout. cond runs on the test's
// goroutine, so it may call t.Fatal itself.
func Cond(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
			return
		}
		time.Sleep(Every) // polling interval, not synchronisation
	}
}
