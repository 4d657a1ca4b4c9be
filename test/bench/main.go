// Command bench measures avatarbus side by side with the webhook bridge a user would write by hand,
// in one run, on one machine, against one nats-server process (see BENCHMARKS.md):
//
//	go run ./bench                       # full run, a markdown report on stdout
//	go run ./bench -duration 3s -conns 1,64 -e2e=false -broker=false   # a quick look
//
// It builds and starts, as separate processes: nats-server (JetStream, file storage, default
// settings), (a) bench/baseline (Echo → synchronous js.Publish of the raw body → 200), (b) the real
// `avatarbus serve` with a Standard Webhooks source (verification and normalization on), and (c)
// bench/ceiling (Echo reading the body, storing nothing). Each target publishes into a stream of its
// own. A closed-loop load generator in this process sends pre-signed ~1 KiB Standard Webhooks
// requests with unique webhook-ids over keep-alive connections, one http.Client per connection, at
// each connection count in turn, the targets interleaved. Then (d) `nats bench js pub sync|async`
// measures the broker alone, and an open-loop run at a fixed rate measures the latency from POST to
// a durable consumer receiving the event.
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
	flag.StringVar(&targets, "targets", "baseline,avatarbus,ceiling", "HTTP targets, in the order each cell runs them; add embedded for avatarbus on its own in-process nats-server")
	flag.BoolVar(&o.broker, "broker", true, "measure the broker alone with nats bench js pub sync/async")
	flag.IntVar(&o.brokerMsgs, "broker-msgs", 200000, "messages per nats bench run")
	flag.BoolVar(&o.e2e, "e2e", true, "measure POST → durable consumer latency at a fixed rate")
	flag.IntVar(&o.e2eRate, "e2e-rate", 1000, "requests per second of the end-to-end run")
	flag.DurationVar(&o.e2eDuration, "e2e-duration", 10*time.Second, "length of the end-to-end run")
	flag.StringVar(&o.workdir, "workdir", "", "where binaries, stores and logs go (default: a temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the workdir")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
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

	var ts []*target
	defer func() {
		for _, t := range ts {
			t.proc.stop()
		}
	}()
	for _, name := range o.targets {
		t, err := startTarget(ctx, name, dir, bins, natsURL, js)
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
		count := o.maxRate * int((o.warmup+o.duration)/time.Second+1)
		if c == 1 {
			count /= 4 // one connection is latency-bound far below max-rate
		}
		log.Printf("presigning %d requests for %d connections", count, c)
		reqs, err := presign(fmt.Sprintf("c%d", c), count, o.size, time.Now())
		if err != nil {
			return err
		}
		runtime.GC()
		for _, t := range ts {
			if err := t.purge(ctx, js); err != nil {
				return err
			}
			cell, err := measure(ctx, t, js, ns, c, reqs, o)
			if err != nil {
				return fmt.Errorf("%s at %d connections: %w", t.name, c, err)
			}
			log.Printf("%-9s %3d conns: %7.0f req/s  p50 %-8s p99 %-8s p99.9 %-8s target %5.1f µs/req  nats %5.1f µs/req  allocs %5.1f/req  non2xx %d errors %d",
				t.name, c, cell.rps, cell.p50, cell.p99, cell.p999, cell.targetCPU, cell.natsCPU, cell.allocs, cell.non2xx, cell.errors)
			rep.cells = append(rep.cells, cell)
		}
		reqs = nil
		runtime.GC()
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
			if rep.e2e, err = endToEnd(ctx, t, js, o); err != nil {
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
		"baseline":    "./bench/baseline",
		"ceiling":     "./bench/ceiling",
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
