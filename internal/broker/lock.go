package broker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// LockFileName is the lock file in the store dir. It holds the pid of the process that holds it.
const LockFileName = "avatarbus.lock"

// ErrStoreLocked means another process holds the store dir: two embedded servers writing one
// JetStream store lose events (one's files overwrite the other's), so the second refuses to start.
var ErrStoreLocked = errors.New("store dir in use by another process")

// StoreLock is an exclusive flock on a store dir's lock file, held until Release (or the
// process's end: the kernel drops it, so a crash leaves no stale lock).
type StoreLock struct {
	f *os.File
}

// LockStore takes the exclusive lock of dir, creating dir and the lock file when needed, and
// writes the caller's pid into the file. It does not wait: when another process holds the lock
// the error wraps ErrStoreLocked and names that process's pid.
func LockStore(dir string) (*StoreLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store_dir: %w", err)
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// flock, not fcntl locks: fcntl locks belong to the process, so a second lock taken in the
	// same process (a test, a restart path) would succeed silently; flock locks belong to the
	// open file and conflict.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readPid(f)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by pid %s; stop it, or give this process its own nats.embedded.store_dir",
				ErrStoreLocked, dir, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: write pid: %w", path, err)
	}
	return &StoreLock{f: f}, nil
}

// readPid is the pid written in a lock file, or "unknown".
func readPid(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:n]))); err == nil && pid > 0 {
		return strconv.Itoa(pid)
	}
	return "unknown"
}

// Release drops the lock. The pid stays in the file: it only means something while locked.
// Releasing twice is harmless.
func (l *StoreLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor of the open file drops the flock
	l.f = nil
	return err
}
