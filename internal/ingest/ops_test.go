package ingest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/verify"
)

// quarantined returns the messages of the quarantine stream, decoded.
func (st *stack) quarantined(t *testing.T) []*broker.Refused {
	t.Helper()
	ctx := context.Background()
	s, err := st.js.Stream(ctx, "AVATAR_QUARANTINE")
	if err != nil {
		t.Fatalf("quarantine stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*broker.Refused
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw.Subject, "quarantine.avatar.") {
			t.Fatalf("quarantined on %q", raw.Subject)
		}
		r, err := broker.RefusedFromMsg(raw.Header, raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestBadSignatureIsQuarantinedNotPublished(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{quarantine: true, level: zerolog.InfoLevel})
	const marker = "QUARANTINE-BODY-42"
	body := `{"type":"video.done","data":{"id":"` + marker + `"}}`
	h := signedSW(t, "msg_q", time.Now(), body)
	h.Set("Authorization", "Bearer some-proxy-credential")
	forged := strings.Replace(body, marker, marker+"-forged", 1)

	a := post(t, st.url+"/webhooks/acme?trace=1", h, forged)
	if a.status != 401 || a.body["error"] != "signature_mismatch" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	// A token source: the token is the secret and must never be kept, query or not.
	if b := post(t, st.url+"/webhooks/did?token=guessed-token-beef", nil, body); b.status != 401 {
		t.Fatalf("did: %d %v", b.status, b.body)
	}
	// Refusals that anyone can produce in bulk are not kept.
	big := `{"pad":"` + strings.Repeat("x", 5000) + `"}`
	for _, r := range []struct {
		path, body string
		status     int
	}{{"/webhooks/nope", body, 404}, {"/webhooks/acme", big, 413}} {
		if got := post(t, st.url+r.path, h, r.body); got.status != r.status {
			t.Fatalf("%s: %d %v", r.path, got.status, got.body)
		}
	}

	if n := streamMsgs(t, st.js); n != 0 {
		t.Fatalf("a refused request reached the event stream: %d messages", n)
	}
	kept := st.quarantined(t)
	if len(kept) != 2 {
		t.Fatalf("%d quarantined requests, want 2 (the two 401s): %+v", len(kept), kept)
	}
	r := kept[0]
	if r.Source != "acme" || r.Reason != "signature_mismatch" || r.Detail == "" || string(r.Body) != forged {
		t.Fatalf("quarantined %+v", r)
	}
	if r.RequestID == "" || r.RequestID != a.header.Get("X-Request-Id") {
		t.Fatalf("request id %q, answered %q", r.RequestID, a.header.Get("X-Request-Id"))
	}
	if time.Since(r.ReceivedAt) > time.Minute {
		t.Fatalf("received at %s", r.ReceivedAt)
	}
	if r.Path != "/webhooks/acme" || !r.QueryDropped {
		t.Fatalf("path %q, query dropped %v", r.Path, r.QueryDropped)
	}
	for _, k := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		if r.Header.Get(k) != h.Get(k) {
			t.Fatalf("header %s = %q, want %q as sent", k, r.Header.Get(k), h.Get(k))
		}
	}
	if got := r.Header.Get("Authorization"); got != "[masked]" {
		t.Fatalf("Authorization kept as %q", got)
	}
	// The signature headers kept are enough to verify the request again.
	v := mustVerifier(t, verify.Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}})
	_, err := v.Verify(verify.Request{Header: toMIME(r.Header), Body: []byte(forged), Now: r.ReceivedAt})
	if verify.ReasonOf(err) != "signature_mismatch" {
		t.Fatalf("re-verifying the kept request: %v", err)
	}
	_, err = v.Verify(verify.Request{Header: toMIME(r.Header), Body: []byte(body), Now: r.ReceivedAt})
	if err != nil {
		t.Fatalf("the kept headers no longer verify the genuine body: %v", err)
	}

	did := kept[1]
	if did.Source != "did" || did.Reason != "signature_mismatch" || !did.QueryDropped || did.Path != "/webhooks/did" {
		t.Fatalf("token source quarantined as %+v", did)
	}
	for k, vs := range did.Header {
		if strings.Contains(strings.Join(vs, ","), "guessed-token") {
			t.Fatalf("the token was kept in header %s", k)
		}
	}
	if got := value(t, st.reg, "avatarbus_quarantined_total", "source", "acme", "result", "stored"); got != 1 {
		t.Fatalf("quarantined stored = %v", got)
	}
	if logs := st.logs.String(); !strings.Contains(logs, `"quarantine_seq":1`) {
		t.Fatalf("the refusal's log line does not name its quarantine sequence:\n%s", logs)
	}
}

