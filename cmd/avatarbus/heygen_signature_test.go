package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/platform"
)

// heygenSecret looks like the secret HeyGen returns for a v3 endpoint: it is used as is, whsec_
// prefix included (developers.heygen.com/docs/webhooks, "Verifying Payloads").
const heygenSecret = "whsec_k7x9m2QhYw3vTz8pLq4N"

// nodeStyleHMAC is what a HeyGen receiver written in Node computes:
// crypto.createHmac('sha256', secret).update(rawBody).digest('hex'), here with crypto/hmac directly,
// independently of package verify.
func nodeStyleHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// externalHMACs computes the same MAC with node and python3 when they are installed, so the Go
// computation is held to what other runtimes write. It returns the tools it found.
func externalHMACs(t *testing.T, secret, bodyFile string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tools := map[string][]string{
		"node": {"-e", "process.stdout.write(require('crypto').createHmac('sha256', process.argv[1])" +
			".update(require('fs').readFileSync(process.argv[2])).digest('hex'))", secret, bodyFile},
		"python3": {"-c", "import hmac,hashlib,sys;sys.stdout.write(hmac.new(sys.argv[1].encode(),open(sys.argv[2],'rb').read()," +
			"hashlib.sha256).hexdigest())", secret, bodyFile},
	}
	for tool, args := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not on PATH: its cross-check is skipped", tool)
			continue
		}
		got, err := exec.Command(tool, args...).Output()
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		out[tool] = string(got)
	}
	return out
}

// TestHeyGenDocumentedSignatureEndToEnd posts a HeyGen fixture signed as HeyGen documents it through
// the real ingest server into a real in-process JetStream: stored once, redelivery answered
// duplicate, every forgery or stale delivery 401 and not stored.
func TestHeyGenDocumentedSignatureEndToEnd(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: %q
    store_dir: %q
sources:
  - name: heygen
    platform: heygen
    secrets: [%q]
`, listen, natsListen, filepath.Join(dir, "js"), heygenSecret)
	startServe(t, mustLoadConfig(t, yaml))
	url := "http://" + listen + "/webhooks/heygen"

	bodyFile := "../../platform/fixtures/heygen/avatar_video.success.json"
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		t.Fatal(err)
	}
	sig := nodeStyleHMAC(heygenSecret, body)
	for tool, got := range externalHMACs(t, heygenSecret, bodyFile) {
		if got != sig {
			t.Fatalf("%s computes %s, Go %s", tool, got, sig)
		}
	}

	unix := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	delivery := func(sig, ts, eventID string) signedRequest {
		h := http.Header{"Content-Type": {"application/json"}, "Heygen-Signature": {sig}, "Heygen-Event-Id": {eventID}}
		if ts != "" {
			h.Set("Heygen-Timestamp", ts)
		}
		return signedRequest{header: h, body: string(body)}
	}
	const wantID = "heygen:avatar_video.success:5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47"
	tests := []struct {
		name      string
		req       signedRequest
		status    int
		duplicate bool
		reason    string
	}{
		{"documented", delivery(sig, unix(0), "evt_first"), http.StatusOK, false, ""},
		// A redelivery: new timestamp, and (as an attacker could) another unsigned event id.
		{"redelivery with another Heygen-Event-Id", delivery(sig, unix(time.Minute), "evt_forged"), http.StatusOK, true, ""},
		{"wrong secret", delivery(nodeStyleHMAC("whsec_other", body), unix(0), "evt_2"), http.StatusUnauthorized, false, "signature_mismatch"},
		{"secret stripped of whsec_", delivery(nodeStyleHMAC(strings.TrimPrefix(heygenSecret, "whsec_"), body), unix(0), "evt_3"),
			http.StatusUnauthorized, false, "signature_mismatch"},
		{"older than 5 min", delivery(sig, unix(-6*time.Minute), "evt_4"), http.StatusUnauthorized, false, "timestamp_out_of_tolerance"},
		{"missing timestamp", delivery(sig, "", "evt_5"), http.StatusUnauthorized, false, "missing_header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postWebhook(t, url, tt.req)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.status == http.StatusOK && (a.body["id"] != wantID || a.body["duplicate"] != tt.duplicate) {
				t.Fatalf("answer %s, want id %s duplicate %v", a.raw, wantID, tt.duplicate)
			}
			if tt.reason != "" && a.body["error"] != tt.reason {
				t.Fatalf("answer %s, want error %s", a.raw, tt.reason)
			}
		})
	}

	// The stream holds the event once, with the platform's event id of the first delivery.
	stream, info := avatarStreamInfo(t, natsListen)
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	msg, err := stream.GetMsg(context.Background(), info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		ID              string `json:"id"`
		PlatformEventID string `json:"platformeventid"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get(jetstream.MsgIDHeader) != wantID || ev.ID != wantID || ev.PlatformEventID != "evt_first" {
		t.Fatalf("stored Nats-Msg-Id %q, envelope id %q, platformeventid %q", msg.Header.Get(jetstream.MsgIDHeader), ev.ID, ev.PlatformEventID)
	}
}

