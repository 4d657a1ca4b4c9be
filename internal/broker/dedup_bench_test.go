package broker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkDedupWindowMemory measures how many bytes of server heap each Nats-Msg-Id held in a
// stream's duplicate window costs. It is a one-shot measurement, meant to be run with -benchtime 1x:
//
//	go test -run '^$' -bench BenchmarkDedupWindowMemory -benchtime 1x ./broker/
//
// Two file streams live side by side in one in-process server: DEDUP_1S (Duplicates 1s, so every
// id expires almost at once: the baseline) and DEDUP_1H (Duplicates 1h, every id stays). N
// messages of 1 KiB with unique ~60-byte ids go to each in turn, and the server heap (the server
// runs in this process, so runtime.MemStats.HeapAlloc is its heap) is read after each, once the
// file store's 10 s block cache has expired. The metrics:
//
//	B/id           ((heap growth for DEDUP_1H) - (heap growth for DEDUP_1S)) / N   (the main result)
//	B/id-drop      heap freed when DEDUP_1H's Duplicates is cut to 1s (ids purged), / N
//	B/id-rebuilt   the same, after a restart that rebuilt the window from disk, / N
//	restart-ms     server start with N ids to rebuild from disk
//	restart-nodd-ms server start with the same data but no window to rebuild
//
// DEDUP_BENCH_N overrides N (default 200000).
func BenchmarkDedupWindowMemory(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: publishes 2×N messages and waits for block caches to expire")
	}
	n := 200_000
	if v := os.Getenv("DEDUP_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("DEDUP_BENCH_N=%q: want a positive integer", v)
		}
	}
	const (
		streamShort = "DEDUP_1S"
		streamLong  = "DEDUP_1H"
		// The file store drops a block's cache 10 s after its last use; wait past that so no
		// measurement includes cached message blocks.
		cacheSettle = 11 * time.Second
	)

	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  b.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	srv, _ := startServer(b, opts)
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	nc, js := connect(b, srv)

	ctx := context.Background()
	streamCfg := func(name string, dup time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:       name,
			Subjects:   []string{name + ".>"},
			Storage:    jetstream.FileStorage,
			Duplicates: dup,
			MaxAge:     2 * time.Hour,
		}
	}
	for _, c := range []jetstream.StreamConfig{streamCfg(streamShort, time.Second), streamCfg(streamLong, time.Hour)} {
		if _, err := js.CreateStream(ctx, c); err != nil {
			b.Fatalf("create stream %s: %v", c.Name, err)
		}
	}

	ids := newIDGen()
	b.ResetTimer()

	h0 := heapAlloc()
	publishN(b, js, streamShort, n, ids)
	time.Sleep(cacheSettle)
	h1 := heapAlloc()
	longFirstID := publishN(b, js, streamLong, n, ids)
	time.Sleep(cacheSettle)
	h2 := heapAlloc()

	b.StopTimer()
	checkMsgs(b, js, streamShort, n)
	checkMsgs(b, js, streamLong, n)
	b.StartTimer()

	growShort := float64(h1) - float64(h0)
	growLong := float64(h2) - float64(h1)
	perID := (growLong - growShort) / float64(n)

	// Cross-check 1: cut the window to 1s on the same stream, which purges every id (the timer fires
	// at once on a Duplicates change), and see how much heap that frees.
	setDuplicates(b, js, streamCfg(streamLong, time.Second))
	h3 := waitPurged(b, h2)
	dropPerID := (float64(h2) - float64(h3)) / float64(n)

	// Cross-check 2 and restart cost: give the stream its 1h window back (ids are not reloaded
	// until the stream is recovered), restart the server on the same store dir and time the start:
	// recovery calls rebuildDedupe, which reads every message inside the window back from disk.
	setDuplicates(b, js, streamCfg(streamLong, time.Hour))
	nc.Close()
	srv.Shutdown()
	srv.WaitForShutdown()

	allocBefore := totalAlloc()
	srv, restart := startServer(b, opts)
	restartAlloc := totalAlloc() - allocBefore
	hRestart := heapAlloc()
	nc, js = connect(b, srv)
	if ack, err := js.Publish(ctx, streamLong+".x", []byte("dup"), jetstream.WithMsgID(longFirstID)); err != nil {
		b.Fatalf("publish duplicate after restart: %v", err)
	} else if !ack.Duplicate {
		b.Fatalf("window was not rebuilt: first id not reported as duplicate after restart")
	}
	h4 := heapAlloc()
	setDuplicates(b, js, streamCfg(streamLong, time.Second))
	h5 := waitPurged(b, h4)
	rebuiltPerID := (float64(h4) - float64(h5)) / float64(n)

	// Restart once more with no window to rebuild (Duplicates is 1s now) for the baseline.
	nc.Close()
	srv.Shutdown()
	srv.WaitForShutdown()
	srv, restartNoDD := startServer(b, opts)
	nc, _ = connect(b, srv)
	defer nc.Close()
	b.StopTimer()

	b.ReportMetric(perID, "B/id")
	b.ReportMetric(dropPerID, "B/id-drop")
	b.ReportMetric(rebuiltPerID, "B/id-rebuilt")
	b.ReportMetric(float64(restart.Milliseconds()), "restart-ms")
	b.ReportMetric(float64(restartNoDD.Milliseconds()), "restart-nodd-ms")
	b.Logf("N=%d id_len=%d", n, len(longFirstID))
	b.Logf("heap: start=%s after_1s=%s (+%s) after_1h=%s (+%s)",
		mib(h0), mib(h1), mibf(growShort), mib(h2), mibf(growLong))
	b.Logf("heap: 1h window cut to 1s: %s -> %s (freed %s)", mib(h2), mib(h3), mibf(float64(h2)-float64(h3)))
	b.Logf("restart with %d ids to rebuild: %v, %s allocated while starting; heap right after start=%s, after first publish=%s, after purge=%s",
		n, restart.Round(time.Millisecond), mib(restartAlloc), mib(hRestart), mib(h4), mib(h5))
	b.Logf("restart with no window to rebuild: %v", restartNoDD.Round(time.Millisecond))
}