// toMIME converts kept headers for verify.Request.
func toMIME(h http.Header) map[string][]string { return h }

func TestQuarantineOffKeepsNothing(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{level: zerolog.InfoLevel})
	body := `{"type":"video.done","data":{"id":"v"}}`
	a := post(t, st.url+"/webhooks/acme", signedSW(t, "m", time.Now(), body), body+" ")
	if a.status != 401 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if _, err := st.js.Stream(context.Background(), "AVATAR_QUARANTINE"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("quarantine stream with quarantine off: %v", err)
	}
	if n := streamMsgs(t, st.js); n != 0 {
		t.Fatalf("%d messages on the event stream", n)
	}
	if strings.Contains(st.logs.String(), "quarantine") {
		t.Fatalf("quarantine mentioned while off:\n%s", st.logs)
	}
}

func TestRateLimitAnswers429PerSource(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{level: zerolog.InfoLevel, limits: map[string]*ingest.RateLimit{
		"acme":   {RPS: 1, Burst: 2},
		"heygen": {RPS: 1, Burst: 1},
	}})
	body := `{"type":"video.done","data":{"id":"v"}}`
	var statuses []int
	var limited answer
	for i := range 5 {
		a := post(t, st.url+"/webhooks/acme", signedSW(t, fmt.Sprintf("burst%d", i), time.Now(), body), body)
		statuses = append(statuses, a.status)
		if a.status == http.StatusTooManyRequests && limited.status == 0 {
			limited = a
		}
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 || statuses[4] != 429 {
		t.Fatalf("statuses %v, want 200 200 then 429 (burst 2, 1 rps)", statuses)
	}
	if got := limited.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1 (the next token in under a second, rounded up)", got)
	}
	if limited.body["error"] != "rate_limited" || limited.body["request_id"] != limited.header.Get("X-Request-Id") || limited.body["request_id"] == "" {
		t.Fatalf("429 body %v", limited.body)
	}

	// Another source has its own bucket: acme's flood does not touch it.
	heygenBody := `{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`
	vc := preset(t, "heygen").DefaultVerify()
	sig, err := verify.SignHMAC(vc, heygenSecret, "", time.Time{}, []byte(heygenBody))
	if err != nil {
		t.Fatal(err)
	}
	hh := http.Header{}
	hh.Set(vc.Header, sig)
	hh.Set(vc.TimestampHeader, strconv.FormatInt(time.Now().Unix(), 10)) // required, not signed
	if a := post(t, st.url+"/webhooks/heygen", hh, heygenBody); a.status != 200 {
		t.Fatalf("heygen while acme is limited: %d %v", a.status, a.body)
	}
	// A source without a limit is never limited.
	for i := range 5 {
		if a := post(t, st.url+"/webhooks/did?token="+didToken, nil, fmt.Sprintf(`{"n":%d}`, i)); a.status != 200 {
			t.Fatalf("unlimited source: %d %v", a.status, a.body)
		}
	}
	// Retry-After says when: after it, acme is served again.
	time.Sleep(time.Second) // waiting out the window is the behaviour under test
	if a := post(t, st.url+"/webhooks/acme", signedSW(t, "after", time.Now(), body), body); a.status != 200 {
		t.Fatalf("after Retry-After: %d %v", a.status, a.body)
	}
	if got := requests(t, st.reg, "acme", "rate_limited"); got != 3 {
		t.Fatalf("rate_limited = %v, want 3", got)
	}
	if got := requests(t, st.reg, "heygen", "rate_limited"); got != 0 {
		t.Fatalf("heygen rate_limited = %v", got)
	}
	// Three 429s in a row write one sampled line, not three.
	if n := strings.Count(st.logs.String(), "rate limit exceeded"); n != 1 {
		t.Fatalf("%d rate-limit log lines, want 1:\n%s", n, st.logs)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{limits: map[string]*ingest.RateLimit{"did": {RPS: 0.25, Burst: 1}}})
	if a := post(t, st.url+"/webhooks/did?token="+didToken, nil, `{}`); a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	a := post(t, st.url+"/webhooks/did?token="+didToken, nil, `{}`)
	if a.status != 429 || a.header.Get("Retry-After") != "4" {
		t.Fatalf("%d Retry-After %q, want 429 and 4 (one token per 4s)", a.status, a.header.Get("Retry-After"))
	}
}

