package ingest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// TestUnverifiedFloodLeavesSignedSenderUnlimited: 50 unsigned requests a second on a source with
// a rate_limit spend only the source's (smaller) unverified budget, so its genuine sender, one
// signed request a second, never sees a 429. The flood itself is mostly answered 429, and what
// it is answered 401 for stays within the unverified budget.
func TestUnverifiedFloodLeavesSignedSenderUnlimited(t *testing.T) {
	if testing.Short() {
		t.Skip("a seconds-long flood; skipped under -short")
	}
	t.Parallel()
	st := startStack(t, stackOptions{quarantine: true, level: zerolog.InfoLevel,
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
	if testing.Short() {
		t.Skip("a 2-second flood; skipped under -short")
	}
	t.Parallel()
	srv := brokertest.RunWithOptions(t, brokertest.Options(t.TempDir()))
	st := startStack(t, stackOptions{srv: srv, publishTimeout: 200 * time.Millisecond, level: zerolog.InfoLevel})
	base, logs := st.url, st.logs
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

// heapInUse is the memory the Go runtime holds for the heap and everything else it mapped, less
// what it gave back to the OS: the process's resident Go memory, without the race detector's
// shadow memory (which RSS would count, and which scales with the heap anyway).
func heapInUse() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// TestBodyBytesInFlightAreBounded: 600 clients each send a 1 MiB body at once to an in-process
// server and hold its last byte for a while. The Go memory of the process (server and these
// clients; measured with runtime/metrics, see heapInUse) grows by less than 400 MB, because the
// bodies share a 64 MiB budget and the others are answered 503 + Retry-After after a short wait;
// without the budget every body is buffered (600 MiB and more). Meanwhile a genuine signed
// request, retrying on 503 after Retry-After as the platforms do, is stored.
func TestBodyBytesInFlightAreBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("600 senders of 1 MiB; skipped under -short")
	}
	// Not parallel: it measures the process's heap, which other tests would grow.
	const (
		senders = 600
		bodyLen = 1 << 20
		budget  = 64 << 20
		hold    = 3000 * time.Millisecond
	)
	sources := testSources(t)
	sources[0].MaxBody = bodyLen
	st := startStack(t, stackOptions{sources: sources, level: zerolog.Disabled,
		http: ingest.HTTPConfig{MaxBodyBytesInFlight: budget, BodyWait: time.Second}})
	base, reg := st.url, st.reg
	addr := strings.TrimPrefix(base, "http://")

	runtime.GC()
	baseline := heapInUse()
	var peak atomic.Uint64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if m := heapInUse(); m > peak.Load() {
				peak.Store(m)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	chunk := bytes.Repeat([]byte("x"), 64<<10)
	head := fmt.Sprintf("POST /webhooks/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bodyLen)
	release := time.Now().Add(hold) // every sender keeps its last byte until then
	var statuses sync.Map           // status → *atomic.Int64
	var retryAfter atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte(head)); err != nil {
				return
			}
			for sent := 0; sent < bodyLen-1; {
				n := min(len(chunk), bodyLen-1-sent)
				if _, err := conn.Write(chunk[:n]); err != nil {
					break // answered (503) without its body being read
				}
				sent += n
			}
			time.Sleep(time.Until(release)) // holding the body until release is the attack
			_, _ = conn.Write([]byte("x"))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			n, _ := statuses.LoadOrStore(resp.StatusCode, &atomic.Int64{})
			n.(*atomic.Int64).Add(1)
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "" {
				retryAfter.Add(1)
			}
		})
	}

	// The genuine sender, during the attack: it retries a 503 after Retry-After, at most 4 times.
	waitfor.Cond(t, 20*time.Second, func() bool {
		return value(t, reg, "avatarbus_ingest_body_bytes_in_flight") >= budget-bodyLen
	}, "the attack to fill the body budget")
	body := `{"type":"video.done","data":{"id":"during-the-attack"}}`
	h := signedSW(t, "genuine-during-attack", time.Now(), body)
	var attempts []int
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/acme", strings.NewReader(body))
		req.Header = h.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Logf("genuine request: %v", err)
			attempts = append(attempts, 0)
			break
		}
		resp.Body.Close()
		attempts = append(attempts, resp.StatusCode)
		if resp.StatusCode != 503 {
			break
		}
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(secs, 1)) * time.Second) // as the platforms retry
	}
	wg.Wait()
	close(stopSampling)
	<-sampled

	growth := int64(peak.Load()) - int64(baseline)
	var summary []string
	statuses.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%v×%d", v.(*atomic.Int64).Load(), k))
		return true
	})
	t.Logf("peak growth %d MB (baseline %d MB); senders answered %v (%d × 503 with Retry-After); genuine %v",
		growth>>20, baseline>>20, summary, retryAfter.Load(), attempts)
	if growth >= 400<<20 {
		t.Errorf("memory grew by %d MB with %d senders of %d-byte bodies, want < 400 MB", growth>>20, senders, bodyLen)
	}
	if last := attempts[len(attempts)-1]; last != 200 {
		t.Errorf("the genuine request during the attack: %v, want 200 in the end", attempts)
	}
	if got := value(t, reg, "avatarbus_ingest_body_bytes_in_flight"); got != 0 {
		t.Errorf("avatarbus_ingest_body_bytes_in_flight = %v after every request ended, want 0", got)
	}
}

// TestChunkedBodyCannotBypassTheBudget: a body of unknown length (chunked) is charged as it grows,
// so a 100 MiB one on a source that allows 128 MiB is refused 413 once it would need more than the
// whole 8 MiB budget, having been read no further than that.
func TestChunkedBodyCannotBypassTheBudget(t *testing.T) {
	t.Parallel()
	const budget = 8 << 20
	sources := testSources(t)
	sources[0].MaxBody = 128 << 20
	reg := metrics.NewRegistry()
	base, _ := serveIngest(t, ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: &fakePublisher{},
		Log: zerolog.Nop(), Metrics: metrics.New(reg), HTTP: ingest.HTTPConfig{MaxBodyBytesInFlight: budget}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		chunk := append([]byte(fmt.Sprintf("%x\r\n", 1<<20)), append(bytes.Repeat([]byte("x"), 1<<20), "\r\n"...)...)
		if _, err := conn.Write([]byte("POST /webhooks/acme HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")); err != nil {
			return
		}
		for range 100 { // 100 MiB, unless the server hangs up first
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
		_, _ = conn.Write([]byte("0\r\n\r\n"))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "max_body_bytes_in_flight") {
		t.Fatalf("%d %s, want 413 naming http.max_body_bytes_in_flight", resp.StatusCode, raw)
	}
	if read := value(t, reg, "avatarbus_request_bytes_total", "source", "acme"); read > budget+1 {
		t.Fatalf("%v bytes read of the chunked body, want at most the %d-byte budget", read, budget)
	}
	if held := value(t, reg, "avatarbus_ingest_body_bytes_in_flight"); held != 0 {
		t.Fatalf("%v bytes still held after the answer", held)
	}
}
