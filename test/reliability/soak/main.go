// Command soak drives a sustained signed load through avatarbus and prints, every interval, the
// requests, errors, p50/p99 latency and memory, then checks that every event answered 2xx is in
// the stream exactly once. It runs avatarbus in-process (embedded JetStream in a temporary store,
// fsync every second: serve's defaults) unless -url points at a running one, and only ever talks
// to loopback addresses. It stops by itself after -duration (or on Ctrl-C).
//
//	go run ./reliability/soak -duration 2m -every 10s -workers 8
//	go run ./reliability/soak -url http://127.0.0.1:8080 -source acme -secret whsec_… -duration 10m
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/test/reliability"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, every time.Duration
	workers         int
	redeliver       int
	url             string
	source, secret  string
	syncInterval    time.Duration
	window          time.Duration
}

func run() error {
	var o options
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, "how long to run; soak stops by itself")
	flag.DurationVar(&o.every, "every", 10*time.Second, "print a line every interval")
	flag.IntVar(&o.workers, "workers", 8, "concurrent senders, each one event after the other")
	flag.IntVar(&o.redeliver, "redeliver", 20, "every n-th request of a worker re-sends its last event (0: never)")
	flag.StringVar(&o.url, "url", "", "base URL of a running avatarbus (loopback only); empty runs one in-process")
	flag.StringVar(&o.source, "source", "", "with -url: a Standard Webhooks source of that avatarbus")
	flag.StringVar(&o.secret, "secret", "", "with -url: the source's whsec_ secret (or AVATARBUS_SOAK_SECRET)")
	flag.DurationVar(&o.syncInterval, "sync-interval", time.Second, "in-process: the embedded server's fsync interval")
	flag.DurationVar(&o.window, "duplicate-window", time.Hour, "in-process: the stream's dedup window (its ids are held in memory)")
	flag.Parse()
	if o.duration <= 0 || o.every <= 0 || o.workers <= 0 {
		return errors.New("-duration, -every and -workers must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var st *reliability.Stack
	load := &reliability.Load{Prefix: fmt.Sprintf("soak-%d", time.Now().Unix()), Workers: o.workers, RedeliverEvery: o.redeliver}
	if o.url == "" {
		dir, err := os.MkdirTemp("", "avatarbus-soak-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
		st, err = reliability.Start(ctx, reliability.StackConfig{StoreDir: dir, SyncInterval: o.syncInterval, DuplicateWindow: o.window, Log: log})
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = st.Close(cctx)
		}()
		load.URL = st.URL
		fmt.Printf("avatarbus in-process at %s, embedded JetStream in %s (sync_interval %s, duplicate_window %s)\n", st.URL, dir, o.syncInterval, o.window)
	} else {
		if err := loopbackOnly(o.url); err != nil {
			return err
		}
		if o.secret == "" {
			o.secret = os.Getenv("AVATARBUS_SOAK_SECRET")
		}
		if o.source == "" || o.secret == "" {
			return errors.New("-url needs -source and -secret (or AVATARBUS_SOAK_SECRET)")
		}
		load.URL, load.Source, load.Secret = o.url, o.source, o.secret
		fmt.Printf("avatarbus at %s, source %s; memory columns are this process's (the client's)\n", o.url, o.source)
	}
	fmt.Printf("%d workers for %s, a line every %s\n\n", o.workers, o.duration, o.every)

	s := &stats{lastAccepted: map[int]int{}}
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		load.Run(lctx, s.record)
	}()
	fmt.Println(header)
	start := time.Now()
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
		case <-done:
			running = false
			if s.pending() == 0 { // the run ended on a tick: no empty last line
				continue
			}
		}
		fmt.Println(s.line(time.Since(start), streamMsgs(st)))
	}
	fmt.Println()
	fmt.Println(s.summary(time.Since(start)))
	if st == nil {
		return nil
	}
	return checkStream(st, load, s)
}

// loopbackOnly refuses a URL whose host is not a loopback address: soak is a load generator and
// must not be pointed at someone else's server.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", raw)
	}
	return nil
}

const header = "elapsed  requests   req/s    2xx  dup  errors  p50ms   p99ms   maxms  heapMiB  rssMiB  goroutines  stream"

// stats aggregates results: totals since the start, and the latencies of the current interval
// (only those: memory stays flat however long soak runs).
type stats struct {
	mu                          sync.Mutex
	requests, ok, dup, errs     int // totals
	iRequests, iOK, iDup, iErrs int // this interval
	lat                         []time.Duration
	lastLine                    time.Duration // elapsed at the previous line
	worstP99, worstMax          time.Duration
	peakHeap, peakRSS           float64
	// lastAccepted is each worker's highest accepted Seq: its accepted events are 0 to that (see
	// reliability.Result), so soak keeps one number a worker, not a set of ids that would weigh on
	// the heap it measures.
	lastAccepted map[int]int
	firstErr     string
}

