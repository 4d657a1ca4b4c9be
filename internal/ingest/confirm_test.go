package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/platformapi/platformapitest"
	"github.com/avatarbus/avatarbus/verify"
)

// fakeDID is D-ID's GET /talks/{id} and GET /clips/{id}: it knows one talk and one clip, and can be
// made to fail or hang.
type fakeDID struct {
	calls atomic.Int32
	mode  atomic.Value // "up", "down", "hang"
}

const knownTalk = `{"id":"tlk_known","status":"done","result_url":"https://d-id.example/tlk_known.mp4","modified_at":"2026-01-01T00:00:09Z"}`

const knownClip = `{"id":"clp_known","status":"done","result_url":"https://d-id.example/clp_known.mp4","modified_at":"2026-01-01T00:00:19Z","user_data":{"order":"o1"}}`

func (f *fakeDID) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	switch f.mode.Load() {
	case "down":
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case "hang":
		<-r.Context().Done()
		return
	}
	if r.Header.Get("Authorization") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/talks/tlk_known" {
		_, _ = w.Write([]byte(knownTalk))
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/clips/clp_known" {
		_, _ = w.Write([]byte(knownClip))
		return
	}
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"kind":"NotFoundError","description":"talk not found"}`))
}

// serveConfirmedDID serves a D-ID token source whose callbacks are confirmed (`confirm: fetch`)
// against a fake D-ID API (up), with the quarantine when quarantine, and returns the fake, the
// server's URL and a JetStream client.
func serveConfirmedDID(t *testing.T, timeout time.Duration, quarantine bool) (*fakeDID, string, jetstream.JetStream) {
	t.Helper()
	api := &fakeDID{}
	api.mode.Store("up")
	fake := httptest.NewServer(api)
	t.Cleanup(fake.Close)
	conf, err := platformapi.NewConfirmer(preset(t, "did"), "did", nil, platformapi.Options{Base: fake.URL, Key: "did-api-key", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	st := startStack(t, stackOptions{quarantine: quarantine, sources: []ingest.Source{{Name: "did", Preset: preset(t, "did"),
		Confirmer: conf, Verifier: mustVerifier(t, verify.Config{Scheme: "token", Secrets: []string{didToken}})}}})
	return api, st.url, st.js
}

func TestConfirmFetchOnJetStream(t *testing.T) {
	t.Parallel()
	api, url, js := serveConfirmedDID(t, 300*time.Millisecond, false)
	hook := url + "/webhooks/did?token=" + didToken
	h := http.Header{"Content-Type": {"application/json"}}

	// A forged callback (the token leaked) for a talk D-ID does not know: refused, not stored.
	a := post(t, hook, h, `{"id":"tlk_forged","status":"done","result_url":"https://evil.example/x.mp4"}`)
	if a.status != http.StatusUnauthorized || a.body["error"] != platformapi.ReasonUnconfirmed {
		t.Fatalf("forged: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("forged callback stored: %d messages", n)
	}

	// A known talk: stored as D-ID describes it, whatever the callback claims.
	a = post(t, hook, h, `{"id":"tlk_known","status":"error"}`)
	if a.status != http.StatusOK || a.body["id"] != "did:tlk_known:done" || a.body["duplicate"] != false ||
		a.body["subject"] != "avatar.video.completed.did" {
		t.Fatalf("known: %d %v", a.status, a.body)
	}
	msg, ev := lastStored(t, js, "avatar.video.completed.did")
	if ev.Data.Status != "completed" || ev.Data.MediaURL != "https://d-id.example/tlk_known.mp4" || string(ev.Data.Raw) != knownTalk {
		t.Fatalf("stored event not built from the fetched talk: %+v", ev.Data)
	}
	if msg.Header.Get("Nats-Msg-Id") != "did:tlk_known:done" {
		t.Fatalf("Nats-Msg-Id %q", msg.Header.Get("Nats-Msg-Id"))
	}

	// The platform retries: confirmed again, same id, a duplicate, still one message.
	a = post(t, hook, h, `{"id":"tlk_known","status":"done"}`)
	if a.status != http.StatusOK || a.body["id"] != "did:tlk_known:done" || a.body["duplicate"] != true {
		t.Fatalf("redelivery: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 1 {
		t.Fatalf("%d messages after a redelivery, want 1", n)
	}

	// D-ID down, then hanging past the timeout: 503 with Retry-After, nothing stored.
	for _, mode := range []string{"down", "hang"} {
		api.mode.Store(mode)
		start := time.Now()
		a = post(t, hook, h, `{"id":"tlk_other","status":"done"}`)
		if a.status != http.StatusServiceUnavailable || a.body["error"] != "unavailable" || a.header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %v", mode, a.status, a.body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: answered after %s", mode, d)
		}
	}
	if n := streamMsgs(t, js); n != 1 {
		t.Fatalf("%d messages after API failures, want 1", n)
	}
	// The token is checked before D-ID is asked: a wrong token costs no API call.
	api.mode.Store("up")
	before := api.calls.Load()
	if a = post(t, url+"/webhooks/did?token=wrong", h, `{"id":"tlk_known","status":"done"}`); a.status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d %v", a.status, a.body)
	}
	if api.calls.Load() != before {
		t.Fatal("the platform API was called for a request that failed verification")
	}
	// Nothing the forger sent is echoed beyond the id it named.
	a = post(t, hook, h, `{"id":"`+strings.Repeat("x", 300)+`","status":"done"}`)
	if msg, _ := a.body["message"].(string); a.status != http.StatusUnauthorized || len(msg) > 200 {
		t.Fatalf("long id: %d %q", a.status, msg)
	}
}

// TestConfirmClipOnJetStream: a D-ID clip callback on a confirm source is fetched from
// GET /clips/{id} and stored (it was refused and lost when only /talks was asked); an unknown clip
// is refused 401 unconfirmed and not stored.
func TestConfirmClipOnJetStream(t *testing.T) {
	t.Parallel()
	_, url, js := serveConfirmedDID(t, time.Second, false)
	hook := url + "/webhooks/did?token=" + didToken
	h := http.Header{"Content-Type": {"application/json"}}

	a := post(t, hook, h, `{"id":"clp_forged","object":"clip","status":"done"}`)
	if a.status != http.StatusUnauthorized || a.body["error"] != platformapi.ReasonUnconfirmed {
		t.Fatalf("unknown clip: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("unknown clip stored: %d messages", n)
	}

	a = post(t, hook, h, `{"id":"clp_known","object":"clip","status":"done","user_data":"forged"}`)
	if a.status != http.StatusOK || a.body["id"] != "did:clp_known:done" || a.body["subject"] != "avatar.video.completed.did" {
		t.Fatalf("known clip: %d %v", a.status, a.body)
	}
	msg, ev := lastStored(t, js, "avatar.video.completed.did")
	if ev.PlatformEvent != "clip.done" || ev.CorrelationID != `{"order":"o1"}` || ev.Data.MediaURL != "https://d-id.example/clp_known.mp4" ||
		string(ev.Data.Raw) != knownClip || msg.Header.Get("Nats-Msg-Id") != "did:clp_known:done" {
		t.Fatalf("stored event not built from the fetched clip: %s %q %+v", ev.PlatformEvent, ev.CorrelationID, ev.Data)
	}
	if a = post(t, hook, h, `{"id":"clp_known","status":"done"}`); a.status != http.StatusOK || a.body["duplicate"] != true {
		t.Fatalf("redelivery: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

// TestHeyGenConfirmOnJetStream: HeyGen's unsigned callback_url deliveries, confirmed with
// GET /v3/videos/{id}: a video still rendering is answered 503 (HeyGen retries), a completed one is
// stored once as HeyGen describes it, and the retry is a duplicate.
func TestHeyGenConfirmOnJetStream(t *testing.T) {
	t.Parallel()
	video := `{"id":"vid_1","status":"%s","video_url":"https://files.heygen.ai/vid_1.mp4"}`
	get := func(status string) platformapitest.Call {
		return platformapitest.Call{Method: "GET", Path: "/v3/videos/vid_1", Header: map[string]string{"X-Api-Key": "heygen-api-key"},
			Status: 200, Answer: `{"data":` + fmt.Sprintf(video, status) + `}`}
	}
	base := platformapitest.Serve(t, get("processing"), get("completed"), get("completed"))
	conf, err := platformapi.NewConfirmer(preset(t, "heygen"), "heygen-jobs", nil, platformapi.Options{Base: base, Key: "heygen-api-key", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const token = "heygen-callback-token-0123456789"
	st := startStack(t, stackOptions{sources: []ingest.Source{{
		Name: "heygen-jobs", Preset: preset(t, "heygen"), Confirmer: conf,
		Verifier: mustVerifier(t, verify.Config{Scheme: "token", Secrets: []string{token}}),
	}}})
	url, js := st.url, st.js
	hook := url + "/webhooks/heygen-jobs?token=" + token
	cb := `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_1","url":"https://evil.example/x.mp4","callback_id":"order_7"}}`

	if a := post(t, hook, nil, cb); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("still rendering: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("%d messages stored for a video HeyGen has not finished", n)
	}
	for i, wantDuplicate := range []bool{false, true} {
		a := post(t, hook, nil, cb)
		if a.status != http.StatusOK || a.body["id"] != "heygen:avatar_video.success:vid_1" || a.body["duplicate"] != wantDuplicate {
			t.Fatalf("delivery %d: %d %v", i+1, a.status, a.body)
		}
	}
	_, ev := lastStored(t, js, "avatar.video.completed.heygen")
	if ev.Data.MediaURL != "https://files.heygen.ai/vid_1.mp4" || ev.CorrelationID != "order_7" || streamMsgs(t, js) != 1 {
		t.Fatalf("stored %+v (correlation %q), want one event from the fetched video", ev.Data, ev.CorrelationID)
	}
}

