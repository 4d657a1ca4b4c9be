package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/avatarbus/avatarbus/internal/metrics"
)

// ErrBusy: the bodies of the requests in flight hold the whole body budget
// (HTTPConfig.MaxBodyBytesInFlight) and no room came free within HTTPConfig.BodyWait. It is
// wrapped with ErrUnavailable: the answer is 503 with Retry-After.
var ErrBusy = errors.New("too many request body bytes in flight")

// Bounds of the body budget's default (see DefaultMaxBodyBytesInFlight).
const (
	// MinDefaultBodyBytesInFlight is the smallest default budget, for small machines.
	MinDefaultBodyBytesInFlight = 32 << 20
	// MaxDefaultBodyBytesInFlight is the largest default budget, for large machines: past it,
	// more bodies at once buy little and a burst of large ones still costs gigabytes. 128MiB holds
	// one ElevenLabs call recording at its max_body, or thousands of ordinary webhooks, and keeps
	// 600 slow 1 MiB senders under 400 MB of RSS growth (issue 13; `make attack`, slow-bodies).
	MaxDefaultBodyBytesInFlight = 128 << 20
	// FallbackBodyBytesInFlight is the default where the memory of the machine is unknown.
	FallbackBodyBytesInFlight = 128 << 20
	// DefaultBodyWait is how long a request waits for room in the body budget before its 503.
	DefaultBodyWait = time.Second
)

// growChunk is the first part of the budget a body of unknown length (chunked) takes, and the
// least it grows by; it grows by doubling, as append would.
const growChunk = 64 << 10

// DefaultMaxBodyBytesInFlight is the body budget when none is configured: an eighth of the
// memory avatarbus may use (the smaller of the machine's memory and the cgroup's memory.max),
// within [MinDefaultBodyBytesInFlight, MaxDefaultBodyBytesInFlight]; FallbackBodyBytesInFlight
// where neither can be read. An eighth, because the budget counts body bytes only: the pipeline
// makes copies of a body (the event, its JSON, the quarantine's copy), and the garbage collector
// lets the heap grow to twice what is live before it collects.
func DefaultMaxBodyBytesInFlight() int64 { return budgetFor(memoryLimit()) }

// budgetFor is the default body budget of a process that may use limit bytes (0: unknown).
func budgetFor(limit int64) int64 {
	if limit <= 0 {
		return FallbackBodyBytesInFlight
	}
	return min(max(limit/8, MinDefaultBodyBytesInFlight), MaxDefaultBodyBytesInFlight)
}

// memoryLimit is the memory this process may use in bytes: the smaller of MemTotal and the
// cgroup's limit (v2 memory.max, or v1 memory.limit_in_bytes), or 0 when none can be read.
func memoryLimit() int64 {
	var limit int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					limit = kb << 10
				}
				break
			}
		}
		f.Close()
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// "max" (v2) or a huge number (v1) mean no limit.
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err == nil && n > 0 && n < 1<<60 && (limit == 0 || n < limit) {
			limit = n
		}
		break
	}
	return limit
}

// bodyBudget bounds the bytes held by the bodies of the requests in flight, process-wide: a
// request takes its share before reading (its Content-Length) or as it reads (a body of unknown
// length) and gives it back when it is answered. Waiters are served first come, first served.
//
// Small bodies (a hold of at most smallBody bytes: nearly every webhook) also have a reserve of
// their own on top of size, which larger bodies never take: senders of large bodies that fill the
// budget and stall (600 slow 1 MiB senders) cannot make a genuine small webhook wait for them.
type bodyBudget struct {
	size  int64
	wait  time.Duration
	sem   *semaphore.Weighted // size: every body
	small *semaphore.Weighted // smallReserve(size): holds of at most smallBody bytes only
	held  atomic.Int64
}

// smallBody is the largest hold that may use the small-body reserve.
const smallBody = 64 << 10

// smallReserve is the reserve of small bodies beside a budget of size: an eighth of it, at least
// 1 MiB (sixteen 64 KiB bodies, thousands of ordinary webhooks).
func smallReserve(size int64) int64 { return max(size/8, 1<<20) }

func newBodyBudget(size int64, wait time.Duration) *bodyBudget {
	return &bodyBudget{size: size, wait: wait, sem: semaphore.NewWeighted(size), small: semaphore.NewWeighted(smallReserve(size))}
}

// Held is the number of body bytes the requests in flight hold now.
func (b *bodyBudget) Held() int64 { return b.held.Load() }

// bodyHold is the part of the budget one request holds. Its zero value holds nothing.
type bodyHold struct {
	b     *bodyBudget
	n     int64 // bytes held in all
	small int64 // of n, those from the small-body reserve
}