func (s *stats) record(r reliability.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.iRequests++
	s.lat = append(s.lat, r.Latency())
	if !r.OK() {
		s.errs++
		s.iErrs++
		if s.firstErr == "" {
			s.firstErr = fmt.Sprintf("%s: status %d, %v", r.EventID, r.Status, r.Err)
		}
		return
	}
	s.ok++
	s.iOK++
	if last, ok := s.lastAccepted[r.Worker]; !ok || r.Seq > last {
		s.lastAccepted[r.Worker] = r.Seq
	}
	if r.Duplicate {
		s.dup++
		s.iDup++
	}
}

// pending is the number of requests of the current interval.
func (s *stats) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iRequests
}

// line returns the line of the interval that ends now, and starts the next interval.
func (s *stats) line(elapsed time.Duration, stream string) string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	heap, rss := float64(m.HeapInuse)/(1<<20), rssMiB()
	s.mu.Lock()
	defer s.mu.Unlock()
	lat, n := s.lat, s.iRequests
	p50, p99 := reliability.Percentile(lat, 50), reliability.Percentile(lat, 99) // sorts lat
	var maxLat time.Duration
	if len(lat) > 0 {
		maxLat = lat[len(lat)-1]
	}
	rate := float64(n) / max((elapsed-s.lastLine).Seconds(), 0.001)
	out := fmt.Sprintf("%6.0fs  %8d  %6.0f  %5d  %3d  %6d  %5.1f  %6.1f  %6.1f  %7.1f  %6.1f  %10d  %s",
		elapsed.Seconds(), n, rate, s.iOK, s.iDup, s.iErrs, ms(p50), ms(p99), ms(maxLat), heap, rss, runtime.NumGoroutine(), stream)
	s.worstP99, s.worstMax = max(s.worstP99, p99), max(s.worstMax, maxLat)
	s.peakHeap, s.peakRSS = max(s.peakHeap, heap), max(s.peakRSS, rss)
	s.lat, s.iRequests, s.iOK, s.iDup, s.iErrs, s.lastLine = lat[:0], 0, 0, 0, 0, elapsed
	return out
}

func (s *stats) summary(elapsed time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("total: %d requests in %s (%.0f/s), %d answered 2xx (%d duplicates), %d errors, %d events accepted; worst p99 %.1f ms, worst max %.1f ms; peak heap %.1f MiB, peak RSS %.1f MiB",
		s.requests, elapsed.Round(time.Second), float64(s.requests)/elapsed.Seconds(), s.ok, s.dup, s.errs, s.acceptedEvents(),
		ms(s.worstP99), ms(s.worstMax), s.peakHeap, s.peakRSS)
	if s.firstErr != "" {
		out += "\nfirst error: " + s.firstErr
	}
	return out
}

// acceptedEvents is the number of distinct events answered 2xx. The caller holds s.mu.
func (s *stats) acceptedEvents() int {
	n := 0
	for _, last := range s.lastAccepted {
		n += last + 1
	}
	return n
}

// checkStream reads the stream back: every event answered 2xx must be in it exactly once, and
// nothing else may be.
func checkStream(st *reliability.Stack, load *reliability.Load, s *stats) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ids, err := reliability.StreamIDs(ctx, st.Broker.JS, reliability.StreamName)
	if err != nil {
		return fmt.Errorf("read the stream back: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	missing, twice, msgs := 0, 0, 0
	for w, last := range s.lastAccepted {
		for seq := 0; seq <= last; seq++ {
			if ids[load.EventID(w, seq)] == 0 {
				missing++
			}
		}
	}
	for _, n := range ids {
		msgs += n
		if n > 1 {
			twice++
		}
	}
	accepted := s.acceptedEvents()
	fmt.Printf("stream: %d messages for %d accepted events; %d accepted events missing, %d stored more than once\n", msgs, accepted, missing, twice)
	if missing > 0 || twice > 0 || msgs < accepted {
		return errors.New("the stream does not hold every accepted event exactly once")
	}
	return nil
}

// streamMsgs is the stream's message count for the table ("-" against an external avatarbus).
func streamMsgs(st *reliability.Stack) string {
	if st == nil {
		return "-"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := st.Broker.JS.Stream(ctx, reliability.StreamName)
	if err != nil {
		return "?"
	}
	return strconv.FormatUint(s.CachedInfo().State.Msgs, 10)
}

// rssMiB is this process's resident set size from /proc (Linux); 0 elsewhere.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) >= 2 && string(f[0]) == "VmRSS:" {
			kb, _ := strconv.ParseFloat(string(f[1]), 64)
			return kb / 1024
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