// TestTriggerHeyGenSignsAsDocumented: `avatarbus trigger heygen` sends exactly HeyGen's headers,
// with a signature that the Node-style computation reproduces.
func TestTriggerHeyGenSignsAsDocumented(t *testing.T) {
	type capture struct {
		header http.Header
		body   []byte
	}
	got := make(chan capture, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		got <- capture{r.Header.Clone(), b.Bytes()}
		_, _ = w.Write([]byte(`{"id":"x","duplicate":false}`))
	}))
	defer srv.Close()

	for _, tt := range []struct {
		name, set, wantEventID string
	}{
		{"sample without event_id: a fresh one", "", ""},
		{"body event_id is sent as the header", "event_id=evt_from_body", "evt_from_body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"trigger", "heygen", "avatar_video.success", "--url", srv.URL, "--secret", heygenSecret}
			if tt.set != "" {
				args = append(args, "--set", tt.set)
			}
			before := time.Now().Unix()
			if r := runCLI(t, "", args...); r.err != nil {
				t.Fatalf("trigger: %v\n%s", r.err, r.stdout)
			}
			c := <-got
			if want := nodeStyleHMAC(heygenSecret, c.body); c.header.Get("Heygen-Signature") != want {
				t.Fatalf("Heygen-Signature %q, want %q", c.header.Get("Heygen-Signature"), want)
			}
			ts, err := strconv.ParseInt(c.header.Get("Heygen-Timestamp"), 10, 64)
			if err != nil || ts < before || ts > time.Now().Unix() {
				t.Fatalf("Heygen-Timestamp %q", c.header.Get("Heygen-Timestamp"))
			}
			id := c.header.Get("Heygen-Event-Id")
			if (tt.wantEventID != "" && id != tt.wantEventID) || id == "" {
				t.Fatalf("Heygen-Event-Id %q, want %q", id, tt.wantEventID)
			}
			if c.header.Get("Signature") != "" || c.header.Get("Webhook-Signature") != "" {
				t.Fatalf("headers HeyGen does not send: %v", c.header)
			}
		})
	}
}

