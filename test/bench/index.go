package main

// The index measurements of issue 16 point 6 (BENCHMARKS.md#index), run with -index:
//
//	go run ./test/bench -index ingest   # index on vs off: closed loop at 64 connections, interleaved; open loop at 5000 req/s
//	go run ./test/bench -index lookup   # 1M events indexed, then lookups by event, resource and correlation id
//	go run ./test/bench -index all
//
// Both run against one nats-server process started by the harness, like the side-by-side run.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/index"
)

// indexFlags are the flags of the index measurements.
var indexFlags struct {
	mode         string
	rounds       int
	conns        int
	maxRate      int
	rate         int
	openDuration time.Duration
	events, jobs int
	lookups      int
}

func init() {
	f := &indexFlags
	flag.StringVar(&f.mode, "index", "", "run the index measurements instead of the side-by-side run: ingest, lookup or all (BENCHMARKS.md#index)")
	flag.IntVar(&f.rounds, "index-rounds", 3, "-index ingest: closed-loop rounds, each one cell with the index on and one off (order alternating)")
	flag.IntVar(&f.conns, "index-conns", 64, "-index ingest: connections of the closed loop")
	flag.IntVar(&f.maxRate, "index-max-rate", 30000, "-index ingest: highest expected req/s of the closed loop: sizes the pre-signed requests")
	flag.IntVar(&f.rate, "index-rate", 5000, "-index ingest: requests per second of the open-loop run")
	flag.DurationVar(&f.openDuration, "index-open-duration", 20*time.Second, "-index ingest: length of the open-loop run")
	flag.IntVar(&f.events, "index-events", 1000000, "-index lookup: events stored and indexed")
	flag.IntVar(&f.jobs, "index-jobs", 200000, "-index lookup: jobs the events belong to (events/jobs events each; two jobs share a correlation id)")
	flag.IntVar(&f.lookups, "index-lookups", 1000, "-index lookup: random lookups of each kind")
}

// indexMode says whether -index asks for the index measurements.
func indexMode() bool { return indexFlags.mode != "" }

// runIndex runs the index measurements and prints their report.
func runIndex(o options) error {
	mode := indexFlags.mode
	if mode != "ingest" && mode != "lookup" && mode != "all" {
		return fmt.Errorf("-index %q: want ingest, lookup or all", mode)
	}
	ctx := context.Background()
	dir := o.workdir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "avatarbus-indexbench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	log.Printf("workdir %s", dir)
	if err := os.RemoveAll(filepath.Join(dir, "jetstream")); err != nil {
		return err
	}
	bins, err := buildOnly(dir, map[string]string{"nats-server": "github.com/nats-io/nats-server/v2", "avatarbus": "./cmd/avatarbus"})
	if err != nil {
		return err
	}
	natsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(natsAddr, ":")
	ns, err := startChild(dir, "nats-server", bins["nats-server"], "-a", host, "-p", port, "-js", "-sd", filepath.Join(dir, "jetstream"), "-n", "bench")
	if err != nil {
		return err
	}
	defer ns.stop()
	natsURL := "nats://" + natsAddr
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = waitTCP(wctx, natsAddr)
	cancel()
	if err != nil {
		return err
	}
	nc, err := nats.Connect(natsURL, nats.Name("bench-harness"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	rep := &indexReport{started: time.Now(), machine: machine()}
	if out, err := exec.Command(bins["nats-server"], "--version").Output(); err == nil {
		rep.machine += ", " + strings.TrimSpace(string(out))
	}
	if mode == "ingest" || mode == "all" {
		if rep.ingest, err = indexIngest(ctx, dir, bins, natsURL, js, ns, o); err != nil {
			return fmt.Errorf("index ingest: %w", err)
		}
	}
	if mode == "lookup" || mode == "all" {
		if rep.lookup, err = indexLookup(ctx, nc, js, ns); err != nil {
			return fmt.Errorf("index lookup: %w", err)
		}
	}
	rep.finished = time.Now()
	text := rep.markdown(o)
	fmt.Print(text)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(text), 0o644) //nolint:gosec // a report, not a secret
	}
	return nil
}

// buildOnly compiles the named packages into dir.
func buildOnly(dir string, pkgs map[string]string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range pkgs {
		out := filepath.Join(dir, name)
		log.Printf("building %s", pkg)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build %s: %w", pkg, err)
		}
		bins[name] = out
	}
	return bins, nil
}

// indexCell is one closed-loop cell of avatarbus with the index on or off, and for "on" the
// index's lag: its highest value in the window, at the window's end, and how long after the load
// stopped it took to come back to 0.
type indexCell struct {
	cell
	on                bool
	round             int
	lagMax, lagAtEnd  uint64
	drain             time.Duration // -1: did not drain within drainLimit
	indexed, inStream uint64
}

// drainLimit is how long the harness waits for the index to catch up after a run.
const drainLimit = 60 * time.Second

