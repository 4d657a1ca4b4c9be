package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/index"
)

// Streams of the targets: one each, so no target's data or dedup state touches another's.
const (
	baselineStream  = "BENCH_BASELINE"
	baselineSubject = "baseline.raw"
	avatarbusStream = "BENCH_AVATARBUS"
	avatarbusPrefix = "avbench"
	batchStream     = "BENCH_AVATARBUS_BATCH"
	batchPrefix     = "avbatch"
	// The two targets that split avatarbus's cost apart (BENCHMARKS.md "Speed II: what the gap
	// is made of"): the bridge with JetStream dedup, and avatarbus without its index.
	dedupStream    = "BENCH_BASELINE_DEDUP"
	dedupSubject   = "baselinededup.raw"
	noIndexStream  = "BENCH_AVATARBUS_NOINDEX"
	noIndexPrefix  = "avnoindex"
	benchDupWindow = 10 * time.Minute // stream.duplicate_window of every avatarbus target, and of baseline-dedup
	benchSource    = "bench"
	// The embedded target's server users (test values of the bench, not secrets): the harness logs
	// in as avatarbus to purge and count its stream.
	embeddedPassword         = "bench-avatarbus-password"
	embeddedConsumerPassword = "bench-consumer-password"
)

// target is one HTTP server under load.
type target struct {
	name         string
	url          string // the webhook endpoint
	proc         *child
	stream       string              // "" when the target stores nothing
	js           jetstream.JetStream // where stream is: the shared server, or the embedded target's own
	nc           *nats.Conn          // the harness's connection to an embedded target's server
	embeddedAddr string              // that server's client address
	shared       bool                // stores on the shared nats-server, whose CPU counts for it
	dedup        bool                // avatarbus, baseline-dedup: a request sent again adds nothing to the stream
	saysDup      bool                // avatarbus: and is answered with "duplicate":true
	mallocs      func() (uint64, error)
	admin        string // avatarbus admin address
}

// knownTargets are the names -targets accepts.
const knownTargets = "baseline, baseline-dedup, avatarbus, avatarbus-batch, avatarbus-noindex, ceiling, embedded"