// TestDuplicateWindowOnARealServer: with a 2 s window, a retry inside it is answered duplicate and
// not stored, and the same delivery after it is stored again. The source signs without a
// timestamp (generic hmac), so a window that short is allowed.
func TestDuplicateWindowOnARealServer(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: %q
    store_dir: %q
stream:
  duplicate_window: 2s
sources:
  - name: hx
    platform: hmac
    secrets: ["hx-secret"]
`, listen, natsListen, filepath.Join(dir, "js"))
	startServe(t, mustLoadConfig(t, yaml))
	url := "http://" + listen + "/webhooks/hx"
	body := `{"event_type":"avatar.video.completed","data":{"id":"v1"}}`
	req := signedRequest{header: http.Header{"Signature": {hmacHex("hx-secret", body)}}, body: body}

	post := func(wantDuplicate bool) {
		t.Helper()
		a := postWebhook(t, url, req)
		if a.status != http.StatusOK || a.body["duplicate"] != wantDuplicate {
			t.Fatalf("answer %d %s, want duplicate %v", a.status, a.raw, wantDuplicate)
		}
	}
	post(false)
	post(true)
	time.Sleep(2500 * time.Millisecond) // let the window pass: this is the behaviour under test
	post(false)

	_, info := avatarStreamInfo(t, natsListen)
	if info.State.Msgs != 2 || info.Config.Duplicates != 2*time.Second {
		t.Fatalf("stream holds %d messages with window %s, want 2 with 2s", info.State.Msgs, info.Config.Duplicates)
	}
}

// TestDefaultDuplicateWindowCoversEveryHorizon: by default a retry at the end of any preset's
// documented horizon (HeyGen's at 23 h among them) is still inside the window, so it is answered
// duplicate; and serve creates the stream with that window.
func TestDefaultDuplicateWindowCoversEveryHorizon(t *testing.T) {
	def := config.Default()
	window := def.Stream.DuplicateWindow.Std()
	if window < 23*time.Hour {
		t.Fatalf("default window %s: a HeyGen retry at 23h would be stored twice", window)
	}
	for _, p := range platform.Default().All() {
		if h := platform.RetryHorizonOf(p); h.Duration > window {
			t.Errorf("%s retries for %s (%s), beyond the default window %s", p.Name(), h.Duration, h.Source, window)
		}
	}
	if window > def.Stream.MaxAge.Std() {
		t.Fatalf("default window %s exceeds the default max_age %s", window, def.Stream.MaxAge.Std())
	}

	dir := t.TempDir()
	natsListen := freeAddr(t)
	startServe(t, mustLoadConfig(t, acmeConfig(freeAddr(t), natsListen, filepath.Join(dir, "js"))))
	_, info := avatarStreamInfo(t, natsListen)
	if info.Config.Duplicates != window {
		t.Fatalf("stream window %s, want the default %s", info.Config.Duplicates, window)
	}
}

// TestServeWarnsWhenARetryHorizonExceedsTheWindow captures serve's start-up log: with a 1h window,
// the HeyGen and Standard Webhooks sources are named with their platform's documented horizon and
// its source; Synthesia (10 min) is not.
func TestServeWarnsWhenARetryHorizonExceedsTheWindow(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	yaml := fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: "127.0.0.1:0"
    store_dir: %q
stream:
  duplicate_window: 1h
sources:
  - name: hg
    platform: heygen
    secrets: ["whsec_x"]
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
  - name: syn
    platform: synthesia
    secrets: ["s"]
`, listen, filepath.Join(dir, "js"), swSecret)
	cfg := mustLoadConfig(t, yaml)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zerolog.New(&logs)) }()
	defer func() {
		cancel()
		<-done
	}()
	waitHTTP(t, listen, done)

	warned := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["level"] == "warn" && e["retry_horizon"] != nil {
			warned[e["source"].(string)] = e
		}
	}
	want := map[string]struct{ platform, horizon, source string }{
		"hg":   {"heygen", "24h0m0s", "developers.heygen.com/docs/webhooks"},
		"acme": {"standardwebhooks", "27h35m5s", "docs.svix.com/retries"},
	}
	if len(warned) != len(want) {
		t.Fatalf("warnings for %v, want exactly %v\n%s", warned, want, logs.String())
	}
	for src, w := range want {
		e := warned[src]
		if e == nil || e["platform"] != w.platform || e["retry_horizon"] != w.horizon || e["duplicate_window"] != "1h0m0s" ||
			!strings.Contains(e["retry_horizon_source"].(string), w.source) {
			t.Errorf("warning for %s: %v, want platform %s horizon %s source %s", src, e, w.platform, w.horizon, w.source)
		}
	}
}
