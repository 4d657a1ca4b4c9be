package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// fast is how quickly a hostile request must be answered.
const fast = 2 * time.Second

// hostileStack is the stack the hostile tests attack: the bounded run shortens the read timeouts
// so that slow clients are cut within seconds; -long uses ingest's defaults, as serve does.
func hostileStack(t *testing.T) (*reliability.Stack, ingest.HTTPConfig) {
	t.Helper()
	hc := bounded(ingest.HTTPConfig{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second}, ingest.HTTPConfig{})
	st := startStack(t, reliability.StackConfig{HTTP: hc})
	if hc.ReadHeaderTimeout == 0 {
		hc.ReadHeaderTimeout, hc.ReadTimeout = ingest.DefaultReadHeaderTimeout, ingest.DefaultReadTimeout
	}
	return st, hc
}

// answer is what the server said to one request.
type answer struct {
	status int
	code   string // the JSON body's "error", or "duplicate"/"stored" on 200
	body   string
	took   time.Duration
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s in %s: %.200q", a.status, a.code, a.took.Round(time.Millisecond), a.body)
}

// readAnswer reads one HTTP answer from r.
func readAnswer(r *bufio.Reader, start time.Time) (answer, error) {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return answer{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a := answer{status: resp.StatusCode, body: string(raw), took: time.Since(start)}
	var j struct {
		Error     string `json:"error"`
		Duplicate *bool  `json:"duplicate"`
	}
	if json.Unmarshal(raw, &j) == nil {
		a.code = j.Error
		if j.Duplicate != nil {
			a.code = map[bool]string{true: "duplicate", false: "stored"}[*j.Duplicate]
		}
	}
	return a, nil
}

// raw sends head (request line and headers, without the blank line) and body on a new
// connection, writing while it reads so that an early answer is seen, and returns the answer.
func raw(t *testing.T, st *reliability.Stack, head string, body []byte) answer {
	t.Helper()
	a, err := tryRaw(st, head, body)
	if err != nil {
		t.Fatalf("no answer after %s: %v", a.took, err)
	}
	return a
}

// tryRaw is raw that returns the error of reading the answer instead of failing.
func tryRaw(st *reliability.Stack, head string, body []byte) (answer, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(st.URL, "http://"))
	if err != nil {
		return answer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	go func() {
		// The server may answer and close before the body is sent: write errors are expected.
		_, _ = io.WriteString(conn, head+"\r\n\r\n")
		_, _ = conn.Write(body)
	}()
	return readAnswer(bufio.NewReader(conn), start)
}

// refusedUnread accepts, for a body the server refuses before reading all of it, either the
// expected answer or a connection reset: the server answers and closes with the rest of the body
// unread, and the kernel's reset can reach the client before the answer does. Either way the
// request must be refused fast.
func refusedUnread(t *testing.T, what string, a answer, err error, start time.Time, status int, code string) {
	t.Helper()
	switch {
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		if took := time.Since(start); took > fast {
			t.Errorf("%s: refused after %s, want within %s", what, took, fast)
		}
		t.Logf("%s: the client saw the connection reset instead of the answer: %v", what, err)
	case err != nil:
		t.Fatalf("%s: %v", what, err)
	default:
		expect(t, what, a, status, code)
	}
}

// send posts req with a fresh client and returns the answer.
func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	a, err := trySend(req)
	if err != nil {
		t.Fatalf("%s: %v", req.URL.Path, err)
	}
	return a
}

// trySend is send that returns the transport's error instead of failing.
func trySend(req *http.Request) (answer, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	var b bytes.Buffer
	_ = resp.Write(&b) // re-serialised so that readAnswer parses one shape
	return readAnswer(bufio.NewReader(&b), start)
}