// startTarget starts the named target against natsURL and waits until it is ready. sync is the
// broker's fsync policy (-sync): the embedded target's own server gets the same.
func startTarget(ctx context.Context, name, dir string, bins map[string]string, natsURL string, js jetstream.JetStream, sync string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	side, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t := &target{name: name, url: "http://" + addr + "/webhooks/" + benchSource, js: js}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch name {
	case "baseline", "baseline-dedup":
		// The baseline's stream is what a user would create once: file storage, defaults.
		// baseline-dedup is the same bridge setting each request's webhook-id as Nats-Msg-Id, on
		// a stream with avatarbus's duplicate window: what deduplication alone costs the bridge.
		cfg := jetstream.StreamConfig{Name: baselineStream, Subjects: []string{"baseline.>"}, Storage: jetstream.FileStorage}
		subject, args := baselineSubject, []string(nil)
		if name == "baseline-dedup" {
			cfg.Name, cfg.Subjects, cfg.Duplicates = dedupStream, []string{"baselinededup.>"}, benchDupWindow
			subject, args = dedupSubject, []string{"-msgid"}
		}
		if _, err := js.CreateOrUpdateStream(wctx, cfg); err != nil {
			return nil, fmt.Errorf("%s stream: %w", name, err)
		}
		t.stream, t.shared, t.dedup = cfg.Name, true, name == "baseline-dedup"
		t.proc, err = startChild(dir, name, bins["baseline"], append([]string{"-nats", natsURL, "-listen", addr, "-stats", side, "-subject", subject}, args...)...)
		t.mallocs = func() (uint64, error) { return mallocsExpvar("http://" + side + "/debug/vars") }
	case "ceiling":
		t.proc, err = startChild(dir, name, bins[name], "-listen", addr, "-stats", side)
		t.mallocs = func() (uint64, error) { return mallocsExpvar("http://" + side + "/debug/vars") }
	case "avatarbus", "avatarbus-batch", "avatarbus-noindex", "embedded":
		// "embedded" is avatarbus on its own in-process nats-server (the default single-machine
		// deployment): not part of the one-server comparison, its CPU includes its server's.
		// "avatarbus-batch" is avatarbus with nats.publish_mode: batch (issue 17 point 1: group
		// commit into atomic batches) on the shared server, in a stream of its own;
		// "avatarbus-noindex" is the avatarbus target with index.enabled: false, in its own stream.
		t.dedup, t.saysDup = true, true
		nats := fmt.Sprintf("url: %q", natsURL)
		stream, prefix := avatarbusStream, avatarbusPrefix
		var embeddedAddr string
		extra := ""
		switch name {
		case "embedded":
			if embeddedAddr, err = freeAddr(); err != nil {
				return nil, err
			}
			syncLine := "" // avatarbus's default (1s) unless the bench asks for an fsync before every ack
			if sync == "always" {
				syncLine = ", sync_interval: always"
			}
			nats = fmt.Sprintf("embedded: {listen: %q, store_dir: %q, avatarbus_password: %q, consumer_password: %q%s}",
				embeddedAddr, filepath.Join(dir, "embedded-jetstream"), embeddedPassword, embeddedConsumerPassword, syncLine)
		case "avatarbus-batch":
			nats += ", publish_mode: batch"
			stream, prefix = batchStream, batchPrefix
			t.shared = true
		case "avatarbus-noindex":
			stream, prefix, extra = noIndexStream, noIndexPrefix, noIndexConfig
			t.shared = true
		default:
			t.shared = true
		}
		t.stream = stream
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(avatarbusConfig(addr, side, nats, stream, prefix)+extra), 0o600); err != nil {
			return nil, err
		}
		t.admin = side
		t.proc, err = startChild(dir, name, bins["avatarbus"], "serve", "--config", cfg)
		t.mallocs = func() (uint64, error) { return mallocsPrometheus("http://" + side + "/metrics") }
		t.embeddedAddr = embeddedAddr
	default:
		return nil, fmt.Errorf("%w %q (known: %s)", errNoTarget, name, knownTargets)
	}
	if err != nil {
		t.stop()
		return nil, err
	}
	if err := t.waitReady(wctx, addr, side); err != nil {
		t.stop()
		return nil, err
	}
	if t.embeddedAddr != "" { // ready: its server listens
		if err := t.connectEmbedded(wctx, t.embeddedAddr); err != nil {
			t.stop()
			return nil, err
		}
	}
	return t, nil
}

// waitReady waits until the target listens and, for avatarbus, answers /readyz on its admin
// listener (it listens before its stream is ready). A target that exits meanwhile ends the wait at
// once, with the end of its log: a refused configuration says why there.
func (t *target) waitReady(ctx context.Context, addr, side string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.proc.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := waitTCP(ctx, addr)
	if err == nil && t.admin != "" {
		err = waitHTTP(ctx, "http://"+side+"/readyz")
	}
	if err == nil {
		return nil
	}
	select {
	case <-t.proc.done:
		tail := logTail(t.proc.log, 2048)
		if t.name == "avatarbus-batch" && strings.Contains(tail, "publish_mode") {
			return fmt.Errorf("%w: avatarbus serve refused nats.publish_mode: batch, so this build has no batch mode "+
				"(issue 17 point 1); build a tree that has it, or leave avatarbus-batch out of -targets. Its log (%s) ends:\n%s",
				errTargetExited, t.proc.log, tail)
		}
		return fmt.Errorf("%w: %s (see %s), its log ends:\n%s", errTargetExited, t.name, t.proc.log, tail)
	default:
	}
	return fmt.Errorf("%s did not start (see %s): %w", t.name, t.proc.log, err)
}

