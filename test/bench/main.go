// Command bench measures avatarbus side by side with the webhook bridge a user would write by hand,
// in one run, on one machine, against one nats-server process (see BENCHMARKS.md):
//
//	go run ./test/bench                       # full run, a markdown report on stdout
//	go run ./test/bench -duration 3s -conns 1,64 -e2e=false -broker=false   # a quick look
//	go run ./test/bench -sync always -targets baseline,avatarbus,avatarbus-batch,embedded -conns 64,256 -runs 3
//	go run ./test/bench -targets baseline,avatarbus-noindex,baseline-dedup,avatarbus -conns 64 -loadgen both -runs 3 -max-rate 40000 -broker=false -e2e=false
//
// It builds and starts, as separate processes: nats-server (JetStream, file storage, default
// settings, or with -sync always an fsync before every ack), (a) test/bench/baseline (Echo →
// synchronous js.Publish of the raw body → 200), (b) the real `avatarbus serve` with a Standard
// Webhooks source (verification and normalization on; avatarbus-batch: the same in publish_mode
// batch; avatarbus-noindex: with index.enabled false), baseline-dedup (the bridge setting
// Nats-Msg-Id), and (c) test/bench/ceiling (Echo reading the body, storing nothing). Each target
// publishes into a stream of its own. A closed-loop load generator in this process sends
// pre-signed ~1 KiB Standard Webhooks requests with unique webhook-ids over keep-alive
// connections, one http.Client per connection, at each connection count in turn, the targets
// interleaved; with -loadgen wrk (or both) wrk sends such requests from files through a generated
// Lua script (wrk.go). Then (d) `nats bench js pub sync|async` measures the broker alone, and an
// open-loop run at a fixed rate measures the latency from POST to a durable consumer receiving
// the event.
package main

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
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// options are the harness flags.
type options struct {
	duration, warmup time.Duration
	conns            []int
	size             int
	maxRate          int
	targets          []string
	broker, e2e      bool
	e2eRate          int
	e2eDuration      time.Duration
	brokerMsgs       int
	workdir          string
	keep             bool
	out              string

	// Issue 17: the broker's fsync policy, the load generators, and repeated interleaved runs.
	sync       string   // "default" or "always"
	loadgens   []string // "go", "wrk"
	runs       int
	wrkThreads int
}

func main() {
	log.SetFlags(log.Ltime)
	var o options
	var conns, targets string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measurement window of each cell (target × connections)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each window")
	flag.StringVar(&conns, "conns", "1,16,64,256", "connection counts")
	flag.IntVar(&o.size, "size", 1024, "webhook body size in bytes")
	flag.IntVar(&o.maxRate, "max-rate", 40000, "highest expected req/s: sizes the set of pre-signed requests")
	flag.StringVar(&targets, "targets", "baseline,avatarbus,ceiling", "HTTP targets, in the order each cell runs them (known: "+knownTargets+"); embedded is avatarbus on its own in-process nats-server")
	flag.BoolVar(&o.broker, "broker", true, "measure the broker alone with nats bench js pub sync/async")
	flag.IntVar(&o.brokerMsgs, "broker-msgs", 200000, "messages per nats bench run")
	flag.BoolVar(&o.e2e, "e2e", true, "measure POST → durable consumer latency at a fixed rate")
	flag.IntVar(&o.e2eRate, "e2e-rate", 1000, "requests per second of the end-to-end run")
	flag.DurationVar(&o.e2eDuration, "e2e-duration", 10*time.Second, "length of the end-to-end run")
	flag.StringVar(&o.workdir, "workdir", "", "where binaries, stores and logs go (default: a temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the workdir")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	// Issue 17 flags.
	var loadgen string
	flag.StringVar(&o.sync, "sync", "default", "nats-server fsync policy: default (every 2 min) or always (fsync before every ack; embedded gets nats.embedded.sync_interval: always)")
	flag.StringVar(&loadgen, "loadgen", "go", "load generator: go (closed loop in this process), wrk, or both")
	flag.IntVar(&o.runs, "runs", 1, "interleaved runs of every cell; the ratios table shows each run")
	flag.IntVar(&o.wrkThreads, "wrk-threads", 2, "wrk threads (capped at the connection count)")
	flag.Parse()
	var err error
	if o.conns, err = parseInts(conns); err != nil {
		log.Fatalf("-conns: %v", err)
	}
	o.targets = strings.Split(targets, ",")
	if indexMode() { // -index: the index measurements (index.go) instead of the side-by-side run
		if err := runIndex(o); err != nil {
			log.Fatal(err)
		}
		return
	}
	if o.loadgens, err = parseIssue17Flags(&o, loadgen); err != nil {
		log.Fatal(err)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(o options) error {
	ctx := context.Background()
	dir := o.workdir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "avatarbus-bench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	log.Printf("workdir %s", dir)
	// Fresh stores: a stream left by an earlier run would answer its ids as duplicates.
	for _, store := range []string{"jetstream", "embedded-jetstream"} {
		if err := os.RemoveAll(filepath.Join(dir, store)); err != nil {
			return err
		}
	}

	bins, err := build(dir)
	if err != nil {
		return err
	}

	natsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(natsAddr, ":")
	ns, err := startNATSServer(dir, bins["nats-server"], host, port, o.sync)
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

	var ts []*target
	defer func() {
		for _, t := range ts {
			t.stop()
		}
	}()
	for _, name := range o.targets {
		t, err := startTarget(ctx, name, dir, bins, natsURL, js, o.sync)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}

	rep := &report{opts: o, started: time.Now()}
	rep.machine = machine()
	if out, err := exec.Command(bins["nats-server"], "--version").Output(); err == nil {
		rep.machine += ", " + strings.TrimSpace(string(out))
	}
	for _, c := range o.conns {
		for run := 1; run <= o.runs; run++ {
			for _, lg := range o.loadgens {
				if err := runCells(ctx, rep, ts, ns, dir, c, run, lg, o); err != nil {
					return err
				}
			}
		}
	}

	if o.broker {
		if rep.broker, err = brokerAlone(ctx, natsURL, ns, o); err != nil {
			return fmt.Errorf("broker alone: %w", err)
		}
	}
	if o.e2e {
		for _, t := range ts {
			if t.name != "avatarbus" {
				continue
			}
			if rep.e2e, err = endToEnd(ctx, t, o); err != nil {
				return fmt.Errorf("end to end: %w", err)
			}
		}
	}
	rep.finished = time.Now()
	text := rep.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil { //nolint:gosec // a report, not a secret
			return err
		}
	}
	return nil
}

// build compiles the processes the bench runs into dir and returns their paths by name. The natscli
// `nats` command is looked up on PATH and in GOPATH/bin, and installed (pinned) when missing.
func build(dir string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range map[string]string{
		"nats-server": "github.com/nats-io/nats-server/v2",
		"avatarbus":   "./cmd/avatarbus",
		"baseline":    "./test/bench/baseline",
		"ceiling":     "./test/bench/ceiling",
	} {
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

// natsCLI finds natscli, installing v0.5.0 with go install when it is missing.
func natsCLI() (string, error) {
	if p, err := exec.LookPath("nats"); err == nil {
		return p, nil
	}
	gobin := goBin()
	p := filepath.Join(gobin, "nats")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	log.Printf("installing natscli v0.5.0")
	cmd := exec.Command("go", "install", "github.com/nats-io/natscli/nats@v0.5.0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install natscli: %w", err)
	}
	return p, nil
}

func goBin() string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 0 && lines[0] != "" {
		return lines[0]
	}
	if len(lines) > 1 {
		return filepath.Join(strings.Split(lines[1], ":")[0], "bin")
	}
	return ""
}

// machine describes where the run happens, for the report.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %d GiB", (kb+(1<<19))>>20)
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s, Linux %s, %s", runtime.NumCPU(), cpu, mem, kernel, runtime.Version())
}

