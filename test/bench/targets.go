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

	"github.com/nats-io/nats.go/jetstream"
)

// Streams of the targets: one each, so no target's data or dedup state touches another's.
const (
	baselineStream  = "BENCH_BASELINE"
	baselineSubject = "baseline.raw"
	avatarbusStream = "BENCH_AVATARBUS"
	avatarbusPrefix = "avbench"
	benchSource     = "bench"
)

// target is one HTTP server under load.
type target struct {
	name    string
	url     string // the webhook endpoint
	proc    *child
	stream  string // "" when the target stores nothing
	mallocs func() (uint64, error)
	admin   string // avatarbus admin address
}

// startTarget starts the named target against natsURL and waits until it is ready.
func startTarget(ctx context.Context, name, dir string, bins map[string]string, natsURL string, js jetstream.JetStream) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	side, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t := &target{name: name, url: "http://" + addr + "/webhooks/" + benchSource}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch name {
	case "baseline":
		// The baseline's stream is what a user would create once: file storage, defaults.
		if _, err := js.CreateOrUpdateStream(wctx, jetstream.StreamConfig{
			Name: baselineStream, Subjects: []string{"baseline.>"}, Storage: jetstream.FileStorage,
		}); err != nil {
			return nil, fmt.Errorf("baseline stream: %w", err)
		}
		t.stream = baselineStream
		t.proc, err = startChild(dir, name, bins[name], "-nats", natsURL, "-listen", addr, "-stats", side, "-subject", baselineSubject)
		t.mallocs = func() (uint64, error) { return mallocsExpvar("http://" + side + "/debug/vars") }
	case "ceiling":
		t.proc, err = startChild(dir, name, bins[name], "-listen", addr, "-stats", side)
		t.mallocs = func() (uint64, error) { return mallocsExpvar("http://" + side + "/debug/vars") }
	case "avatarbus", "embedded":
		// "embedded" is avatarbus on its own in-process nats-server (the default single-machine
		// deployment): not part of the one-server comparison, its CPU includes its server's.
		nats := fmt.Sprintf("url: %q", natsURL)
		if name == "embedded" {
			nats = fmt.Sprintf("embedded: {listen: \"127.0.0.1:0\", store_dir: %q}", filepath.Join(dir, "embedded-jetstream"))
		} else {
			t.stream = avatarbusStream
		}
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(avatarbusConfig(addr, side, nats)), 0o600); err != nil {
			return nil, err
		}
		t.admin = side
		t.proc, err = startChild(dir, name, bins["avatarbus"], "serve", "--config", cfg)
		t.mallocs = func() (uint64, error) { return mallocsPrometheus("http://" + side + "/metrics") }
	default:
		return nil, fmt.Errorf("%w %q (known: baseline, avatarbus, ceiling, embedded)", errNoTarget, name)
	}
	if err != nil {
		return nil, err
	}
	err = waitTCP(wctx, addr)
	if err == nil && t.admin != "" {
		// avatarbus listens before its stream is ready: wait for /readyz on the admin listener.
		err = waitHTTP(wctx, "http://"+side+"/readyz")
	}
	if err != nil {
		t.proc.stop()
		return nil, fmt.Errorf("%s did not start (see %s): %w", name, t.proc.log, err)
	}
	return t, nil
}

// avatarbusConfig is the bench's avatarbus configuration: the NATS it uses (nats is the YAML of
// the nats key: the shared server, or an embedded one), a stream of its own, one Standard Webhooks
// source, and warnings-only logs (as in production, no line per request).
func avatarbusConfig(listen, admin, nats string) string {
	return fmt.Sprintf(`listen: %q
admin_listen: %q
nats: { %s }
stream:
  name: %s
  subject_prefix: %s
  replicas: 1
  max_age: 1h
  duplicate_window: 10m
sources:
  - name: %s
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
log: { level: warn, format: json }
`, listen, admin, nats, avatarbusStream, avatarbusPrefix, benchSource, benchSecret)
}

// purge empties the target's stream between cells, so every cell starts from the same store size.
func (t *target) purge(ctx context.Context, js jetstream.JetStream) error {
	if t.stream == "" {
		return nil
	}
	s, err := js.Stream(ctx, t.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", t.stream, err)
	}
	return s.Purge(ctx)
}

