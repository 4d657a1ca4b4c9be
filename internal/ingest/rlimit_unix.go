//go:build unix

package ingest

import "syscall"

// FileLimit is the process's soft limit on open files (RLIMIT_NOFILE), which the Go runtime has
// already raised to the hard limit at start where it could.
func FileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return uint64(lim.Cur), nil //nolint:unconvert // int64 on some platforms
}
