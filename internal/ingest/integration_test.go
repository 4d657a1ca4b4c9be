package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

const (
	swSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	heygenSecret = "heygen-endpoint-secret"
	didToken     = "did-url-token-0123456789"
)

func mustVerifier(t *testing.T, cfg verify.Config) verify.Verifier {
	t.Helper()
	v, err := verify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func preset(t *testing.T, name string) platform.Preset {
	t.Helper()
	p, ok := platform.Default().Lookup(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return p
}

func testSources(t *testing.T) []ingest.Source {
	heygenVerify := preset(t, "heygen").DefaultVerify()
	heygenVerify.Secrets = []string{heygenSecret}
	return []ingest.Source{
		{Name: "acme", Preset: preset(t, "standardwebhooks"), MaxBody: 4096,
			Verifier: mustVerifier(t, verify.Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}}),
			Events:   map[string]string{"video.done": envelope.TypeVideoCompleted}},
		{Name: "heygen", Preset: preset(t, "heygen"), Verifier: mustVerifier(t, heygenVerify)},
		{Name: "did", Preset: preset(t, "standardwebhooks"),
			Verifier: mustVerifier(t, verify.Config{Scheme: "token", Secrets: []string{didToken}})},
	}
}

// signedSW builds a Standard Webhooks request for source acme.
func signedSW(t *testing.T, msgID string, ts time.Time, body string) http.Header {
	t.Helper()
	sig, err := verify.SignStandardWebhooks(swSecret, msgID, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	took   time.Duration
}

func post(t *testing.T, url string, h http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, took: time.Since(start)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("answer is not JSON: %q", raw)
		}
	}
	return a
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestSignedRequestIsStoredAsCloudEvent(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	body := `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_42"}}`
	a := post(t, st.url+"/webhooks/acme", signedSW(t, "msg_1", time.Now(), body), body)
	if a.status != http.StatusOK {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	if a.body["id"] != "acme:msg_1" || a.body["duplicate"] != false || a.body["subject"] != "avatar.video.completed.acme" {
		t.Fatalf("answer %v", a.body)
	}
	if a.header.Get("X-Request-Id") == "" {
		t.Fatal("no request id header")
	}

	msg, _ := lastStored(t, st.js, "avatar.video.completed.acme")
	if got := msg.Header.Get("Nats-Msg-Id"); got != "acme:msg_1" {
		t.Fatalf("Nats-Msg-Id %q", got)
	}
	if got := msg.Header.Get("Content-Type"); got != "application/cloudevents+json" {
		t.Fatalf("Content-Type %q", got)
	}
	ce := cloudevents.NewEvent()
	if err := ce.UnmarshalJSON(msg.Data); err != nil {
		t.Fatalf("CloudEvents SDK cannot read the stored event: %v", err)
	}
	if err := ce.Validate(); err != nil {
		t.Fatalf("stored event is not a valid CloudEvent: %v", err)
	}
	if ce.Type() != "avatar.video.completed" || ce.Source() != "/platforms/acme" || ce.Subject() != "vid_42" || ce.ID() != "acme:msg_1" {
		t.Fatalf("stored event: %s", ce)
	}
	var data struct {
		Raw json.RawMessage `json:"raw"`
	}
	if err := ce.DataAs(&data); err != nil || string(data.Raw) != body {
		t.Fatalf("raw payload not kept byte for byte: %s (%v)", data.Raw, err)
	}
}

func TestRedeliveryIsDeduplicated(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	body := `{"type":"video.done","data":{"id":"vid_7"}}`
	h := signedSW(t, "msg_dup", time.Now(), body)
	first := post(t, st.url+"/webhooks/acme", h, body)
	second := post(t, st.url+"/webhooks/acme", h, body)
	if first.status != 200 || second.status != 200 {
		t.Fatalf("statuses %d, %d", first.status, second.status)
	}
	if first.body["duplicate"] != false || second.body["duplicate"] != true {
		t.Fatalf("duplicate flags %v, %v", first.body["duplicate"], second.body["duplicate"])
	}
	if first.body["id"] != second.body["id"] {
		t.Fatal("ids differ")
	}
	// The platform re-signs its retry with a new timestamp: still the same event.
	third := post(t, st.url+"/webhooks/acme", signedSW(t, "msg_dup", time.Now().Add(time.Second), body), body)
	if third.status != 200 || third.body["duplicate"] != true {
		t.Fatalf("re-signed retry: %d %v", third.status, third.body)
	}
	if n := streamMsgs(t, st.js); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestHeyGenSignedRequest(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	body := `{"event_type":"avatar_video.success","event_data":{"video_id":"v1","url":"https://x/v1.mp4","callback_id":"order_1"}}`
	vc := preset(t, "heygen").DefaultVerify()
	sig, err := verify.SignHMAC(vc, heygenSecret, "", time.Time{}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(vc.Header, sig)
	h.Set(vc.TimestampHeader, strconv.FormatInt(time.Now().Unix(), 10)) // required, not signed
	a := post(t, st.url+"/webhooks/heygen", h, body)
	if a.status != 200 || a.body["subject"] != "avatar.video.completed.heygen" || a.body["id"] != "heygen:avatar_video.success:v1" {
		t.Fatalf("%d %v", a.status, a.body)
	}
}

func TestTokenSource(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	body := `{"type":"x"}`
	if a := post(t, st.url+"/webhooks/did?token="+didToken, nil, body); a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if a := post(t, st.url+"/webhooks/did?token=wrong", nil, body); a.status != 401 || a.body["error"] != "signature_mismatch" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if a := post(t, st.url+"/webhooks/did", nil, body); a.status != 401 || a.body["error"] != "missing_token" {
		t.Fatalf("%d %v", a.status, a.body)
	}
}

func TestRejectedRequestsAreNotPublished(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	body := `{"type":"video.done","data":{"id":"v"}}`
	now := time.Now()
	good := signedSW(t, "msg_r", now, body)
	without := func(name string) http.Header {
		h := good.Clone()
		h.Del(name)
		return h
	}
	tampered := `{"type":"video.done","data":{"id":"w"}}`
	big := `{"pad":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name   string
		path   string
		header http.Header
		body   string
		status int
		code   string
	}{
		{"unknown source", "/webhooks/nope", good, body, 404, "unknown_source"},
		{"missing signature", "/webhooks/acme", without("Webhook-Signature"), body, 401, "missing_header"},
		{"missing id", "/webhooks/acme", without("Webhook-Id"), body, 401, "missing_header"},
		{"tampered body", "/webhooks/acme", good, tampered, 401, "signature_mismatch"},
		{"wrong secret", "/webhooks/acme", func() http.Header {
			sig, _ := verify.SignStandardWebhooks("whsec_"+"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "msg_r", now, []byte(body))
			h := good.Clone()
			h.Set("Webhook-Signature", sig)
			return h
		}(), body, 401, "signature_mismatch"},
		{"stale timestamp", "/webhooks/acme", signedSW(t, "msg_r", now.Add(-10*time.Minute), body), body, 401, "timestamp_out_of_tolerance"},
		{"future timestamp", "/webhooks/acme", signedSW(t, "msg_r", now.Add(10*time.Minute), body), body, 401, "timestamp_out_of_tolerance"},
		{"too large", "/webhooks/acme", signedSW(t, "msg_big", now, big), big, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, st.url+tt.path, tt.header, tt.body)
			if a.status != tt.status || a.body["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", a.status, a.body, tt.status, tt.code)
			}
			if a.body["request_id"] == "" || a.body["request_id"] == nil {
				t.Fatalf("error answer without request id: %v", a.body)
			}
		})
	}
	t.Run("too large without content length", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, st.url+"/webhooks/acme", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1 // chunked: the limit must hold while reading
		a := do(t, req)
		if a.status != 413 {
			t.Fatalf("chunked oversized body: %d %v", a.status, a.body)
		}
	})
	if n := streamMsgs(t, st.js); n != 0 {
		t.Fatalf("rejected requests were published: %d messages", n)
	}
}

func TestGenuineButUnknownIsPublishedAsUnrecognized(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	for _, body := range []string{"this is not json", `{"type":"something.new","data":{}}`, ""} {
		a := post(t, st.url+"/webhooks/acme", signedSW(t, "msg_u"+strconv.Itoa(len(body)), time.Now(), body), body)
		if a.status != 200 || a.body["subject"] != "avatar.unrecognized.acme" {
			t.Fatalf("body %q: %d %v", body, a.status, a.body)
		}
	}
	s, _ := st.js.Stream(context.Background(), "AVATAR")
	msg, err := s.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := envelope.Unmarshal(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := json.Unmarshal(ev.Data.Raw, &raw); err != nil || string(raw) != "this is not json" {
		t.Fatalf("non-JSON body not kept: %s", ev.Data.Raw)
	}
	if n := streamMsgs(t, st.js); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

func TestOptionsAnswersAtOnce(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	// Any source name: HeyGen probes the URL before registration returns the source's secret.
	for _, source := range []string{"heygen", "not-configured-yet"} {
		req, _ := http.NewRequest(http.MethodOptions, st.url+"/webhooks/"+source, nil)
		if a := do(t, req); a.status != http.StatusNoContent || a.took > time.Second {
			t.Fatalf("OPTIONS %s: %d in %s", source, a.status, a.took)
		}
	}
}

// TestJetStreamOutageAnswers503ThenRecovers stops the NATS server avatarbus uses, checks every
// request is refused fast, then starts it again on the same port and store and checks avatarbus
// stores again without being restarted.
func TestJetStreamOutageAnswers503ThenRecovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := brokertest.Options(dir)
	srv := brokertest.RunWithOptions(t, opts)
	port := brokertest.Port(srv)
	st := startStack(t, stackOptions{srv: srv})

	body := `{"type":"video.done","data":{"id":"v"}}`
	if a := post(t, st.url+"/webhooks/acme", signedSW(t, "before", time.Now(), body), body); a.status != 200 {
		t.Fatalf("before outage: %d %v", a.status, a.body)
	}
	brokertest.Stop(srv)
	for i := 0; i < 5; i++ {
		a := post(t, st.url+"/webhooks/acme", signedSW(t, fmt.Sprintf("during%d", i), time.Now(), body), body)
		if a.status != 503 || a.body["error"] != "unavailable" || a.header.Get("Retry-After") == "" {
			t.Fatalf("during outage: %d %v", a.status, a.body)
		}
		if a.took > 2*time.Second {
			t.Fatalf("503 took %s, want < 2s", a.took)
		}
	}
	restart := brokertest.Options(dir)
	restart.Port = port
	srv2 := brokertest.RunWithOptions(t, restart)

	var last answer
	waitfor.Cond(t, 15*time.Second, func() bool {
		last = post(t, st.url+"/webhooks/acme", signedSW(t, "after", time.Now(), body), body)
		return last.status == 200
	}, "recovery after the restart")
	nc, err := nats.Connect(srv2.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if n := streamMsgs(t, js); n != 2 {
		t.Fatalf("after recovery the stream holds %d messages, want 2 (before and after)", n)
	}
}

// TestNoAckWithinTimeoutAnswers503: a subscriber that swallows publishes and a missing stream
// mean no ack ever comes; the request must end with 503 at the publish timeout, not hang.
func TestNoAckWithinTimeoutAnswers503(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{publishTimeout: 300 * time.Millisecond})
	if err := st.js.DeleteStream(context.Background(), "AVATAR"); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(st.srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe("avatar.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	body := `{"type":"video.done","data":{"id":"v"}}`
	a := post(t, st.url+"/webhooks/acme", signedSW(t, "lost", time.Now(), body), body)
	if a.status != 503 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if a.took > 2*time.Second {
		t.Fatalf("took %s", a.took)
	}
}