var errTargetExited = errors.New("target exited before it was ready")

// logTail returns the last n bytes of the file at path.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b[max(0, len(b)-n):]))
}

// connectEmbedded connects the harness to the embedded target's server once it listens.
func (t *target) connectEmbedded(ctx context.Context, addr string) error {
	if err := waitTCP(ctx, addr); err != nil {
		return fmt.Errorf("embedded nats-server: %w", err)
	}
	nc, err := nats.Connect("nats://"+addr, nats.UserInfo("avatarbus", embeddedPassword), nats.Name("bench-harness"))
	if err != nil {
		return fmt.Errorf("embedded nats-server: %w", err)
	}
	t.nc = nc
	t.js, err = jetstream.New(nc)
	return err
}

// stop stops the target's process and closes the harness's connection to its own server.
func (t *target) stop() {
	if t.nc != nil {
		t.nc.Close()
	}
	t.proc.stop()
}

// noIndexConfig turns avatarbus's index off (appended to avatarbusConfig).
const noIndexConfig = "index: { enabled: false }\n"

// avatarbusConfig is the bench's avatarbus configuration: the NATS it uses (nats is the YAML of
// the nats key: the shared server, or an embedded one), a stream of its own, one Standard Webhooks
// source, and warnings-only logs (as in production, no line per request).
func avatarbusConfig(listen, admin, nats, stream, prefix string) string {
	return fmt.Sprintf(`listen: %q
admin_listen: %q
nats: { %s }
stream:
  name: %s
  subject_prefix: %s
  replicas: 1
  max_age: 1h
  duplicate_window: %s
sources:
  - name: %s
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
log: { level: warn, format: json }
`, listen, admin, nats, stream, prefix, benchDupWindow, benchSource, benchSecret)
}

// purge empties the target's stream between cells, and avatarbus's index bucket of it when there
// is one, so every cell starts from the same store size: the index keys of earlier cells (three
// per event) made nats-server's heap, and its CPU per message for every target, grow run after run.
func (t *target) purge(ctx context.Context) error {
	if t.stream == "" {
		return nil
	}
	s, err := t.js.Stream(ctx, t.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", t.stream, err)
	}
	if err := s.Purge(ctx); err != nil {
		return fmt.Errorf("stream %s: %w", t.stream, err)
	}
	bucket := "KV_" + t.stream + index.BucketSuffix
	b, err := t.js.Stream(ctx, bucket)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // no index (off, or not made yet)
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", bucket, err)
	}
	return b.Purge(ctx)
}

// storedCount is the number of events in the target's stream.
func (t *target) storedCount(ctx context.Context) (uint64, error) {
	s, err := t.js.Stream(ctx, t.stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", t.stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", t.stream, err)
	}
	return info.State.Msgs, nil
}

// cell is one measurement: a target at a connection count, with one load generator, in one run.
type cell struct {
	target           string
	conns            int
	run              int    // 1 … -runs
	loadgen          string // "go" or "wrk"
	requests, non2xx int
	errors           int
	firstErr         string
	rps              float64
	p50, p99, p999   time.Duration
	targetCPU        float64       // µs of the target process's CPU per request
	natsCPU          float64       // µs of nats-server's CPU per request
	loadCPU          float64       // µs of the load generator's CPU per request
	allocs           float64       // heap allocations per request in the target process
	stored           int64         // events the target's stream gained in the window; -1: stores nothing
	cpuPerStored     float64       // µs of CPU (target + the nats-server it stores on) per stored event, quiet to quiet; -1: none
	drained          time.Duration // how long the target's consumers took to catch up after the load
}

// noMallocs marks an allocation count the target did not report.
const noMallocs = ^uint64(0)

// snapshot is the counters read at each edge of the measurement window.
type snapshot struct {
	target, nats, self time.Duration
	mallocs            uint64
	stored             uint64 // events in the target's stream
}