// TestSlowlorisIsCutByReadHeaderTimeout: a client that dribbles its headers loses its connection
// at read_header_timeout, and meanwhile another client is served at once.
func TestSlowlorisIsCutByReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{http: ingest.HTTPConfig{ReadHeaderTimeout: 300 * time.Millisecond}})
	addr := strings.TrimPrefix(st.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("POST /webhooks/acme HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	cut := make(chan time.Duration, 1)
	go func() {
		// Dribble one header byte every 50ms until the server hangs up.
		for i := 0; i < 100; i++ {
			if _, err := conn.Write([]byte("X")); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond) // the slow client's pace: the behaviour under test
		}
		cut <- time.Since(start)
	}()
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = bufio.NewReader(conn).ReadByte() // returns when the server closes the connection
		conn.Close()
	}()

	body := `{"type":"video.done","data":{"id":"v"}}`
	a := post(t, st.url+"/webhooks/acme", signedSW(t, "meanwhile", time.Now(), body), body)
	if a.status != 200 || a.took > time.Second {
		t.Fatalf("the other client: %d after %s", a.status, a.took)
	}
	select {
	case took := <-cut:
		if took < 250*time.Millisecond || took > 2*time.Second {
			t.Fatalf("slow client cut after %s, want about the 300ms read_header_timeout", took)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("the slow client was never cut")
	}
}

// TestEveryAnswerCarriesARequestID: 200, 401, 404 (unknown source and unknown route), 405, 413,
// 429 and 503 all carry X-Request-Id, and error bodies repeat it.
func TestEveryAnswerCarriesARequestID(t *testing.T) {
	t.Parallel()
	body := `{"type":"video.done","data":{"id":"v"}}`
	sources := testSources(t)
	sources[0].RateLimit = &ingest.RateLimit{RPS: 0.001, Burst: 1}
	ok := ingest.New(ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: &fakePublisher{}, Log: zerolog.Nop()})
	down := ingest.New(ingest.Config{Sources: testSources(t), SubjectPrefix: "avatar", Publisher: &fakePublisher{err: broker.ErrUnavailable}, Log: zerolog.Nop()})
	big := strings.Repeat("x", 5000)
	for _, tt := range []struct {
		name   string
		srv    *ingest.Server
		method string
		path   string
		body   string
		signed bool
		status int
	}{
		{"stored", ok, "POST", "/webhooks/acme", body, true, 200},
		{"rate limited", ok, "POST", "/webhooks/acme", body, true, 429},
		{"unauthorized", down, "POST", "/webhooks/acme", body, false, 401},
		{"unknown source", down, "POST", "/webhooks/nope", body, true, 404},
		{"unknown route", down, "GET", "/elsewhere", "", false, 404},
		{"wrong method", down, "GET", "/webhooks/acme", "", false, 405},
		{"too large", down, "POST", "/webhooks/acme", big, true, 413},
		{"unavailable", down, "POST", "/webhooks/acme", body, true, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.signed {
				for k, v := range signedSW(t, "rid", time.Now(), tt.body) {
					req.Header[k] = v
				}
			}
			rec := httptest.NewRecorder()
			tt.srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			id := rec.Header().Get("X-Request-Id")
			if id == "" {
				t.Fatal("no X-Request-Id")
			}
			if tt.status != 200 {
				var p map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["request_id"] != id || p["error"] == "" {
					t.Fatalf("error body %s (%v), want the request id %s", rec.Body, err, id)
				}
			}
		})
	}
}

