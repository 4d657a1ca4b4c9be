//go:build !unix

package ingest

import "errors"

// FileLimit is unknown off unix; the cap then derives from fallbackFileLimit.
func FileLimit() (uint64, error) { return 0, errors.New("no RLIMIT_NOFILE on this platform") }