// grow takes n more bytes, waiting at most the budget's wait (less if ctx ends first). A hold
// that stays small takes from the budget when it has room at once, else from the small-body
// reserve (waiting there, where holds are short); a larger one waits for the budget. A failure
// wraps ErrBusy and ErrUnavailable; what the hold had is kept, for release.
func (h *bodyHold) grow(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	sem, small := h.b.sem, false
	if h.n+n <= smallBody && !h.b.sem.TryAcquire(n) {
		sem, small = h.b.small, true
	} else if h.n+n <= smallBody {
		sem = nil // acquired above
	}
	if sem != nil && !sem.TryAcquire(n) {
		ctx, cancel := context.WithTimeout(ctx, h.b.wait)
		defer cancel()
		if err := sem.Acquire(ctx, n); err != nil {
			return fmt.Errorf("%w: %w: %d bytes wanted, %d of %d held, none came free in %s", ErrUnavailable, ErrBusy,
				n, h.b.held.Load(), h.b.size, h.b.wait)
		}
	}
	h.b.held.Add(n)
	h.n += n
	if small {
		h.small += n
	}
	return nil
}

// release gives back all the hold has; it is safe to call on a zero hold and more than once.
func (h *bodyHold) release() {
	if h.b == nil || h.n == 0 {
		return
	}
	h.b.held.Add(-h.n)
	h.b.sem.Release(h.n - h.small)
	if h.small > 0 {
		h.b.small.Release(h.small)
	}
	h.n, h.small = 0, 0
}

// readBody reads the whole raw body, refusing more than limit bytes: early from Content-Length,
// otherwise as soon as the limit is crossed while reading. The bytes come from the server's body
// budget (see readAll); the caller releases the hold when it is done with the body. On error it
// returns what was read before it (to be counted, never used).
func (s *Server) readBody(c echo.Context, limit int64) ([]byte, bodyHold, error) {
	req := c.Request()
	hold := bodyHold{b: s.budget}
	if req.ContentLength > limit {
		return nil, hold, fmt.Errorf("%w: %d bytes, the limit is %d", ErrBodyTooLarge, req.ContentLength, limit)
	}
	body, err := readAll(req.Context(), http.MaxBytesReader(c.Response().Writer, req.Body, limit), req.ContentLength, limit, &hold)
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return body, hold, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
		case errors.Is(err, ErrBodyTooLarge), errors.Is(err, ErrBusy):
			return body, hold, err
		}
		return body, hold, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	return body, hold, nil
}

// readAll is io.ReadAll with the bytes charged to hold's budget: a size (the Content-Length, -1
// when unknown) is charged before the first byte is read and allocated at once, with one more
// byte to see the end; a body longer than announced, or of unknown length, is charged as it
// grows (doubling, as append would), so a chunked body cannot hold more than it was charged. It
// never charges more than limit. A body that would need more than the whole budget is refused
// (ErrBodyTooLarge); no room within the budget's wait is ErrBusy. On error it returns what was read.
func readAll(ctx context.Context, r io.Reader, size, limit int64, hold *bodyHold) ([]byte, error) {
	budget := hold.b.size
	if size > budget {
		return nil, overBudget(size, budget)
	}
	charge := min(growChunk, limit, budget)
	if size >= 0 {
		charge = min(size, limit)
	}
	if err := hold.grow(ctx, charge); err != nil {
		return nil, err
	}
	b := make([]byte, 0, charge+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return b, err
		}
		if len(b) < cap(b) {
			continue
		}
		// Full: more bytes are coming than were charged.
		if hold.n >= budget {
			return b, overBudget(hold.n+1, budget)
		}
		next := min(max(2*hold.n, hold.n+growChunk), budget)
		if hold.n < limit {
			next = min(next, limit) // the reader refuses the byte after limit; one spare byte sees it
		}
		if err := hold.grow(ctx, next-hold.n); err != nil {
			return b, err
		}
		grown := make([]byte, len(b), next+1)
		copy(grown, b)
		b = grown
	}
}

// overBudget is the error of a body larger than the whole budget: it can never be held, so it
// is refused as too large (413) rather than asked to retry.
func overBudget(n, budget int64) error {
	return fmt.Errorf("%w: %d bytes or more, more than all bodies in flight may hold together (http.max_body_bytes_in_flight: %d)",
		ErrBodyTooLarge, n, budget)
}

// newBodyBudget builds the server's body budget from h (defaults applied), says at start what it
// is, warns about sources whose max_body it cannot hold, and exports what it holds.
func (s *Server) newBodyBudget(h HTTPConfig, sources []Source, m *metrics.Metrics) *bodyBudget {
	b := newBodyBudget(h.MaxBodyBytesInFlight, h.BodyWait)
	s.log.Info().Int64("max_body_bytes_in_flight", b.size).Dur("body_wait", b.wait).Msg("body budget")
	for _, src := range sources {
		if src.MaxBody > b.size {
			s.log.Warn().Str("source", src.Name).Int64("max_body", src.MaxBody).Int64("max_body_bytes_in_flight", b.size).
				Msg("max_body exceeds the body budget: larger bodies are refused 413; raise http.max_body_bytes_in_flight")
		}
	}
	if m != nil {
		if err := m.WatchBodyBytes(b.Held, b.size); err != nil {
			s.log.Warn().Err(err).Msg("body budget gauge not registered")
		}
	}
	return b
}