// openRun is the open-loop run at a fixed rate.
type openRun struct {
	on         bool
	rate       int
	sent       int
	failed     int
	late       int             // requests that left more than 10 ms after their scheduled time
	lat        []time.Duration // scheduled time → answer, sorted (open-loop latency)
	service    []time.Duration // POST → answer, sorted
	lags       []lagSample     // index lag over time, from the start of the load
	loadEnd    time.Duration   // when the load stopped, from its start
	drain      time.Duration   // from the end of the load to lag 0; -1: not within drainLimit
	indexedCPU float64         // for reference: µs of avatarbus CPU per request
	natsCPU    float64
}

type lagSample struct {
	at  time.Duration
	lag uint64
}

type ingestResult struct {
	cells []indexCell
	open  []openRun
}

// indexIngest measures avatarbus with the index on and off against the same nats-server, one
// avatarbus process at a time on a fresh stream and index, the two interleaved.
func indexIngest(ctx context.Context, dir string, bins map[string]string, natsURL string, js jetstream.JetStream, ns *child, o options) (*ingestResult, error) {
	f := indexFlags
	res := &ingestResult{}
	for r := range f.rounds {
		order := []bool{true, false}
		if r%2 == 1 {
			order = []bool{false, true}
		}
		for _, on := range order {
			c, err := indexClosedCell(ctx, dir, bins, natsURL, js, ns, o, on)
			if err != nil {
				return nil, err
			}
			c.round = r + 1
			res.cells = append(res.cells, c)
		}
	}
	for _, on := range []bool{false, true} {
		run, err := indexOpenRun(ctx, dir, bins, natsURL, js, ns, o, on)
		if err != nil {
			return nil, err
		}
		res.open = append(res.open, run)
	}
	return res, nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// resetAvatarbusStreams deletes what an avatarbus run left on the server: the event stream, the
// index bucket, the leases bucket, the attempts and quarantine streams.
func resetAvatarbusStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, s := range []string{avatarbusStream, avatarbusStream + "_ATTEMPTS", avatarbusStream + "_QUARANTINE"} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", s, err)
		}
	}
	for _, b := range []string{avatarbusStream + index.BucketSuffix, avatarbusStream + "_LEASES"} {
		if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", b, err)
		}
	}
	return nil
}

// startIndexTarget starts avatarbus with index.enabled = on on a fresh stream.
func startIndexTarget(ctx context.Context, dir string, bins map[string]string, natsURL string, js jetstream.JetStream, on bool) (*target, error) {
	if err := resetAvatarbusStreams(ctx, js); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	side, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name := "index-" + onOff(on)
	t := &target{name: name, url: "http://" + addr + "/webhooks/" + benchSource, stream: avatarbusStream, js: js, shared: true, admin: side}
	cfg := filepath.Join(dir, name+".yaml")
	yaml := avatarbusConfig(addr, side, fmt.Sprintf("url: %q", natsURL), avatarbusStream, avatarbusPrefix) + fmt.Sprintf("index: {enabled: %v}\n", on)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	if t.proc, err = startChild(dir, name, bins["avatarbus"], "serve", "--config", cfg); err != nil {
		return nil, err
	}
	t.mallocs = func() (uint64, error) { return mallocsPrometheus("http://" + side + "/metrics") }
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = waitTCP(wctx, addr)
	if err == nil {
		err = waitHTTP(wctx, "http://"+side+"/readyz")
	}
	if err != nil {
		t.proc.stop()
		return nil, fmt.Errorf("%s did not start (see %s): %w", name, t.proc.log, err)
	}
	return t, nil
}

// indexLag is what the index has still to write: the events its durable has not been given yet
// plus those given and not acked (= the stream's last seq − the consumer's ack floor).
func indexLag(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, avatarbusStream, index.Durable)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// lagSampler reads the index lag every 100 ms until stopped.
type lagSampler struct {
	start   time.Time
	mu      sync.Mutex
	samples []lagSample
	stop    chan struct{}
	done    chan struct{}
}

