package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/verify"
)

// TestNATSServerConfigSync: the configuration the harness writes is read by nats-server (the same
// version the harness builds) as an fsync before every ack with -sync always, and as the default
// otherwise.
func TestNATSServerConfigSync(t *testing.T) {
	for _, tc := range []struct {
		sync   string
		always bool
	}{{"always", true}, {"default", false}} {
		t.Run(tc.sync, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "nats.conf")
			store := filepath.Join(dir, "js")
			if err := os.WriteFile(conf, []byte(natsServerConfig("127.0.0.1:4999", store, tc.sync)), 0o600); err != nil {
				t.Fatal(err)
			}
			opts, err := server.ProcessConfigFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			if opts.SyncAlways != tc.always || !opts.JetStream || opts.StoreDir != store || opts.Port != 4999 {
				t.Fatalf("SyncAlways %v JetStream %v StoreDir %q Port %d", opts.SyncAlways, opts.JetStream, opts.StoreDir, opts.Port)
			}
		})
	}
}

// TestAvatarbusConfigsLoad: the configuration of each avatarbus target is one avatarbus accepts,
// with the shared server's URL or an embedded server fsyncing as -sync asks. The batch target's is
// accepted too where the config has nats.publish_mode, and otherwise refused for that key alone
// (the harness then says so: TestRefusedBatchConfigSaysWhy).
func TestAvatarbusConfigsLoad(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, nats string
		check      func(*config.Config) bool
		extra      string
	}{
		{"avatarbus", `url: "nats://127.0.0.1:4222"`, func(c *config.Config) bool {
			return c.NATS.URL == "nats://127.0.0.1:4222" && c.Index.Enabled && time.Duration(c.Stream.DuplicateWindow) == benchDupWindow
		}, ""},
		{"avatarbus-noindex", `url: "nats://127.0.0.1:4222"`, func(c *config.Config) bool { return !c.Index.Enabled }, noIndexConfig},
		{"embedded-always", `embedded: {listen: "127.0.0.1:4999", store_dir: "` + dir + `", avatarbus_password: "` + embeddedPassword +
			`", consumer_password: "` + embeddedConsumerPassword + `", sync_interval: always}`,
			func(c *config.Config) bool { return c.NATS.Embedded.SyncInterval == "always" }, ""},
		{"avatarbus-batch", `url: "nats://127.0.0.1:4222", publish_mode: batch`, func(c *config.Config) bool { return true }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(avatarbusConfig("127.0.0.1:1", "127.0.0.1:2", tc.nats, batchStream, batchPrefix)+tc.extra), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := config.Load(config.LoadOptions{Path: path, Env: []string{}})
			if tc.name == "avatarbus-batch" && err != nil && strings.Contains(err.Error(), "publish_mode") {
				t.Logf("this tree has no nats.publish_mode yet: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) || cfg.Stream.Name != batchStream || len(cfg.Sources) != 1 {
				t.Fatalf("config %+v", cfg.NATS)
			}
		})
	}
}

