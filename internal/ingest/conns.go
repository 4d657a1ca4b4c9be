package ingest

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// Connection cap. Every open connection holds a file handle, and so does every file of the
// embedded JetStream: when clients hold them all, JetStream fails a write ("too many open
// files"), which it treats as a critical error and then refuses every write to the stream (issue
// 13). So the ingest listener accepts at most MaxConnections at once (the others wait in the
// kernel's accept queue) and, under pressure, closes idle connections quickly, so that the cap is
// held by requests being answered rather than by idle keep-alives.
const (
	// DefaultPressureIdleTimeout is how long a connection may stay idle (between requests, or
	// before its first one) once the open connections reach PressureRatio of the cap.
	DefaultPressureIdleTimeout = time.Second
	// PressurePercent of MaxConnections open turns pressure on; below RelievedPercent it is off.
	PressurePercent = 80
	// RelievedPercent: see PressurePercent (a gap, so that pressure does not flap).
	RelievedPercent = 70
	// minReservedFiles are the file handles left to everything but the ingest connections (the
	// embedded JetStream's block and index files, its client connections, the admin listener,
	// logs) when the cap is derived from the file limit.
	minReservedFiles = 256
)

// DeriveMaxConnections is the connection cap for a process whose file limit (RLIMIT_NOFILE soft
// limit) is limit: limit - max(256, limit/4), leaving at least half of the limit for the rest. For
// example 1024 -> 768, 2048 -> 1536, 20000 -> 15000.
func DeriveMaxConnections(limit uint64) int {
	const ceiling = 1 << 20 // RLIM_INFINITY and other huge limits: nobody serves more than this
	if limit > ceiling {
		limit = ceiling
	}
	reserve := max(minReservedFiles, limit/4)
	if reserve > limit/2 {
		reserve = limit / 2
	}
	return max(int(limit-reserve), 1)
}

// connTracker follows the ingest connections through http.Server.ConnState: how many are open,
// and since when each idle one (between requests, or not yet sent its first) has been idle. Under
// pressure it closes those idle for longer than idleTimeout. (Not http.Server's
// SetKeepAlivesEnabled(false): it closes every idle connection at once, even one idle for a
// millisecond between two requests of a busy client.)
type connTracker struct {
	max         int
	idleTimeout time.Duration

	mu       sync.Mutex
	open     int
	pressure bool
	idle     map[net.Conn]time.Time // connections in StateNew or StateIdle, and since when
}

func newConnTracker(maxConns int, idleTimeout time.Duration) *connTracker {
	return &connTracker{max: maxConns, idleTimeout: idleTimeout, idle: map[net.Conn]time.Time{}}
}

// state is the http.Server.ConnState hook.
func (t *connTracker) state(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	switch st {
	case http.StateNew:
		t.open++
		t.idle[c] = time.Now()
	case http.StateIdle:
		t.idle[c] = time.Now()
	case http.StateActive:
		delete(t.idle, c)
	case http.StateClosed, http.StateHijacked:
		t.open--
		delete(t.idle, c)
	}
	t.updatePressureLocked()
	t.mu.Unlock()
}

// updatePressureLocked turns pressure on at PressurePercent of the cap and off below
// RelievedPercent.
func (t *connTracker) updatePressureLocked() {
	switch {
	case !t.pressure && t.open*100 >= t.max*PressurePercent:
		t.pressure = true
	case t.pressure && t.open*100 < t.max*RelievedPercent:
		t.pressure = false
	}
}

// Open is the number of open ingest connections.
func (t *connTracker) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open
}

// reap closes, while under pressure, the connections idle for longer than idleTimeout. A
// connection whose request arrives just as it is closed is cut; its client retries, as with any
// server closing an idle keep-alive.
func (t *connTracker) reap(now time.Time) int {
	t.mu.Lock()
	var stale []net.Conn
	if t.pressure {
		for c, since := range t.idle {
			if now.Sub(since) >= t.idleTimeout {
				stale = append(stale, c)
				delete(t.idle, c)
			}
		}
	}
	t.mu.Unlock()
	for _, c := range stale {
		_ = c.Close() // the server's goroutine sees the error and reports StateClosed
	}
	return len(stale)
}

// run reaps every quarter of idleTimeout until done is closed.
func (t *connTracker) run(done <-chan struct{}) {
	tick := time.NewTicker(max(t.idleTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			t.reap(now)
		}
	}
}

// limitListener caps ln at the tracker's max: Accept waits while that many are open.
func (t *connTracker) limitListener(ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, t.max)
}

// Connections reports the open ingest connections and their cap (for metrics).
func (s *Server) Connections() (open, limit int) { return s.conns.Open(), s.conns.max }