// signed is a request to source signed by its secret, with msgID where the scheme carries one.
func signed(t *testing.T, st *reliability.Stack, source, msgID string, body []byte) *http.Request {
	t.Helper()
	req, err := reliability.SignedRequest(st.URL, source, msgID, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// unsigned is a POST to path (after st.URL) with body and no signature.
func unsigned(t *testing.T, st *reliability.Stack, path string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, st.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// expect fails t unless a has the status, the error code (when code is not empty) and was fast.
func expect(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.code != code) || a.took > fast {
		t.Errorf("%s: got %s; want %d %s within %s", what, a, status, code, fast)
	}
}

// stillServing fails t unless a normal signed request is stored quickly.
func stillServing(t *testing.T, st *reliability.Stack) {
	t.Helper()
	id := fmt.Sprintf("alive-%d", time.Now().UnixNano())
	a := send(t, signed(t, st, reliability.LoadSource, id, []byte(`{"type":"video.done","data":{"id":"alive"}}`)))
	expect(t, "a normal request afterwards", a, 200, "stored")
}

func nested(depth int, inner string) []byte {
	return []byte(strings.Repeat(`{"a":[`, depth) + inner + strings.Repeat(`]}`, depth))
}

// TestHostileBodies sends signed and unsigned bodies a parser could choke on. A genuine request is
// stored whatever its body (non-JSON ones as base64 raw, under avatar.unrecognized when the event
// cannot be read); an unsigned one is refused before any parsing; every answer comes fast.
func TestHostileBodies(t *testing.T) {
	skipShort(t)
	st, _ := hostileStack(t)
	deepArray := []byte(strings.Repeat("[", 500_000) + strings.Repeat("]", 500_000)) // ~1 MB, just under max_body
	bodies := []struct {
		name string
		body []byte
	}{
		{"invalid UTF-8", []byte("\xff\xfe\xfd not even text \xc3\x28")},
		{"invalid UTF-8 inside JSON strings", []byte("{\"type\":\"video.done\xff\",\"data\":{\"id\":\"v\xc3\x28\"}}")},
		{"UTF-16 with BOM", []byte("\xff\xfe{\x00\"\x00t\x00\"\x00:\x001\x00}\x00")},
		{"deeply nested JSON (100k levels)", nested(100_000, `1`)},
		{"deeply nested array (500k levels)", deepArray},
		{"event inside deep nesting", append([]byte(`{"type":"video.done","data":{"id":"deep","x":`), append(nested(20_000, `2`), '}', '}')...)},
		{"huge exponent", []byte(`{"type":"video.done","data":{"id":"huge","duration":1e999999999}}`)},
		{"500k-digit number", []byte(`{"type":"video.done","data":{"id":"digits","n":` + strings.Repeat("9", 500_000) + `}}`)},
		{"huge negative and NaN-like", []byte(`{"type":"video.done","data":{"id":"neg","duration":-1e308,"x":NaN,"y":Infinity}}`)},
		{"duplicate keys", []byte(`{"type":"video.done","type":"video.failed","data":{"id":"a"},"data":{"id":"b"}}`)},
		{"NUL bytes and control characters", []byte("{\"type\":\"video.done\\u0000\",\"data\":{\"id\":\"\\u0000\\u001b[31m\"}}\x00\x00")},
		{"50 thousand keys", []byte(`{"type":"video.done","data":{"id":"keys"` + strings.Repeat(`,"k":0`, 50_000) + `}}`)},
		{"empty", nil},
	}
	for i, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			a := send(t, signed(t, st, reliability.LoadSource, fmt.Sprintf("body-%d", i), b.body))
			expect(t, "signed", a, 200, "stored")
			again := send(t, signed(t, st, reliability.LoadSource, fmt.Sprintf("body-%d", i), b.body))
			expect(t, "signed redelivery", again, 200, "duplicate")
			expect(t, "unsigned", send(t, unsigned(t, st, "/webhooks/"+reliability.LoadSource, b.body)), 401, "missing_header")
		})
	}
	t.Run("over max_body with Content-Length", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), ingest.DefaultMaxBody+1)
		start := time.Now()
		a, err := trySend(signed(t, st, reliability.LoadSource, "big", big))
		refusedUnread(t, "signed", a, err, start, 413, "body_too_large")
	})
	t.Run("Content-Length claims 1 TB", func(t *testing.T) {
		a := raw(t, st, "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776", []byte("{}"))
		expect(t, "liar", a, 413, "body_too_large")
	})
	t.Run("chunked body streaming past max_body", func(t *testing.T) {
		var chunks bytes.Buffer
		chunk := strings.Repeat("y", 64<<10)
		for range 40 { // 2.5 MiB
			fmt.Fprintf(&chunks, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		chunks.WriteString("0\r\n\r\n")
		start := time.Now()
		a, err := tryRaw(st, "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", chunks.Bytes())
		refusedUnread(t, "chunked", a, err, start, 413, "body_too_large")
	})
	t.Run("malformed chunked encoding", func(t *testing.T) {
		a := raw(t, st, "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", []byte("zz\r\nnot hex\r\n"))
		expect(t, "bad chunk", a, 400, "body_unreadable")
	})
	t.Run("Content-Length and Transfer-Encoding together", func(t *testing.T) {
		a := raw(t, st, "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked", []byte("0\r\n\r\n"))
		if a.status != 400 && a.status != 401 || a.took > fast {
			t.Errorf("request smuggling shape: %s, want 400 or 401", a)
		}
	})
	stillServing(t, st)
	checkStoredEnvelopes(t, embeddedJetStream(t, st))
}

// checkStoredEnvelopes fails t unless every stored message is UTF-8 JSON (RFC 8259: what strict
// consumers in other languages require) and a valid envelope whose id is its Nats-Msg-Id.
func checkStoredEnvelopes(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, reliability.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		id := msg.Header.Get(jetstream.MsgIDHeader)
		if !utf8.Valid(msg.Data) || !json.Valid(msg.Data) {
			t.Errorf("%s: stored message is not UTF-8 JSON: %.120q", id, msg.Data)
			continue
		}
		ev, err := envelope.Unmarshal(msg.Data)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if err := ev.Validate(); err != nil || ev.ID != id {
			t.Errorf("%s: invalid envelope %q: %v", id, ev.ID, err)
		}
	}
}

