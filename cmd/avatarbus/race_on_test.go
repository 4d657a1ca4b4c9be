//go:build race

package main

// raceEnabled: the tests run under the race detector, so the binary they build uses it too (and
// reuses the race-instrumented packages the test build already compiled).
const raceEnabled = true