// cell is one measurement: a target at a connection count.
type cell struct {
	target           string
	conns            int
	requests, non2xx int
	errors           int
	firstErr         string
	rps              float64
	p50, p99, p999   time.Duration
	targetCPU        float64 // µs of the target process's CPU per request
	natsCPU          float64 // µs of nats-server's CPU per request
	loadCPU          float64 // µs of the load generator's CPU per request
	allocs           float64 // heap allocations per request in the target process
}

// noMallocs marks an allocation count the target did not report.
const noMallocs = ^uint64(0)

// snapshot is the counters read at each edge of the measurement window.
type snapshot struct {
	target, nats, self time.Duration
	mallocs            uint64
}

func take(t *target, ns *child) (snapshot, error) {
	var s snapshot
	var err1, err2, err3 error
	s.target, err1 = t.proc.cpu()
	s.nats, err2 = ns.cpu()
	s.self = selfCPU()
	if s.mallocs, err3 = t.mallocs(); err3 != nil {
		s.mallocs = noMallocs // reported as unknown, not as a failed run
	}
	return s, errors.Join(err1, err2)
}

// measure runs one cell.
func measure(ctx context.Context, t *target, js jetstream.JetStream, ns *child, conns int, reqs []signedRequest, o options) (cell, error) {
	var snaps []snapshot
	var snapErr error
	edge := func() {
		s, err := take(t, ns)
		snapErr = errors.Join(snapErr, err)
		snaps = append(snaps, s)
	}
	res, err := closedLoop(t.url, conns, reqs, o.warmup, o.duration, edge)
	if err != nil {
		return cell{}, err
	}
	if snapErr != nil {
		return cell{}, snapErr
	}
	if err := t.checkStored(ctx, js, res, reqs); err != nil {
		return cell{}, err
	}
	c := cell{target: t.name, conns: conns, requests: res.Requests, non2xx: res.Non2xx, errors: res.Errors,
		firstErr: res.FirstErr, rps: res.RPS(), p50: res.Percentile(0.50), p99: res.Percentile(0.99), p999: res.Percentile(0.999)}
	if n := float64(res.Requests); n > 0 {
		a, b := snaps[0], snaps[1]
		c.targetCPU = float64((b.target - a.target).Microseconds()) / n
		c.natsCPU = float64((b.nats - a.nats).Microseconds()) / n
		c.loadCPU = float64((b.self - a.self).Microseconds()) / n
		c.allocs = -1
		if a.mallocs != noMallocs && b.mallocs != noMallocs {
			c.allocs = float64(b.mallocs-a.mallocs) / n
		}
	}
	if c.non2xx+c.errors > 0 {
		log.Printf("%s at %d connections: %d non-2xx, %d errors, first: %s", t.name, conns, c.non2xx, c.errors, c.firstErr)
	}
	return c, nil
}

// checkStored holds a storing target to its word after a cell: its stream (purged before the cell)
// holds at least one event per 2xx answer, and for avatarbus, requests sent again are answered 2xx
// as duplicates and add nothing. A failure ends the run: the figures would be of a broken contract.
func (t *target) checkStored(ctx context.Context, js jetstream.JetStream, res loadResult, reqs []signedRequest) error {
	if t.stream == "" {
		return nil
	}
	count := func() (uint64, error) {
		s, err := js.Stream(ctx, t.stream)
		if err != nil {
			return 0, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0, err
		}
		return info.State.Msgs, nil
	}
	stored, err := count()
	if err != nil {
		return fmt.Errorf("stream %s: %w", t.stream, err)
	}
	if stored < uint64(res.Total2xx) {
		return fmt.Errorf("%s answered 2xx %d times but its stream holds %d events", t.name, res.Total2xx, stored)
	}
	if t.name != "avatarbus" || res.Sent == 0 || res.Total2xx != res.Sent {
		return nil // a request answered otherwise may be stored by its redelivery: no duplicate to expect
	}
	c := newClient()
	defer c.CloseIdleConnections()
	for i := 0; i < res.Sent; i += max(1, res.Sent/50) { // about 50 redeliveries across the run
		body, status, err := postRead(c, t.url, &reqs[i])
		if err != nil || status != 200 || !strings.Contains(string(body), `"duplicate":true`) {
			return fmt.Errorf("redelivery of %s: status %d, %v, %s", reqs[i].id, status, err, body)
		}
	}
	if again, err := count(); err != nil || again != stored {
		return fmt.Errorf("redeliveries changed the stream from %d to %d events (%v)", stored, again, err)
	}
	log.Printf("%s: %d answers 2xx, %d events stored; redeliveries answered as duplicates, nothing added", t.name, res.Total2xx, stored)
	return nil
}
