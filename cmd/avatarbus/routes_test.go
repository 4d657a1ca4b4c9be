package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/verify"
)

// routeSecret signs what the route delivers (a Standard Webhooks secret).
const routeSecret = "whsec_dGVzdC1yb3V0ZS1zZWNyZXQtMTIzNDU2Nzg5MA=="

// receiver is the service behind a route: it checks each delivery's signature and records the
// event ids it accepted; while down it answers 503.
type receiver struct {
	t        *testing.T
	verifier verify.Verifier
	down     atomic.Bool
	refused  atomic.Int64
	redriven atomic.Int64 // requests marked by `dlq redrive`
	mu       sync.Mutex
	accepted map[string]int // event id -> times accepted
	bad      []string       // what failed the checks
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{routeSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, verifier: v, accepted: map[string]int{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(HeaderRedrive) != "" {
		rc.redriven.Add(1)
	}
	if rc.down.Load() {
		rc.refused.Add(1)
		w.Header().Set("Retry-After", "0")
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, err := rc.verifier.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header), Body: body, Now: time.Now()}); err != nil {
		rc.bad = append(rc.bad, "signature: "+err.Error())
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
		rc.bad = append(rc.bad, "content type "+ct)
	}
	ev, err := envelope.Unmarshal(body)
	if err != nil {
		rc.bad = append(rc.bad, "body: "+err.Error())
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.accepted[ev.ID]++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() (map[string]int, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.accepted))
	for k, v := range rc.accepted {
		out[k] = v
	}
	return out, append([]string(nil), rc.bad...)
}

// TestServeRunsRoutes: serve delivers every stored event to a configured route, signed; while the
// route's service is down the events wait (retried with backoff), across a restart of avatarbus,
// and once it is back each event arrives exactly once. The admin listener reports the deliveries.
func TestServeRunsRoutes(t *testing.T) {
	rc, target := newReceiver(t)
	rc.down.Store(true)
	dir := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	yaml := strings.Replace(acmeConfig(listen, "127.0.0.1:0", filepath.Join(dir, "jetstream")),
		`admin_listen: "127.0.0.1:0"`, fmt.Sprintf("admin_listen: %q", admin), 1) + fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.video.>
    url: %s/hooks
    secret: %q
    timeout: 2s
    backoff: [50ms, 100ms]
    max_deliveries: 1000
`, target.URL, routeSecret)
	cfg := mustLoadConfig(t, yaml)
	url := "http://" + listen + "/webhooks/acme"

	const events = 10
	r := startServe(t, cfg)
	postVideos(t, url, 0, events/2)
	eventually(t, 10*time.Second, func() bool { return rc.refused.Load() >= events/2 }, "the route tried every event while its service was down")
	if got := httpGet(t, "http://"+admin+"/readyz"); got.status != http.StatusOK {
		t.Fatalf("/readyz: %d %s", got.status, got.body)
	}
	r.stop(t)

	r = startServe(t, cfg)
	postVideos(t, url, events/2, events)
	rc.down.Store(false)
	rc.checkEachOnce(t, events, 20*time.Second, 300*time.Millisecond)
	m := httpGet(t, "http://"+admin+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`avatarbus_route_deliveries_total{outcome="delivered",route="crm"} %d`, events),
		`avatarbus_nats_connected 1`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(m.body, `avatarbus_route_deliveries_total{outcome="retried",route="crm"}`) {
		t.Errorf("/metrics lacks the retried counter")
	}
	r.stop(t)
}

// postVideos stores the signed events msg_i (video v_i) for i in [from, to) through url.
func postVideos(t *testing.T, url string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		body := fmt.Sprintf(`{"type":"video.done","data":{"id":"v%d"}}`, i)
		if a := postWebhook(t, url, newSignedRequest(t, fmt.Sprintf("msg_%d", i), time.Now(), body)); a.status != http.StatusOK {
			t.Fatalf("POST %d: %d %s", i, a.status, a.raw)
		}
	}
}

// checkEachOnce waits up to wait for events distinct events, then, after settle (several backoff
// delays, so that a second delivery would show), checks that each passed the receiver's checks and
// arrived exactly once.
func (rc *receiver) checkEachOnce(t *testing.T, events int, wait, settle time.Duration) {
	t.Helper()
	eventually(t, wait, func() bool { got, _ := rc.snapshot(); return len(got) == events }, "every event delivered")
	time.Sleep(settle) // room for a wrong redelivery to show
	got, bad := rc.snapshot()
	if len(bad) > 0 {
		t.Fatalf("deliveries failed the receiver's checks: %v", bad)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s delivered %d times, want 1", id, n)
		}
	}
}

type httpAnswer struct {
	status int
	body   string
}

func httpGet(t *testing.T, url string) httpAnswer {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpAnswer{resp.StatusCode, string(b)}
}

// eventually is waitfor.Cond under its old name, for its callers in routes_test.go,
// forward_test.go and dlq_test.go (which another change is moving); new tests call waitfor.Cond.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	waitfor.Cond(t, timeout, cond, what)
}