// TestContentTypesAreNotTrusted: the signature covers the raw bytes, whatever the request says
// they are, so a genuine request is stored with a wrong, missing or odd content type, and an
// unsigned one is refused with all of them (no form or multipart parsing happens first).
func TestContentTypesAreNotTrusted(t *testing.T) {
	skipShort(t)
	st, _ := hostileStack(t)
	body := []byte(`a=b&type=video.done&data[id]=form`)
	for i, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zzz",
		"multipart/form-data", "application/json; charset=iso-8859-1", "application/xml", "(garbage) ;;; =/=", strings.Repeat("a", 4000)} {
		t.Run(fmt.Sprintf("%.40q", ct), func(t *testing.T) {
			req := signed(t, st, reliability.LoadSource, fmt.Sprintf("ct-%d", i), body)
			req.Header.Del("Content-Type")
			if ct != "" {
				req.Header["Content-Type"] = []string{ct}
			}
			expect(t, "signed", send(t, req), 200, "stored")
			req = unsigned(t, st, "/webhooks/load", body)
			if ct != "" {
				req.Header["Content-Type"] = []string{ct}
			}
			expect(t, "unsigned", send(t, req), 401, "missing_header")
		})
	}
	stillServing(t, st)
}

// TestOddSourceNames: traversal, encoded slashes, NUL, case, very long names: each is an unknown
// source (404 with a JSON error) or a request net/http refuses itself (400, 431), never a 2xx or
// a 5xx, and always fast.
func TestOddSourceNames(t *testing.T) {
	skipShort(t)
	st, _ := hostileStack(t)
	paths := []string{
		"/webhooks/..%2F..%2Fetc%2Fpasswd", "/webhooks/../../etc/passwd", "/webhooks/load%2F..", "/webhooks/load%2Fload",
		"/webhooks/%2e%2e", "/webhooks/.", "/webhooks/load%00", "/webhooks/LOAD", "/webhooks/load%20", "/webhooks/lo%C3%A9d",
		"/webhooks/load/extra", "/webhooks//load", "/webhooks/", "/webhooks", "//webhooks/load", "/webhooks/%ZZ",
		"/webhooks/" + strings.Repeat("a", 8000), "/webhooks/" + strings.Repeat("%2F", 5000),
		"/webhooks/" + strings.Repeat("a", 70_000), // past MaxHeaderBytes
	}
	for _, p := range paths {
		t.Run(fmt.Sprintf("%.60s", p), func(t *testing.T) {
			a := raw(t, st, "POST "+p+" HTTP/1.1\r\nHost: x\r\nContent-Length: 2", []byte("{}"))
			switch {
			case a.took > fast:
				t.Errorf("slow: %s", a)
			case a.status == 404 || a.status == 405:
				if a.code == "" {
					t.Errorf("%d without a JSON error: %s", a.status, a)
				}
			case a.status == 400 || a.status == 431:
				// net/http's own refusal of an unparsable or oversized request line.
			default:
				t.Errorf("got %s, want 404/405 with a JSON error, or 400/431", a)
			}
		})
	}
	stillServing(t, st)
}