// startServer starts a server with opts and returns it with the time it took to accept clients
// (JetStream recovery, including rebuildDedupe, runs inside Start).
func startServer(b *testing.B, opts *server.Options) (*server.Server, time.Duration) {
	b.Helper()
	o := *opts
	srv, err := server.NewServer(&o)
	if err != nil {
		b.Fatalf("new server: %v", err)
	}
	start := time.Now()
	go srv.Start()
	if !srv.ReadyForConnections(60 * time.Second) {
		srv.Shutdown()
		b.Fatalf("server not ready")
	}
	return srv, time.Since(start)
}

func connect(b *testing.B, srv *server.Server) (*nats.Conn, jetstream.JetStream) {
	b.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// idGen makes unique ids shaped like avatarbus's: "heygen:avatar_video.success:" + 32 hex = 60 bytes.
type idGen struct {
	rng *rand.Rand
}

func newIDGen() *idGen { return &idGen{rng: rand.New(rand.NewPCG(1, 2))} }

func (g *idGen) next() string {
	return fmt.Sprintf("heygen:avatar_video.success:%016x%016x", g.rng.Uint64(), g.rng.Uint64())
}

// publishN publishes n 1 KiB messages with unique ids to stream, at most 4096 unacknowledged at a
// time, waits for every ack, and returns the first id it used.
func publishN(b *testing.B, js jetstream.JetStream, stream string, n int, ids *idGen) string {
	b.Helper()
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	subject := stream + ".avatar_video.success"
	const window = 4096
	futures := make([]jetstream.PubAckFuture, 0, window)
	var dups atomic.Int64
	drain := func() {
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					dups.Add(1)
				}
			case err := <-f.Err():
				b.Fatalf("publish to %s: %v", stream, err)
			case <-time.After(30 * time.Second):
				b.Fatalf("publish to %s: no ack after 30s", stream)
			}
		}
		futures = futures[:0]
	}
	var first string
	for i := 0; i < n; i++ {
		id := ids.next()
		if i == 0 {
			first = id
		}
		msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(id))
		if err != nil {
			b.Fatalf("publish to %s: %v", stream, err)
		}
		futures = append(futures, f)
		if len(futures) == window {
			drain()
		}
	}
	drain()
	if d := dups.Load(); d != 0 {
		b.Fatalf("publish to %s: %d acks were duplicates; ids must be unique", stream, d)
	}
	return first
}

func checkMsgs(b *testing.B, js jetstream.JetStream, stream string, want int) {
	b.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		b.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		b.Fatalf("stream %s info: %v", stream, err)
	}
	if info.State.Msgs != uint64(want) {
		b.Fatalf("stream %s holds %d msgs, want %d", stream, info.State.Msgs, want)
	}
}

func setDuplicates(b *testing.B, js jetstream.JetStream, cfg jetstream.StreamConfig) {
	b.Helper()
	if _, err := js.UpdateStream(context.Background(), cfg); err != nil {
		b.Fatalf("update stream %s (Duplicates=%v): %v", cfg.Name, cfg.Duplicates, err)
	}
}

// waitPurged waits for the purge timer that a Duplicates change resets to run, then reads the
// heap. The purge is asynchronous; poll until the heap has dropped well below before and settled.
func waitPurged(b *testing.B, before uint64) uint64 {
	b.Helper()
	var last uint64
	for i := 0; i < 40; i++ {
		time.Sleep(50 * time.Millisecond)
		h := heapAlloc()
		if h < before && last != 0 && absDiff(h, last) < 256<<10 {
			return h
		}
		last = h
	}
	return last
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// heapAlloc returns live heap bytes after two full collections (the second also empties
// sync.Pools' victim caches).
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

func mib(v uint64) string   { return mibf(float64(v)) }
func mibf(v float64) string { return fmt.Sprintf("%.1fMiB", v/(1<<20)) }