// TestUnconfirmedIsQuarantined: a callback the platform does not confirm is kept on the quarantine
// (reason unconfirmed, the body, never the token), so an operator sees the forgeries made with a
// leaked token and can recover a genuine event the source could not confirm.
func TestUnconfirmedIsQuarantined(t *testing.T) {
	t.Parallel()
	api, url, js := serveConfirmedDID(t, time.Second, true)
	ctx := context.Background()

	forged := `{"id":"tlk_forged","status":"done","result_url":"https://evil.example/x.mp4"}`
	if a := post(t, url+"/webhooks/did?token="+didToken, nil, forged); a.status != http.StatusUnauthorized || a.body["error"] != platformapi.ReasonUnconfirmed {
		t.Fatalf("forged: %d %v", a.status, a.body)
	}
	// The API being down is not a refusal: nothing is kept, the platform retries.
	api.mode.Store("down")
	if a := post(t, url+"/webhooks/did?token="+didToken, nil, `{"id":"tlk_known","status":"done"}`); a.status != http.StatusServiceUnavailable {
		t.Fatalf("API down: %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("%d events stored", n)
	}
	q, err := js.Stream(ctx, "AVATAR_QUARANTINE")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := q.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("quarantine: %+v %v, want the one refused callback", info.State, err)
	}
	raw, err := q.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := broker.RefusedFromMsg(raw.Header, raw.Data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != "did" || r.Reason != platformapi.ReasonUnconfirmed || string(r.Body) != forged || !r.QueryDropped ||
		strings.Contains(fmt.Sprint(r.Header), didToken) || !strings.Contains(r.Detail, "tlk_forged") {
		t.Fatalf("kept %+v", r)
	}
}