func take(ctx context.Context, t *target, ns *child) (snapshot, error) {
	var s snapshot
	var err1, err2, err3, err4 error
	s.target, err1 = t.proc.cpu()
	s.nats, err2 = ns.cpu()
	s.self = selfCPU()
	if s.mallocs, err3 = t.mallocs(); err3 != nil {
		s.mallocs = noMallocs // reported as unknown, not as a failed run
	}
	if t.stream != "" {
		s.stored, err4 = t.storedCount(ctx)
	}
	return s, errors.Join(err1, err2, err4)
}

// measure runs one cell with the Go load generator.
func measure(ctx context.Context, t *target, ns *child, conns int, reqs []signedRequest, o options) (cell, error) {
	var snaps []snapshot
	var snapErr error
	edge := func() {
		s, err := take(ctx, t, ns)
		snapErr = errors.Join(snapErr, err)
		snaps = append(snaps, s)
	}
	q0, err := t.quiet(ctx, ns)
	if err != nil {
		return cell{}, err
	}
	res, err := closedLoop(t.url, conns, reqs, o.warmup, o.duration, edge)
	if err != nil {
		return cell{}, err
	}
	if snapErr != nil {
		return cell{}, snapErr
	}
	drainStart := time.Now()
	q1, err := t.quiet(ctx, ns)
	if err != nil {
		return cell{}, err
	}
	var redeliver []*signedRequest
	if res.Total2xx == res.Sent { // every request sent was answered 2xx, so each is stored
		for i := range res.Sent {
			redeliver = append(redeliver, &reqs[i])
		}
	}
	if err := t.checkStored(ctx, res.Total2xx, res.Sent, redeliver); err != nil {
		return cell{}, err
	}
	c := cell{target: t.name, conns: conns, requests: res.Requests, non2xx: res.Non2xx, errors: res.Errors,
		firstErr: res.FirstErr, rps: res.RPS(), p50: res.Percentile(0.50), p99: res.Percentile(0.99), p999: res.Percentile(0.999)}
	c.fill(t, snaps[0], snaps[1], float64(res.Requests))
	c.perStored(t, q0, q1)
	c.drained = time.Since(drainStart)
	if c.non2xx+c.errors > 0 {
		log.Printf("%s at %d connections: %d non-2xx, %d errors, first: %s", t.name, conns, c.non2xx, c.errors, c.firstErr)
	}
	return c, nil
}

// fill sets the cell's per-request figures (n requests answered in the window) and the events
// stored in the window from the snapshots at the window's edges.
func (c *cell) fill(t *target, a, b snapshot, n float64) {
	c.allocs, c.stored, c.cpuPerStored = -1, -1, -1
	if n > 0 {
		c.targetCPU = float64((b.target - a.target).Microseconds()) / n
		c.natsCPU = float64((b.nats - a.nats).Microseconds()) / n
		c.loadCPU = float64((b.self - a.self).Microseconds()) / n
		if a.mallocs != noMallocs && b.mallocs != noMallocs {
			c.allocs = float64(b.mallocs-a.mallocs) / n
		}
	}
	if t.stream == "" {
		return
	}
	c.stored = int64(b.stored) - int64(a.stored)
}

// perStored sets the cell's CPU per stored event from snapshots taken while the target was quiet
// before and after the cell (warm-up and stragglers included): all the CPU the cell's events cost,
// including work that lags behind the answers (avatarbus's indexer reads every event back), over
// all the events stored. The nats-server's CPU counts for the targets that store on it; the
// embedded target's server is in its own process.
func (c *cell) perStored(t *target, q0, q1 snapshot) {
	c.cpuPerStored = -1
	if t.stream == "" || q1.stored <= q0.stored {
		return
	}
	cpu := q1.target - q0.target
	if t.shared {
		cpu += q1.nats - q0.nats
	}
	c.cpuPerStored = float64(cpu.Microseconds()) / float64(q1.stored-q0.stored)
}