// TestHeaderFloods: many headers, huge headers and repeated signature headers are refused (431 past
// the header limit, 401 when the signature headers are unusable) or, when within the limit and
// signed, stored; always fast.
func TestHeaderFloods(t *testing.T) {
	skipShort(t)
	st, _ := hostileStack(t)
	body := []byte(`{"type":"video.done","data":{"id":"flood"}}`)
	withHeaders := func(req *http.Request, n int, value string) *http.Request {
		for i := range n {
			req.Header.Set(fmt.Sprintf("X-Flood-%d", i), value)
		}
		return req
	}
	expect(t, "3000 small headers, signed", send(t, withHeaders(signed(t, st, "load", "flood-ok", body), 3000, "v")), 200, "stored")
	expect(t, "8000 headers past the limit", send(t, withHeaders(signed(t, st, "load", "flood-big", body), 8000, "v")), 431, "")
	expect(t, "one 100 KB header", send(t, withHeaders(signed(t, st, "load", "flood-one", body), 1, strings.Repeat("v", 100<<10))), 431, "")
	expect(t, "one 50 KB header within the limit", send(t, withHeaders(signed(t, st, "load", "flood-half", body), 1, strings.Repeat("v", 50<<10))), 200, "stored")

	req := signed(t, st, "load", "flood-sigs", body)
	req.Header.Del("Webhook-Signature")
	for range 1000 {
		req.Header.Add("Webhook-Signature", "v1,bm90IGEgc2lnbmF0dXJl")
	}
	expect(t, "1000 repeated wrong signature headers", send(t, req), 401, "malformed_header")

	req = signed(t, st, "load", "flood-sig-long", body)
	req.Header.Set("Webhook-Signature", strings.Repeat("v1,"+strings.Repeat("A", 40)+" ", 1200)+req.Header.Get("Webhook-Signature"))
	expect(t, "1200 signatures in one header, the valid one last", send(t, req), 200, "stored")

	req = signed(t, st, "load", "flood-ids", body)
	req.Header.Add("Webhook-Id", "another-id")
	expect(t, "two different webhook-ids", send(t, req), 401, "malformed_header")

	req = signed(t, st, "load", "flood-ts", body)
	req.Header.Set("Webhook-Timestamp", strings.Repeat("9", 5000))
	expect(t, "5000-digit timestamp", send(t, req), 401, "")
	stillServing(t, st)
}