// TestRefusedBatchConfigSaysWhy: an avatarbus-batch target whose serve exits at once, refusing
// the key, fails the start at once with a message naming the batch mode and the log.
func TestRefusedBatchConfigSaysWhy(t *testing.T) {
	dir := t.TempDir()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	proc, err := startChild(dir, "avatarbus-batch", sh, "-c", `echo 'config: nats.publish_mode: unknown key'; exit 1`)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{name: "avatarbus-batch", proc: proc, admin: addr}
	start := time.Now()
	err = tg.waitReady(context.Background(), addr, addr)
	if !errors.Is(err, errTargetExited) || !strings.Contains(err.Error(), "publish_mode: batch") ||
		!strings.Contains(err.Error(), "unknown key") || time.Since(start) > 10*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// TestCPUPerStoredEvent: CPU per stored event counts the nats-server's CPU for a target that stores
// on it and not for one with its own server, and is unknown for one that stores nothing.
func TestCPUPerStoredEvent(t *testing.T) {
	q0 := snapshot{target: time.Second, nats: 2 * time.Second, stored: 100}
	q1 := snapshot{target: 3 * time.Second, nats: 3 * time.Second, stored: 1100}
	for _, tc := range []struct {
		t    target
		want float64
	}{
		{target{stream: "S", shared: true}, 3000}, // (2 s + 1 s) / 1000 events
		{target{stream: "S"}, 2000},               // embedded: its own process only
		{target{}, -1},                            // ceiling
	} {
		var c cell
		c.fill(&tc.t, q0, q1, 1500)
		c.perStored(&tc.t, q0, q1)
		if c.cpuPerStored != tc.want || c.targetCPU != 2e6/1500.0 {
			t.Errorf("%+v: CPU per stored %v, want %v; target CPU per request %v", tc.t, c.cpuPerStored, tc.want, c.targetCPU)
		}
	}
}

// TestRatiosEachRun: the ratios table has a row per avatarbus target, connections and run, against
// the baseline of the same run and load generator.
func TestRatiosEachRun(t *testing.T) {
	r := &report{opts: options{conns: []int{64}, runs: 2, loadgens: []string{"go", "wrk"}}}
	add := func(target string, run int, lg string, rps float64, p99 time.Duration, cpu float64) {
		r.cells = append(r.cells, cell{target: target, conns: 64, run: run, loadgen: lg, rps: rps, p99: p99, cpuPerStored: cpu})
	}
	add("baseline", 1, "go", 1000, 10*time.Millisecond, 100)
	add("avatarbus-batch", 1, "go", 2000, 5*time.Millisecond, 50)
	add("baseline", 2, "go", 1000, 10*time.Millisecond, 100)
	add("avatarbus-batch", 2, "go", 1500, 20*time.Millisecond, 150)
	add("baseline", 1, "wrk", 4000, 10*time.Millisecond, 100)
	add("avatarbus", 1, "wrk", 1000, 10*time.Millisecond, 100)
	add("baseline-dedup", 1, "wrk", 3000, 12*time.Millisecond, 120)
	add("avatarbus-noindex", 1, "wrk", 2000, 10*time.Millisecond, 80)
	var b strings.Builder
	r.ratios(&b)
	for _, row := range []string{
		"| 64 | go | 1 | avatarbus, publish_mode batch | 2.00 | 0.50 | 0.50 | – |",
		"| 64 | go | 2 | avatarbus, publish_mode batch | 1.50 | 2.00 | 1.50 | – |",
		"| 64 | wrk | 1 | (b) avatarbus | 0.25 | 1.00 | 1.00 | – |",
		"| 64 | wrk | 1 | baseline + Nats-Msg-Id | 0.75 | 1.20 | 1.20 | – |",
		"| 64 | wrk | 1 | avatarbus, index off | 0.50 | 1.00 | 0.80 | – |",
	} {
		if !strings.Contains(b.String(), row) {
			t.Errorf("no row %q in\n%s", row, b.String())
		}
	}
}

const wrkSample = `Running 3s test @ http://127.0.0.1:40000/webhooks/bench
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.86ms    4.11ms  61.95ms   83.13%
    Req/Sec     3.27k   312.09     3.95k    71.67%
  Latency Distribution
     50%    9.11ms
     75%   11.33ms
     90%   14.34ms
     99%   24.80ms
  19539 requests in 3.00s, 2.74MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   6505.17
Transfer/sec:    934.62KB
bench-wrk pos=9801,9802 exhausted=0 requests=19539 duration_us=3003563 status=3 connect=0 read=1 write=0 timeout=2 p50_us=9110 p99_us=24801 p999_us=40123
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.pos) != 2 || r.pos[0] != 9801 || r.pos[1] != 9802 || r.requests != 19539 || r.status != 3 || r.errs() != 3 ||
		r.duration != 3003563*time.Microsecond || r.p50 != 9110*time.Microsecond || r.p99 != 24801*time.Microsecond ||
		r.p999 != 40123*time.Microsecond || r.wrkRPS != 6505.17 {
		t.Fatalf("%+v", r)
	}
	for _, bad := range []string{"Requests/sec: 1\n", "bench-wrk pos=1,x requests=1\n", "bench-wrk pos=1 exhausted=0 requests=1\n"} {
		if _, err := parseWrk(bad); err == nil {
			t.Errorf("parseWrk(%q) = nil error", bad)
		}
	}
}

// TestWrkSetRecords reads the files of a wrk set back as the Lua script does (fixed-size records,
// an 8-digit length first) and parses each record as an HTTP request: every request is there once,
// in its thread's file, in order, and verifies.
func TestWrkSetRecords(t *testing.T) {
	now := time.Now()
	reqs, err := presign("w", 7, 300, now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := writeWrkSet(t.TempDir(), "t", reqs, 3)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{benchSecret}})
	if err != nil {
		t.Fatal(err)
	}
	if s.counts[0] != 3 || s.counts[1] != 2 || s.counts[2] != 2 {
		t.Fatalf("counts %v", s.counts)
	}
	for k, path := range s.files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != s.counts[k]*s.recSize {
			t.Fatalf("file %d: %d bytes for %d records of %d", k, len(b), s.counts[k], s.recSize)
		}
		for j := range s.counts[k] {
			rec := b[j*s.recSize : (j+1)*s.recSize]
			n := 0
			for _, c := range rec[:wrkLenDigits] {
				n = n*10 + int(c-'0')
			}
			hr, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(rec[wrkLenDigits : wrkLenDigits+n]))))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(hr.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := s.request(k, j)
			if hr.Method != http.MethodPost || hr.URL.Path != "/webhooks/"+benchSource || hr.Header.Get("Webhook-Id") != want.id || string(body) != string(want.body) {
				t.Fatalf("record %d of file %d: %s %s id %s", j, k, hr.Method, hr.URL, hr.Header.Get("Webhook-Id"))
			}
			if _, err := v.Verify(verify.Request{Header: textproto.MIMEHeader(hr.Header), Body: body, Now: now}); err != nil {
				t.Fatalf("record %d of file %d does not verify: %v", j, k, err)
			}
		}
	}
}

// wrkOrSkip finds wrk, or skips when there is none and CI is unset (.ci/run installs it, so there
// a missing wrk fails).
func wrkOrSkip(t *testing.T) {
	t.Helper()
	if _, err := wrkBinary(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no wrk on PATH (apt-get install -y wrk); this test runs where it is, and always in CI")
		}
		t.Fatal(err)
	}
}

// TestWrkSendsEachRequestOnce runs the generated script with wrk against a server that records
// webhook-ids: a warm-up run and a run starting where it stopped never send an id twice, the
// positions they report cover every id received, and running out of requests is reported.
func TestWrkSendsEachRequestOnce(t *testing.T) {
	wrkOrSkip(t)
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/webhooks/"+benchSource {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		mu.Lock()
		seen[r.Header.Get("Webhook-Id")]++
		mu.Unlock()
	}))
	defer srv.Close()
	reqs, err := presign("w", 200000, 64, time.Now()) // wrk reaches ~55k req/s here on a quiet machine: two 1 s runs
	if err != nil {
		t.Fatal(err)
	}
	s, err := writeWrkSet(t.TempDir(), "t", reqs, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	warm, err := s.runWrk(ctx, "warm", srv.URL, 4, time.Second, []int{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.runWrk(ctx, "run", srv.URL, 4, time.Second, warm.pos)
	if err != nil {
		t.Fatal(err)
	}
	if res.exhausted != 0 || warm.requests == 0 || res.requests == 0 || res.status != 0 {
		t.Fatalf("warm-up %+v\nrun %+v", warm, res)
	}
	taken := map[string]bool{}
	for k := range s.threads {
		for j := range res.pos[k] {
			taken[s.request(k, j).id] = true
		}
	}
	mu.Lock()
	received := len(seen)
	for id, n := range seen {
		if n != 1 || !taken[id] {
			mu.Unlock()
			t.Fatalf("id %s received %d times, taken by a thread: %v", id, n, taken[id])
		}
	}
	mu.Unlock()
	if received < warm.requests+res.requests {
		t.Fatalf("%d ids received for %d answers", received, warm.requests+res.requests)
	}

	// A set smaller than the run: the script reports running out, and sends nothing twice.
	few, err := presign("few", 50, 64, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	small, err := writeWrkSet(t.TempDir(), "small", few, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := small.runWrk(ctx, "small", srv.URL, 2, time.Second, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if out.exhausted == 0 || out.pos[0] != 50 || out.status == 0 {
		t.Fatalf("small set: %+v", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != received+50-1 && len(seen) != received+50 { // wrk may take one to check the script
		t.Fatalf("%d ids received after the small set, %d before", len(seen), received)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("id %s received %d times", id, n)
		}
	}
}

func TestIssue17Flags(t *testing.T) {
	wrkOrSkip(t)
	for _, tc := range []struct {
		sync, loadgen string
		runs          int
		want          string // the load generators, or "error"
	}{
		{"default", "go", 1, "go"},
		{"always", "both", 3, "go,wrk"},
		{"always", "wrk", 1, "wrk"},
		{"sometimes", "go", 1, "error"},
		{"always", "ab", 1, "error"},
		{"always", "go", 0, "error"},
	} {
		o := options{sync: tc.sync, runs: tc.runs, wrkThreads: 2}
		got, err := parseIssue17Flags(&o, tc.loadgen)
		if s := strings.Join(got, ","); (err != nil) != (tc.want == "error") || (err == nil && s != tc.want) {
			t.Errorf("-sync %s -loadgen %s -runs %d: %v, %v; want %s", tc.sync, tc.loadgen, tc.runs, got, err, tc.want)
		}
	}
}