// drainTimeout bounds the wait for a target's consumers to catch up after a cell.
const drainTimeout = 2 * time.Minute

// quiet waits until every consumer of the target's stream has caught up (nothing pending, nothing
// awaiting an ack: avatarbus's indexer reads each event after it is answered, so its work, and
// nats-server's, goes on after the load stops) and then snapshots the counters. Waiting keeps one
// target's lagging work out of the next target's figures.
func (t *target) quiet(ctx context.Context, ns *child) (snapshot, error) {
	if t.stream != "" {
		deadline := time.Now().Add(drainTimeout)
		for {
			busy, err := t.consumersBusy(ctx)
			if err != nil {
				return snapshot{}, err
			}
			if busy == "" {
				break
			}
			if time.Now().After(deadline) {
				return snapshot{}, fmt.Errorf("%s: consumers of %s did not catch up in %s: %s", t.name, t.stream, drainTimeout, busy)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return take(ctx, t, ns)
}

// consumersBusy describes the consumers of the target's stream that have events pending or
// awaiting an ack, "" when none has.
func (t *target) consumersBusy(ctx context.Context) (string, error) {
	s, err := t.js.Stream(ctx, t.stream)
	if err != nil {
		return "", fmt.Errorf("stream %s: %w", t.stream, err)
	}
	l := s.ListConsumers(ctx)
	var busy []string
	for ci := range l.Info() {
		if ci.NumPending > 0 || ci.NumAckPending > 0 {
			busy = append(busy, fmt.Sprintf("%s %d pending %d unacked", ci.Name, ci.NumPending, ci.NumAckPending))
		}
	}
	if err := l.Err(); err != nil {
		return "", fmt.Errorf("consumers of %s: %w", t.stream, err)
	}
	return strings.Join(busy, ", "), nil
}

// checkStored holds a storing target to its word after a cell: its stream (purged before the cell)
// holds at least one event per 2xx answer (total2xx, warm-up included) and no more than the sent
// requests (each has its own id); for the deduplicating targets (avatarbus, baseline-dedup),
// requests known to be stored (redeliver), sent again, are answered 2xx and add nothing, and
// avatarbus's answers say "duplicate":true. A failure ends the run: the figures would be of a
// broken contract.
func (t *target) checkStored(ctx context.Context, total2xx, sent int, redeliver []*signedRequest) error {
	if t.stream == "" {
		return nil
	}
	stored, err := t.storedCount(ctx)
	if err != nil {
		return err
	}
	if stored < uint64(total2xx) {
		return fmt.Errorf("%s answered 2xx %d times but its stream holds %d events", t.name, total2xx, stored)
	}
	if stored > uint64(sent) {
		return fmt.Errorf("%s stored %d events from %d requests, each with its own id", t.name, stored, sent)
	}
	if !t.dedup || len(redeliver) == 0 {
		return nil // a request answered otherwise may be stored by its redelivery: no duplicate to expect
	}
	c := newClient()
	defer c.CloseIdleConnections()
	for i := 0; i < len(redeliver); i += max(1, len(redeliver)/50) { // about 50 redeliveries across the run
		r := redeliver[i]
		body, status, err := postRead(c, t.url, r)
		if err != nil || status != 200 || (t.saysDup && !strings.Contains(string(body), `"duplicate":true`)) {
			return fmt.Errorf("redelivery of %s: status %d, %v, %s", r.id, status, err, body)
		}
	}
	if again, err := t.storedCount(ctx); err != nil || again != stored {
		return fmt.Errorf("redeliveries changed the stream from %d to %d events (%v)", stored, again, err)
	}
	log.Printf("%s: %d answers 2xx, %d events stored; redeliveries answered 2xx, nothing added", t.name, total2xx, stored)
	return nil
}