var errNoTarget = errors.New("unknown target")

// parseIssue17Flags checks -sync, -runs and -wrk-threads and returns the load generators of -loadgen.
func parseIssue17Flags(o *options, loadgen string) ([]string, error) {
	if o.sync != "default" && o.sync != "always" {
		return nil, fmt.Errorf("-sync %q: want default or always", o.sync)
	}
	if o.runs < 1 || o.wrkThreads < 1 {
		return nil, errors.New("-runs and -wrk-threads must be at least 1")
	}
	var loadgens []string
	switch loadgen {
	case "go", "wrk":
		loadgens = []string{loadgen}
	case "both":
		loadgens = []string{"go", "wrk"}
	default:
		return nil, fmt.Errorf("-loadgen %q: want go, wrk or both", loadgen)
	}
	if slices.Contains(loadgens, "wrk") {
		if _, err := wrkBinary(); err != nil { // before a long run, not after it
			return nil, err
		}
	}
	return loadgens, nil
}

// runCells measures every target at conns connections with load generator lg, for run number run:
// one set of pre-signed requests (ids unique to this run, generator and connection count, so no
// request of one cell is a duplicate in another), the targets one after the other.
func runCells(ctx context.Context, rep *report, ts []*target, ns *child, dir string, conns, run int, lg string, o options) error {
	count := o.maxRate * int((o.warmup+o.duration)/time.Second+1)
	if conns == 1 {
		count /= 4 // one connection is latency-bound far below max-rate
	}
	prefix := fmt.Sprintf("r%d%s%d", run, lg, conns)
	log.Printf("presigning %d requests for %d connections (%s, run %d)", count, conns, lg, run)
	reqs, err := presign(prefix, count, o.size, time.Now())
	if err != nil {
		return err
	}
	var set *wrkSet
	if lg == "wrk" {
		if set, err = writeWrkSet(dir, prefix, reqs, min(o.wrkThreads, conns)); err != nil {
			return err
		}
		defer set.remove()
	}
	runtime.GC()
	for _, t := range ts {
		if err := t.purge(ctx); err != nil {
			return err
		}
		var cell cell
		if set != nil {
			cell, err = measureWrk(ctx, t, ns, conns, set, o)
		} else {
			cell, err = measure(ctx, t, ns, conns, reqs, o)
		}
		if err != nil {
			return fmt.Errorf("%s at %d connections (%s, run %d): %w", t.name, conns, lg, run, err)
		}
		cell.run, cell.loadgen = run, lg
		log.Printf("%-15s %3d conns %-3s run %d: %7.0f req/s  p50 %-8s p99 %-8s p99.9 %-8s target %5.1f µs/req  nats %5.1f µs/req  CPU/stored %s  caught up in %s  allocs %5.1f/req  non2xx %d errors %d",
			t.name, conns, lg, run, cell.rps, cell.p50, cell.p99, cell.p999, cell.targetCPU, cell.natsCPU, perStored(cell), cell.drained.Round(time.Millisecond), cell.allocs, cell.non2xx, cell.errors)
		rep.cells = append(rep.cells, cell)
	}
	return nil
}
