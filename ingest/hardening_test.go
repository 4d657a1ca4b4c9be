package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/broker"
	"github.com/avatarbus/avatarbus/broker/brokertest"
	"github.com/avatarbus/avatarbus/ingest"
	"github.com/avatarbus/avatarbus/subjects"
)

// TestUnverifiedFloodLeavesSignedSenderUnlimited: 50 unsigned requests a second on a source with
// a rate_limit spend only the source's (smaller) unverified budget, so its genuine sender, one
// signed request a second, never sees a 429. The flood itself is mostly answered 429, and what
// it is answered 401 for stays within the unverified budget.
func TestUnverifiedFloodLeavesSignedSenderUnlimited(t *testing.T) {
	st := startOpsStack(t, opsOptions{quarantine: true, level: zerolog.InfoLevel,
		limits: map[string]*ingest.RateLimit{"acme": {RPS: 2, Burst: 4}}})
	const run = 3 * time.Second
	body := `{"type":"video.done","data":{"id":"v"}}`
	stop := time.Now().Add(run)

	var flood sync.WaitGroup
	var floodStatus [600]atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	flood.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond) // 50/s
		defer tick.Stop()
		for time.Now().Before(stop) {
			<-tick.C
			flood.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, st.url+"/webhooks/acme", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("webhook-id", "forged")
				req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
				req.Header.Set("webhook-signature", "v1,Zm9yZ2VkLXNpZ25hdHVyZS1mb3JnZWQtc2lnbmF0dXJlMTIz")
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				floodStatus[min(resp.StatusCode, len(floodStatus)-1)].Add(1)
			})
		}
	})

	var genuine []int
	for i := 0; time.Now().Before(stop); i++ {
		time.Sleep(time.Second) // 1/s, after the flood has started
		a := post(t, st.url+"/webhooks/acme", signedSW(t, fmt.Sprintf("genuine%d", i), time.Now(), body), body)
		genuine = append(genuine, a.status)
	}
	flood.Wait()

	for i, s := range genuine {
		if s != 200 {
			t.Errorf("genuine request %d answered %d during the unsigned flood, want 200 (all: %v)", i, s, genuine)
		}
	}
	unauthorized, limited := floodStatus[401].Load(), floodStatus[429].Load()
	t.Logf("genuine %v; flood: %d × 401, %d × 429", genuine, unauthorized, limited)
	if limited == 0 {
		t.Errorf("no unsigned request was answered 429: the unverified budget did not bound the 401 path")
	}
	// The unverified budget derived from {rps: 2, burst: 4} is 0.5/s, burst 1: at most 1 + 0.5 × 3s
	// (+1 for timing) failures get the 401 path (quarantine, log line).
	if unauthorized > 3 {
		t.Errorf("%d unsigned requests got the 401 path, want at most 3 with the derived unverified budget (0.5/s, burst 1)", unauthorized)
	}
	if got := len(st.quarantined(t)); int64(got) != unauthorized {
		t.Errorf("%d quarantined, want one per 401 (%d)", got, unauthorized)
	}
}

// TestOutage503LinesAreSampled: during a JetStream outage every request is answered 503, but the
// log gets a line now and then, like the 429s, not one line per request.
func TestOutage503LinesAreSampled(t *testing.T) {
	srv := brokertest.RunWithOptions(t, brokertest.Options(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, broker.Config{
		Conn: broker.ConnConfig{URL: srv.ClientURL(), Name: "test"},
		Stream: broker.StreamConfig{Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1,
			MaxAge: time.Hour, Duplicates: 10 * time.Minute},
		PublishTimeout: 200 * time.Millisecond,
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	logs := &syncBuffer{}
	base, _ := serveIngest(t, ingest.Config{Sources: testSources(t), SubjectPrefix: "avatar", Publisher: b.Publisher(),
		Log: zerolog.New(logs).Level(zerolog.InfoLevel)})
	brokertest.Stop(srv)

	body := `{"type":"video.done","data":{"id":"v"}}`
	var unavailable atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(2 * time.Second)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				a := post(t, base+"/webhooks/acme", signedSW(t, fmt.Sprintf("out%d-%d", w, i), time.Now(), body), body)
				if a.status == 503 {
					unavailable.Add(1)
				}
			}
		})
	}
	wg.Wait()
	n := unavailable.Load()
	lines := strings.Count(logs.String(), "event not stored")
	t.Logf("%d answers 503, %d log lines", n, lines)
	if n < 20 {
		t.Fatalf("only %d answers 503 during the outage; the test needs a flood", n)
	}
	if lines < 1 || lines > 2 {
		t.Fatalf("%d log lines for %d answers 503, want 1 (sampled: at most one per 10s per source)", lines, n)
	}
}