// TestInfoLogsCarryNoBodyNorSecret captures the info-level log of refused (401 with quarantine,
// 404, 413, 429) and accepted requests: every line of a request carries its request id, and no
// line holds a body, a secret, a token or a query string.
func TestInfoLogsCarryNoBodyNorSecret(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{quarantine: true, level: zerolog.InfoLevel,
		// Burst 1: the guessed token spends the unverified budget, not the valid token's.
		limits: map[string]*ingest.RateLimit{"did": {RPS: 0.001, Burst: 1}}})
	startup := len(st.logs.String())
	const marker = "LOG-BODY-MARKER-5ee"
	body := `{"type":"video.done","data":{"id":"` + marker + `"}}`
	h := signedSW(t, "msg_log", time.Now(), body)
	h.Set("Authorization", "Bearer proxy-secret-99")
	forged := strings.Replace(body, marker, marker+"-x", 1)
	const guessed = "guessed-token-f00d"
	var ids []string
	for _, r := range []struct {
		path, body string
		h          http.Header
		status     int
	}{
		{"/webhooks/acme", forged, h, 401},
		{"/webhooks/acme", body, h, 200},
		{"/webhooks/did?token=" + guessed, body, nil, 401},
		{"/webhooks/did?token=" + didToken, body, nil, 200},
		{"/webhooks/did?token=" + didToken, body, nil, 429},
		{"/webhooks/acme", body + strings.Repeat(" ", 5000), h, 413},
		{"/webhooks/" + marker, body, h, 404},
	} {
		a := post(t, st.url+r.path, r.h, r.body)
		if a.status != r.status {
			t.Fatalf("%s: %d %v, want %d", r.path, a.status, a.body, r.status)
		}
		ids = append(ids, a.header.Get("X-Request-Id"))
	}
	logs := st.logs.String()[startup:]
	for _, secret := range []string{marker, swSecret, didToken, guessed, "token=", "proxy-secret-99", h.Get("Webhook-Signature")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) < 4 {
		t.Fatalf("%d log lines, want one per refusal that is worth a line (401, 401, 429, 413):\n%s", len(lines), logs)
	}
	for _, line := range lines {
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if id, _ := fields["request_id"].(string); id == "" {
			t.Errorf("a request's log line without request_id: %s", line)
		}
	}
	for i, status := range []int{401, 200, 401, 200, 429, 413} {
		if status == 200 {
			if strings.Contains(logs, ids[i]) {
				t.Errorf("a stored request logged at info level (request %s)", ids[i])
			}
			continue
		}
		if !strings.Contains(logs, `"request_id":"`+ids[i]+`"`) {
			t.Errorf("the %d answer's request id %s is in no log line:\n%s", status, ids[i], logs)
		}
	}
}

// TestReloadChangesTheRateLimit: a reload (SIGHUP) with another rate_limit takes effect for the
// next request, with a fresh bucket; one without a limit lifts it.
func TestReloadChangesTheRateLimit(t *testing.T) {
	t.Parallel()
	body := `{"type":"video.done","data":{"id":"v"}}`
	sources := testSources(t)
	sources[0].RateLimit = &ingest.RateLimit{RPS: 0.001, Burst: 1}
	srv := ingest.New(ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: &fakePublisher{}, Log: zerolog.Nop()})
	status := func() int {
		req := httptest.NewRequest("POST", "/webhooks/acme", strings.NewReader(body))
		for k, v := range signedSW(t, "reload", time.Now(), body) {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	if a, b := status(), status(); a != 200 || b != 429 {
		t.Fatalf("burst 1: %d, %d", a, b)
	}
	reloaded := testSources(t)
	reloaded[0].RateLimit = &ingest.RateLimit{RPS: 0.001, Burst: 3}
	if err := srv.Reload(reloaded); err != nil {
		t.Fatal(err)
	}
	if got := []int{status(), status(), status(), status()}; got[0] != 200 || got[2] != 200 || got[3] != 429 {
		t.Fatalf("after reloading with burst 3: %v", got)
	}
	if err := srv.Reload(testSources(t)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if s := status(); s != 200 {
			t.Fatalf("after reloading without a limit: %d", s)
		}
	}
}

// TestIncomingRequestIDIsKeptOnlyWhenFit: a proxy's X-Request-Id is echoed; an overlong or odd
// one is replaced by a generated id.
func TestIncomingRequestIDIsKeptOnlyWhenFit(t *testing.T) {
	t.Parallel()
	srv := ingest.New(ingest.Config{Sources: testSources(t), SubjectPrefix: "avatar", Publisher: &fakePublisher{}, Log: zerolog.Nop()})
	for _, tt := range []struct {
		in   string
		kept bool
	}{
		{"lb-7f3a:42.x_y", true},
		{strings.Repeat("a", 129), false},
		{"has space", false},
		{`{"json":1}`, false},
	} {
		req := httptest.NewRequest("POST", "/webhooks/nope", strings.NewReader("{}"))
		req.Header.Set("X-Request-Id", tt.in)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if (got == tt.in) != tt.kept || got == "" {
			t.Errorf("incoming %q: answered with %q, kept %v", tt.in, got, tt.kept)
		}
	}
}