func sampleLag(ctx context.Context, js jetstream.JetStream) *lagSampler {
	s := &lagSampler{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if lag, err := indexLag(ctx, js); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, lagSample{at: time.Since(s.start), lag: lag})
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// waitZero waits until a sample taken after from reads 0 and returns how long after from that
// was, or -1 after drainLimit.
func (s *lagSampler) waitZero(from time.Duration) time.Duration {
	deadline := time.Now().Add(drainLimit)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, x := range s.samples {
			if x.at >= from && x.lag == 0 {
				s.mu.Unlock()
				return x.at - from
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}

func (s *lagSampler) finish() []lagSample {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// indexClosedCell runs one closed-loop cell (the harness's measure, with its stored-events check).
func indexClosedCell(ctx context.Context, dir string, bins map[string]string, natsURL string, js jetstream.JetStream, ns *child, o options, on bool) (indexCell, error) {
	f := indexFlags
	t, err := startIndexTarget(ctx, dir, bins, natsURL, js, on)
	if err != nil {
		return indexCell{}, err
	}
	defer t.proc.stop()
	count := f.maxRate * int((o.warmup+o.duration)/time.Second+1)
	reqs, err := presign(fmt.Sprintf("ix%s", onOff(on)), count, o.size, time.Now())
	if err != nil {
		return indexCell{}, err
	}
	runtime.GC()
	var lags *lagSampler
	if on {
		lags = sampleLag(ctx, js)
	}
	begin := time.Now()
	c, err := measure(ctx, t, ns, f.conns, reqs, o)
	if err != nil {
		if lags != nil {
			lags.finish()
		}
		return indexCell{}, fmt.Errorf("index %s: %w", onOff(on), err)
	}
	ic := indexCell{cell: c, on: on, drain: -1}
	if on {
		start, end := begin.Sub(lags.start)+o.warmup, begin.Sub(lags.start)+o.warmup+o.duration
		ic.drain = lags.waitZero(end)
		for _, x := range lags.finish() {
			if x.at >= start && x.at <= end {
				ic.lagMax = max(ic.lagMax, x.lag)
				ic.lagAtEnd = x.lag
			}
		}
		ic.indexed, ic.inStream, err = indexedCount(ctx, js)
		if err != nil {
			return indexCell{}, err
		}
	}
	log.Printf("index %-3s %d conns: %7.0f req/s  p50 %-8s p99 %-8s avatarbus %5.1f µs/req  nats %5.1f µs/req  lag max %d, at end %d, drained in %s",
		onOff(on), f.conns, c.rps, c.p50, c.p99, c.targetCPU, c.natsCPU, ic.lagMax, ic.lagAtEnd, ic.drain)
	return ic, nil
}

// indexedCount returns the events the index durable has acked and the events in the stream: the
// index must have every one.
func indexedCount(ctx context.Context, js jetstream.JetStream) (acked, stored uint64, err error) {
	c, err := js.Consumer(ctx, avatarbusStream, index.Durable)
	if err != nil {
		return 0, 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	s, err := js.Stream(ctx, avatarbusStream)
	if err != nil {
		return 0, 0, err
	}
	si, err := s.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.AckFloor.Stream, si.State.LastSeq, nil
}

// indexOpenRun posts f.rate requests a second for f.openDuration (open loop: each request leaves
// at its scheduled time, whatever the answers) and samples the index lag until it is back to 0.
func indexOpenRun(ctx context.Context, dir string, bins map[string]string, natsURL string, js jetstream.JetStream, ns *child, o options, on bool) (openRun, error) {
	f := indexFlags
	t, err := startIndexTarget(ctx, dir, bins, natsURL, js, on)
	if err != nil {
		return openRun{}, err
	}
	defer t.proc.stop()
	total := f.rate * int(f.openDuration/time.Second)
	reqs, err := presign("open"+onOff(on), total, o.size, time.Now())
	if err != nil {
		return openRun{}, err
	}
	runtime.GC()
	run := openRun{on: on, rate: f.rate, sent: total, drain: -1}
	var lags *lagSampler
	if on {
		lags = sampleLag(ctx, js)
	}
	cpu0, _ := t.proc.cpu()
	nats0, _ := ns.cpu()
	log.Printf("open loop, index %s: %d req/s for %s", onOff(on), f.rate, f.openDuration)
	const workers = 256
	jobs := make(chan int, total)
	lat := make([]time.Duration, total)     // from the request's scheduled time: queueing counts
	service := make([]time.Duration, total) // from when it was sent
	var failed, late atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	interval := time.Second / time.Duration(f.rate)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer c.CloseIdleConnections()
			for i := range jobs {
				due := begin.Add(time.Duration(i) * interval)
				start := time.Now()
				if start.Sub(due) > 10*time.Millisecond {
					late.Add(1) // every worker was busy: the machine did not keep the rate
				}
				status, err := post(c, t.url, &reqs[i])
				service[i] = time.Since(start)
				lat[i] = time.Since(due)
				if err != nil || status != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	for i := range total {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	cpu1, _ := t.proc.cpu()
	nats1, _ := ns.cpu()
	run.indexedCPU = float64((cpu1 - cpu0).Microseconds()) / float64(total)
	run.natsCPU = float64((nats1 - nats0).Microseconds()) / float64(total)
	run.failed, run.late = int(failed.Load()), int(late.Load())
	run.lat, run.service = lat, service
	slices.Sort(run.lat)
	slices.Sort(run.service)
	if on {
		run.loadEnd = time.Since(lags.start)
		run.drain = lags.waitZero(run.loadEnd)
		time.Sleep(time.Second) // a second of samples at rest
		run.lags = lags.finish()
		offset := begin.Sub(lags.start)
		for i := range run.lags {
			run.lags[i].at -= offset
		}
		run.loadEnd -= offset
		acked, stored, err := indexedCount(ctx, js)
		if err != nil {
			return openRun{}, err
		}
		if acked != stored {
			return openRun{}, fmt.Errorf("index acked %d of %d stored events after the open-loop run", acked, stored)
		}
	}
	log.Printf("open loop, index %s: scheduled→200 p50 %s p99 %s, POST→200 p50 %s p99 %s, %d failed, %d late; lag back to 0 %s after the load",
		onOff(on), percentile(run.lat, .5), percentile(run.lat, .99), percentile(run.service, .5), percentile(run.service, .99), run.failed, run.late, run.drain)
	return run, nil
}
