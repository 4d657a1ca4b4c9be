package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/index"
	"github.com/avatarbus/avatarbus/verify"
)

// TestPresignedRequestsVerify: every pre-signed request passes avatarbus's Standard Webhooks
// verifier, has its own webhook-id, and its body has the asked size.
func TestPresignedRequestsVerify(t *testing.T) {
	now := time.Now()
	reqs, err := presign("t", 50, 1024, now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{benchSecret}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		if len(r.body) != 1024 {
			t.Fatalf("body of %d bytes, want 1024", len(r.body))
		}
		if seen[r.id] {
			t.Fatalf("webhook-id %s twice", r.id)
		}
		seen[r.id] = true
		h := textproto.MIMEHeader{}
		h.Set("Webhook-Id", r.id)
		h.Set("Webhook-Timestamp", r.ts)
		h.Set("Webhook-Signature", r.sig)
		if _, err := v.Verify(verify.Request{Header: h, Body: r.body, Now: now}); err != nil {
			t.Fatalf("request %s does not verify: %v", r.id, err)
		}
	}
}

// TestClosedLoopCountsOnlyTheWindow runs the load generator briefly against a local server that
// answers 200 to even ids and 503 to odd ones.
func TestClosedLoopCountsOnlyTheWindow(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if served.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	reqs, err := presign("t", 30000, 64, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	edges := 0
	res, err := closedLoop(srv.URL, 4, reqs, 30*time.Millisecond, 100*time.Millisecond, func() { edges++ })
	if err != nil {
		t.Fatal(err)
	}
	if edges != 2 {
		t.Fatalf("%d window edges, want 2", edges)
	}
	if res.Requests == 0 || int64(res.Requests) >= served.Load() {
		t.Fatalf("%d requests in the window of %d served: warm-up not excluded", res.Requests, served.Load())
	}
	if res.Non2xx == 0 || res.Non2xx == res.Requests {
		t.Fatalf("non-2xx %d of %d: statuses not counted", res.Non2xx, res.Requests)
	}
	if len(res.Latency) != res.Requests || res.Percentile(0.5) > res.Percentile(0.999) {
		t.Fatalf("latencies: %d samples for %d requests, p50 %s p99.9 %s", len(res.Latency), res.Requests, res.Percentile(0.5), res.Percentile(0.999))
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 500, 0.99: 990, 0.999: 999, 1: 1000} {
		if got := percentile(d, q); got != want {
			t.Errorf("percentile(%v) = %d, want %d", q, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func TestProcCPUReadsThisProcess(t *testing.T) {
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU to read
	}
	got, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 || got > selfCPU()+time.Second {
		t.Fatalf("procCPU = %s, getrusage = %s", got, selfCPU())
	}
}

// TestPurgeEmptiesTheIndex: between cells the harness empties a target's stream and the index
// bucket avatarbus writes for it, so that no cell runs on the keys of the cells before it; a
// target without an index bucket is purged all the same.
func TestPurgeEmptiesTheIndex(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	ctx := context.Background()
	for _, name := range []string{"WITH_INDEX", "WITHOUT"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, strings.ToLower(name)+".x", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "WITH_INDEX" + index.BucketSuffix})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "id.k.1", []byte("1")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"WITH_INDEX", "WITHOUT"} {
		tg := &target{name: name, stream: name, js: js}
		if err := tg.purge(ctx); err != nil {
			t.Fatalf("purge %s: %v", name, err)
		}
	}
	for _, name := range []string{"WITH_INDEX", "KV_WITH_INDEX" + index.BucketSuffix, "WITHOUT"} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.CachedInfo().State.Msgs; n != 0 {
			t.Errorf("%s holds %d messages after purge", name, n)
		}
	}
}