// TestSlowClients opens slowloris connections, dripping headers or a body a byte at a time, while
// normal requests go on: those are answered fast, and the server cuts each slow connection within
// its read timeout (ReadHeaderTimeout for headers, ReadTimeout for the body).
func TestSlowClients(t *testing.T) {
	skipShort(t)
	st, hc := hostileStack(t)
	addr := strings.TrimPrefix(st.URL, "http://")
	const conns = 50
	type cut struct {
		kind  string
		after time.Duration
		said  string
	}
	cuts := make(chan cut, 2*conns)
	drip := func(kind, head string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			cuts <- cut{kind: kind, said: err.Error()}
			return
		}
		defer conn.Close()
		start := time.Now()
		_, _ = io.WriteString(conn, head)
		said := make(chan string, 1)
		go func() { // whatever the server says (an error answer or nothing) before it closes
			b, _ := io.ReadAll(conn)
			said <- string(b)
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case s := <-said:
				cuts <- cut{kind, time.Since(start), s}
				return
			case <-tick.C:
				_, _ = conn.Write([]byte("a"))
			case <-time.After(hc.ReadTimeout + 10*time.Second):
				cuts <- cut{kind, time.Since(start), "still open"}
				return
			}
		}
	}
	body := []byte(`{"type":"video.done","data":{"id":"slow"}}`)
	req := signed(t, st, reliability.LoadSource, "slow-body", body)
	var head strings.Builder
	fmt.Fprintf(&head, "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n")
	for k, v := range req.Header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v[0])
	}
	head.WriteString("\r\n")
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() { drip("headers", "POST /webhooks/load HTTP/1.1\r\nHost: x\r\nX-Slow: ") })
		wg.Go(func() { drip("body", head.String()) })
	}
	// The slow clients connect first; they are what the requests below run among.
	time.Sleep(200 * time.Millisecond)
	for i := range 20 { // the server keeps serving meanwhile
		a := send(t, signed(t, st, reliability.LoadSource, fmt.Sprintf("during-slow-%d", i), body))
		expect(t, "a normal request among slow clients", a, 200, "stored")
	}
	wg.Wait()
	close(cuts)
	var worst = map[string]time.Duration{}
	said := map[string]string{}
	for c := range cuts {
		limit := map[string]time.Duration{"headers": hc.ReadHeaderTimeout, "body": hc.ReadTimeout}[c.kind] + 2*time.Second
		if c.after > limit || c.said == "still open" {
			t.Errorf("slow %s connection cut after %s (%q), want within %s", c.kind, c.after, c.said, limit)
		}
		worst[c.kind] = max(worst[c.kind], c.after)
		said[c.kind] = c.said
	}
	t.Logf("%d slow-header connections cut within %s (limit %s), answer %.60q", conns, worst["headers"].Round(time.Millisecond), hc.ReadHeaderTimeout, said["headers"])
	t.Logf("%d slow-body connections cut within %s (limit %s), answer %.60q", conns, worst["body"].Round(time.Millisecond), hc.ReadTimeout, said["body"])
	stillServing(t, st)
}

// TestHostileMemoryBounded sends a few thousand hostile requests (oversized, deeply nested,
// header floods, bad signatures) and measures the heap: what they allocate is given back, and the
// peak stays far below what the inputs would take if they were held.
func TestHostileMemoryBounded(t *testing.T) {
	skipShort(t)
	st, _ := hostileStack(t)
	rounds := bounded(50, 1000)
	deep := nested(20_000, `1`)
	big := bytes.Repeat([]byte("x"), 2<<20)
	flood := func(req *http.Request) *http.Request {
		for i := range 3000 {
			req.Header.Set(fmt.Sprintf("X-Flood-%d", i), "v")
		}
		return req
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	stillServing(t, st) // warm up: first allocations of every layer
	before := heap()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range rounds {
				var req *http.Request
				switch i % 5 {
				case 0:
					req = signed(t, st, "load", fmt.Sprintf("mem-deep-%d", w), deep) // stored once, then duplicates
				case 1:
					req = unsigned(t, st, "/webhooks/load", big) // 413
				case 2:
					req = flood(signed(t, st, "load", fmt.Sprintf("mem-flood-%d", w), []byte(`{}`)))
				case 3:
					req = unsigned(t, st, "/webhooks/"+strings.Repeat("x", 4000), deep) // 404
				case 4:
					req = signed(t, st, "load", "mem-bad", deep)
					req.Header.Set("Webhook-Signature", "v1,"+strings.Repeat("A", 44)) // 401
				}
				resp, err := client.Do(req)
				if err != nil && i%5 == 1 {
					// The 413 came from Content-Length and the server closed the connection while
					// the client was still sending: counted as refused.
					mu.Lock()
					statuses[http.StatusRequestEntityTooLarge]++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	client.CloseIdleConnections()
	after := heap()
	sentMiB := float64(4*rounds/5) * (3*float64(len(deep)) + float64(len(big))) / (1 << 20)
	t.Logf("%d hostile requests (%v), ~%.0f MiB of bodies sent: heap in use %.1f MiB before, %.1f MiB after, peak %.1f MiB",
		4*rounds, statuses, sentMiB, mib(before), mib(after), mib(peak.Load()))
	if after > before+32<<20 {
		t.Errorf("heap grew by %.1f MiB after the hostile requests, want < 32 MiB", mib(after-before))
	}
	if peak.Load() > before+256<<20 {
		t.Errorf("heap peaked at %.1f MiB above the start, want < 256 MiB", mib(peak.Load()-before))
	}
	if statuses[200] == 0 || statuses[413] == 0 || statuses[401] == 0 || statuses[404] == 0 {
		t.Errorf("the mix did not reach every refusal: %v", statuses)
	}
	stillServing(t, st)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
