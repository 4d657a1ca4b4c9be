package platformapi

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"

	"github.com/avatarbus/avatarbus/internal/platformapi/platformapitest"
)

var received = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// callback normalizes body as a source of preset name would, before confirmation.
func callback(t *testing.T, name, body string) *envelope.Event {
	t.Helper()
	p, ok := platform.Default().Lookup(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	ev := p.Normalize(platform.Input{Source: name, Body: []byte(body), ReceivedAt: received})
	return &ev
}

func confirmer(t *testing.T, name, base string) Confirmer {
	t.Helper()
	p, _ := platform.Default().Lookup(name)
	c, err := NewConfirmer(p, name, nil, Options{Base: base, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func isUnconfirmed(err error) bool {
	verr, ok := errors.AsType[*verify.Error](err)
	return ok && verr.Reason == ReasonUnconfirmed
}

var didBasic = "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"))

func TestDIDConfirmPublishesTheFetchedTalk(t *testing.T) {
	// The callback says done; D-ID says error: the event is talk.error, with D-ID's fields.
	fetched := `{"id":"tlk_1","status":"error","modified_at":"2026-01-01T00:00:09Z","error":{"kind":"FaceError","description":"no face"},"user_data":"order_9"}`
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/talks/tlk_1",
		Header: map[string]string{"Authorization": didBasic, "Accept": "application/json", "User-Agent": "avatarbus"},
		Status: 200, Answer: fetched})
	ev := callback(t, "did", `{"id":"tlk_1","status":"done","result_url":"https://evil.example/x.mp4"}`)
	got, err := confirmer(t, "did", base).Confirm(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "did:tlk_1:error" || got.Type != envelope.TypeVideoFailed || got.PlatformEvent != "talk.error" {
		t.Fatalf("got id %q type %q event %q", got.ID, got.Type, got.PlatformEvent)
	}
	if got.Data.MediaURL != "" || got.Data.Error == nil || got.Data.Error.Message != "no face" || got.CorrelationID != "order_9" {
		t.Fatalf("data not from the fetched talk: %+v", got.Data)
	}
	if string(got.Data.Raw) != fetched {
		t.Fatalf("raw = %s, want the fetched talk byte for byte", got.Data.Raw)
	}
	if !got.ReceivedAt.Equal(received) {
		t.Fatalf("receivedat = %s", got.ReceivedAt)
	}
}

func TestDIDConfirmAddsTheIDWhenTheAnswerOmitsIt(t *testing.T) {
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/talks/tlk_2", Status: 200, Answer: `{"status":"done","result_url":"https://d-id/x.mp4"}`})
	got, err := confirmer(t, "did", base).Confirm(ctx, callback(t, "did", `{"id":"tlk_2","status":"done"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "did:tlk_2:done" || got.Subject != "tlk_2" || got.Data.MediaURL != "https://d-id/x.mp4" {
		t.Fatalf("got %+v", got)
	}
}

func TestDIDConfirmRefusals(t *testing.T) {
	checkRefusals(t, "did", []refusal{
		{"unknown talk", `{"id":"tlk_forged","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_forged", Status: 404, Answer: `{"kind":"NotFoundError","description":"not found"}`}}, true, nil, `"tlk_forged"`},
		{"id refused", `{"id":"x y","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/x%20y", Status: 400, Answer: `{}`}}, true, nil, "talk"},
		{"answer for another talk", `{"id":"tlk_a","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_a", Status: 200, Answer: `{"id":"tlk_b","status":"done"}`}}, true, nil, "another talk"},
		{"no id", `{"status":"done"}`, nil, true, nil, "no valid talk id"},
		{"not JSON", `not json`, nil, true, nil, "no valid talk id"},
		{"dot dot", `{"id":"..","status":"done"}`, nil, true, nil, "no valid talk id"},
		{"our key refused", `{"id":"tlk_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_1", Status: 401, Answer: `{"description":"Unauthorized"}`}}, false, ErrUnauthorized, ""},
		{"rate limited", `{"id":"tlk_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_1", Status: 429, Answer: `{}`}}, false, ErrRateLimited, ""},
		{"down", `{"id":"tlk_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_1", Status: 503, Answer: `{}`}}, false, ErrServer, ""},
		{"garbage answer", `{"id":"tlk_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/talks/tlk_1", Status: 200, Answer: `[1,2]`}}, false, ErrBadResponse, ""},
	})
}

func TestDIDConfirmClip(t *testing.T) {
	// D-ID's GET /clips/{id} example (docs.d-id.com/reference/clips-overview), shortened.
	fetched := `{"id":"clp_auvOUSOANX95VaLCKb2Il","status":"done","modified_at":"2023-03-22T21:34:01.025Z","duration":2,` +
		`"result_url":"https://d-id-clips-prod.s3.us-west-2.amazonaws.com/clp_auvOUSOANX95VaLCKb2Il/amy.mp4","user_data":{"order":"o7"}}`
	tests := []struct {
		name, callback string
	}{
		{"by id prefix", `{"id":"clp_auvOUSOANX95VaLCKb2Il","status":"done","result_url":"https://evil.example/x.mp4"}`},
		{"by object", `{"id":"clp_auvOUSOANX95VaLCKb2Il","object":"clip","status":"error"}`},
		{"prefix even when the status is missing", `{"id":"clp_auvOUSOANX95VaLCKb2Il"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/clips/clp_auvOUSOANX95VaLCKb2Il",
				Header: map[string]string{"Authorization": didBasic, "Accept": "application/json", "User-Agent": "avatarbus"},
				Status: 200, Answer: fetched})
			got, err := confirmer(t, "did", base).Confirm(ctx, callback(t, "did", tt.callback))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "did:clp_auvOUSOANX95VaLCKb2Il:done" || got.Type != envelope.TypeVideoCompleted || got.PlatformEvent != "clip.done" {
				t.Fatalf("got id %q type %q event %q", got.ID, got.Type, got.PlatformEvent)
			}
			if got.Data.MediaURL != "https://d-id-clips-prod.s3.us-west-2.amazonaws.com/clp_auvOUSOANX95VaLCKb2Il/amy.mp4" ||
				got.CorrelationID != `{"order":"o7"}` || string(got.Data.Raw) != fetched {
				t.Fatalf("not built from the fetched clip: correlation %q %+v", got.CorrelationID, got.Data)
			}
		})
	}
}

func TestDIDConfirmClipNamedByObjectOnly(t *testing.T) {
	// The id has no clp_ prefix; the callback's object says clip. The answer, which omits object,
	// is published as a clip.
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/clips/c_1", Status: 200, Answer: `{"id":"c_1","status":"done"}`})
	got, err := confirmer(t, "did", base).Confirm(ctx, callback(t, "did", `{"id":"c_1","object":"clip","status":"done"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.PlatformEvent != "clip.done" || got.ID != "did:c_1:done" || !strings.Contains(string(got.Data.Raw), `"object":"clip"`) {
		t.Fatalf("got event %q id %q raw %s", got.PlatformEvent, got.ID, got.Data.Raw)
	}
	// An answer from /clips that calls itself a talk is refused.
	base = platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/clips/c_1", Status: 200, Answer: `{"id":"c_1","object":"talk","status":"done"}`})
	if _, err := confirmer(t, "did", base).Confirm(ctx, callback(t, "did", `{"id":"c_1","object":"clip","status":"done"}`)); !isUnconfirmed(err) {
		t.Fatalf("err = %v, want unconfirmed", err)
	}
}

func TestDIDConfirmClipRefusals(t *testing.T) {
	checkRefusals(t, "did", []refusal{
		{"unknown clip", `{"id":"clp_forged","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/clips/clp_forged", Status: 404, Answer: `{"kind":"NotFoundError","description":"clip not found"}`}},
			true, nil, `the platform does not know clip "clp_forged" (404)`},
		{"answer for another clip", `{"id":"clp_a","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/clips/clp_a", Status: 200, Answer: `{"id":"clp_b","status":"done"}`}},
			true, nil, `another clip than "clp_a"`},
		{"a clip is never looked up as a talk", `{"id":"clp_c","object":"clip","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/clips/clp_c", Status: 404, Answer: `{}`}}, true, nil, "clip"},
		{"our key refused", `{"id":"clp_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/clips/clp_1", Status: 401, Answer: `{}`}}, false, ErrUnauthorized, ""},
		{"down", `{"id":"clp_1","status":"done"}`,
			[]platformapitest.Call{{Method: "GET", Path: "/clips/clp_1", Status: 502, Answer: `{}`}}, false, ErrServer, ""},
	})
}

func TestTavusConfirmVideo(t *testing.T) {
	fetched := `{"video_id":"v1","status":"ready","download_url":"https://tavus/v1.mp4","hosted_url":"https://videos.tavus.io/video/v1","updated_at":"2026-01-01 00:00:09.000000"}`
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/videos/v1", Header: map[string]string{"x-api-key": testKey}, Status: 200, Answer: fetched})
	got, err := confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", `{"video_id":"v1","status":"ready","download_url":"https://evil/x.mp4"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tavus:v1:ready" || got.Type != envelope.TypeVideoCompleted || got.Data.MediaURL != "https://tavus/v1.mp4" || string(got.Data.Raw) != fetched {
		t.Fatalf("got %+v", got)
	}
}

func TestTavusConfirmConversation(t *testing.T) {
	shutdown := `{"event_type":"system.shutdown","message_type":"system","timestamp":"2026-01-01T00:00:09Z","properties":{"shutdown_reason":"participant_left_timeout"}}`
	conv := `{"conversation_id":"c1","status":"ended","events":[{"event_type":"system.replica_joined","properties":{}},` + shutdown + `]}`
	cb := `{"conversation_id":"c1","event_type":"system.shutdown","message_type":"system","properties":{"shutdown_reason":"forged"}}`

	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/conversations/c1", Query: "verbose=true", Header: map[string]string{"x-api-key": testKey}, Status: 200, Answer: conv})
	got, err := confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", cb))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tavus:c1:system.shutdown" || got.Type != envelope.TypeConversationEnded || got.Subject != "c1" {
		t.Fatalf("got id %q type %q subject %q", got.ID, got.Type, got.Subject)
	}
	if !strings.Contains(string(got.Data.Raw), "participant_left_timeout") || !strings.Contains(string(got.Data.Raw), `"conversation_id":"c1"`) {
		t.Fatalf("raw = %s, want Tavus's listed event with the conversation id", got.Data.Raw)
	}
	if !got.Time.Equal(time.Date(2026, 1, 1, 0, 0, 9, 0, time.UTC)) {
		t.Fatalf("time = %s", got.Time)
	}

	// Known conversation, event not listed (yet): 503 material, not a refusal.
	base = platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/conversations/c1", Query: "verbose=true", Status: 200, Answer: `{"conversation_id":"c1","status":"active","events":[]}`})
	_, err = confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", cb))
	if !errors.Is(err, ErrPending) || isUnconfirmed(err) {
		t.Fatalf("not listed: err = %v, want ErrPending", err)
	}

	// An event the source does not map (a guardrail callback, say), not listed: refused, so it
	// lands on the quarantine rather than being answered 503 for ever.
	guardrail := `{"conversation_id":"c1","event_type":"conversation.guardrail_triggered","properties":{"guardrail_name":"g"}}`
	base = platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/conversations/c1", Query: "verbose=true", Status: 200, Answer: conv})
	_, err = confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", guardrail))
	if !isUnconfirmed(err) || errors.Is(err, ErrPending) || !strings.Contains(err.Error(), "without confirm") {
		t.Fatalf("unmapped, not listed: err = %v, want unconfirmed", err)
	}
	// The same event listed by Tavus: published as Tavus lists it (unrecognized, but confirmed).
	listed := `{"conversation_id":"c1","status":"active","events":[{"event_type":"conversation.guardrail_triggered","properties":{"guardrail_name":"g"}}]}`
	base = platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/conversations/c1", Query: "verbose=true", Status: 200, Answer: listed})
	got, err = confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", guardrail))
	if err != nil || got.Type != envelope.TypeUnrecognized || got.ID != "tavus:c1:conversation.guardrail_triggered" || got.Subject != "c1" {
		t.Fatalf("unmapped, listed: %+v, %v", got, err)
	}

	// Unknown conversation: refused.
	base = platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v2/conversations/c1", Query: "verbose=true", Status: 404, Answer: `{"message":"Conversation not found"}`})
	if _, err = confirmer(t, "tavus", base).Confirm(ctx, callback(t, "tavus", cb)); !isUnconfirmed(err) {
		t.Fatalf("unknown: err = %v, want unconfirmed", err)
	}
}

func TestTavusConfirmRefusesReplicasAndUnknownShapes(t *testing.T) {
	c := confirmer(t, "tavus", platformapitest.Serve(t))
	for _, body := range []string{`{"replica_id":"r1","status":"ready"}`, `{"hello":"world"}`, `[]`} {
		if _, err := c.Confirm(ctx, callback(t, "tavus", body)); !isUnconfirmed(err) {
			t.Fatalf("%s: err = %v, want unconfirmed", body, err)
		}
	}
}

func TestNewConfirmer(t *testing.T) {
	p, _ := platform.Default().Lookup("synthesia")
	if _, err := NewConfirmer(p, "synthesia", nil, Options{Key: "k"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("synthesia: err = %v, want ErrUnsupported", err)
	}
	p, _ = platform.Default().Lookup("did")
	if _, err := NewConfirmer(p, "did", nil, Options{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: err = %v, want ErrNoKey", err)
	}
}

func TestDIDKeyWithColonIsSentAsIs(t *testing.T) {
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/talks/tlk_1",
		Header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user@example.com:secret"))},
		Status: 200, Answer: `{"id":"tlk_1","status":"done"}`})
	d, _ := NewDID(Options{Base: base, Key: "user@example.com:secret"})
	if _, err := d.Talk(ctx, "tlk_1"); err != nil {
		t.Fatal(err)
	}
}

func TestHeyGenConfirmPublishesTheFetchedVideo(t *testing.T) {
	video := `{"id":"vid_1","title":"demo","status":"completed","video_url":"https://files.heygen.ai/vid_1.mp4","thumbnail_url":"https://files.heygen.ai/vid_1.jpg","duration":12.5,"completed_at":1767225609}`
	tests := []struct {
		name, answer string
	}{
		{"wrapped in data", `{"data":` + video + `}`},
		{"bare object", video},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v3/videos/vid_1",
				Header: map[string]string{"X-Api-Key": testKey, "Accept": "application/json"}, Status: 200, Answer: tt.answer})
			cb := `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_1","url":"https://evil.example/x.mp4","callback_id":"order_7"}}`
			got, err := confirmer(t, "heygen", base).Confirm(ctx, callback(t, "heygen", cb))
			if err != nil {
				t.Fatal(err)
			}
			want := callback(t, "heygen", cb)
			if got.ID != want.ID || got.ID != "heygen:avatar_video.success:vid_1" {
				t.Fatalf("id = %q, want the callback's deterministic id %q (a redelivery stays a duplicate)", got.ID, want.ID)
			}
			if got.Type != envelope.TypeVideoCompleted || got.Data.MediaURL != "https://files.heygen.ai/vid_1.mp4" ||
				got.Data.ThumbnailURL != "https://files.heygen.ai/vid_1.jpg" || got.Data.DurationSeconds == nil || *got.Data.DurationSeconds != 12.5 {
				t.Fatalf("data not from the fetched video: type %q %+v", got.Type, got.Data)
			}
			if got.CorrelationID != "order_7" || !strings.Contains(string(got.Data.Raw), `"title":"demo"`) {
				t.Fatalf("correlation %q raw %s", got.CorrelationID, got.Data.Raw)
			}
		})
	}
}

func TestHeyGenConfirmFollowsTheFetchedStatus(t *testing.T) {
	tests := []struct {
		name, event, answer, wantEvent, wantType string
		wantErr                                  error
	}{
		{"claims success, failed", "avatar_video.success", `{"data":{"id":"vid_1","status":"failed","failure_code":"MOVIO_ERR","failure_message":"avatar not found"}}`,
			"avatar_video.fail", envelope.TypeVideoFailed, nil},
		{"gif family kept", "avatar_video_gif.fail", `{"data":{"id":"vid_1","status":"completed","gif_url":"https://g/x.gif"}}`,
			"avatar_video_gif.success", envelope.TypeVideoCompleted, nil},
		{"still processing", "avatar_video.success", `{"data":{"id":"vid_1","status":"processing"}}`, "", "", ErrPending},
		{"no status", "avatar_video.success", `{"data":{"id":"vid_1"}}`, "", "", ErrPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v3/videos/vid_1", Status: 200, Answer: tt.answer})
			got, err := confirmer(t, "heygen", base).Confirm(ctx, callback(t, "heygen", `{"event_type":"`+tt.event+`","event_data":{"video_id":"vid_1"}}`))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || isUnconfirmed(err) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PlatformEvent != tt.wantEvent || got.Type != tt.wantType || got.ID != "heygen:"+tt.wantEvent+":vid_1" {
				t.Fatalf("got event %q type %q id %q", got.PlatformEvent, got.Type, got.ID)
			}
			if tt.wantType == envelope.TypeVideoFailed && (got.Data.Error == nil || got.Data.Error.Code != "MOVIO_ERR" || got.Data.Error.Message != "avatar not found") {
				t.Fatalf("error = %+v", got.Data.Error)
			}
		})
	}
}

func TestHeyGenConfirmRefusals(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		calls      []platformapitest.Call
		detailPart string
	}{
		{"unknown video", `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_forged"}}`,
			[]platformapitest.Call{{Method: "GET", Path: "/v3/videos/vid_forged", Status: 404, Answer: `{"error":{"message":"video not found"}}`}}, `"vid_forged"`},
		{"answer for another video", `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_a"}}`,
			[]platformapitest.Call{{Method: "GET", Path: "/v3/videos/vid_a", Status: 200, Answer: `{"data":{"id":"vid_b","status":"completed"}}`}}, "another video"},
		{"another callback_id", `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_a","callback_id":"forged"}}`,
			[]platformapitest.Call{{Method: "GET", Path: "/v3/videos/vid_a", Status: 200, Answer: `{"data":{"id":"vid_a","status":"completed","callback_id":"order_1"}}`}}, "another callback_id"},
		{"translation cannot be confirmed", `{"event_type":"video_translate.success","event_data":{"video_translate_id":"t1"}}`, nil, `"video_translate.success"`},
		{"no video id", `{"event_type":"avatar_video.success","event_data":{}}`, nil, "no valid video id"},
		{"not JSON", `not json`, nil, "only video events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, tt.calls...)
			got, err := confirmer(t, "heygen", base).Confirm(ctx, callback(t, "heygen", tt.body))
			if got != nil || !isUnconfirmed(err) {
				t.Fatalf("got %+v, %v; want unconfirmed", got, err)
			}
			if !strings.Contains(err.Error(), tt.detailPart) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.detailPart)
			}
		})
	}
	// The API failing leaves the question open (503 upstream), never a refusal.
	base := platformapitest.Serve(t, platformapitest.Call{Method: "GET", Path: "/v3/videos/vid_1", Status: 502, Answer: `{}`})
	_, err := confirmer(t, "heygen", base).Confirm(ctx, callback(t, "heygen", `{"event_type":"avatar_video.success","event_data":{"video_id":"vid_1"}}`))
	if !errors.Is(err, ErrServer) || isUnconfirmed(err) {
		t.Fatalf("API down: err = %v, want ErrServer", err)
	}
}

// refusal is a callback the platform's API does not confirm, the calls it makes, and how the
// refusal must read.
type refusal struct {
	name       string
	body       string
	calls      []platformapitest.Call
	unconfirm  bool
	sentinel   error
	detailPart string
}

// checkRefusals confirms each callback of platform against a fake API making tt.calls and
// requires a refusal of the expected kind.
func checkRefusals(t *testing.T, platform string, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, tt.calls...)
			got, err := confirmer(t, platform, base).Confirm(ctx, callback(t, platform, tt.body))
			if got != nil || err == nil {
				t.Fatalf("got %+v, %v; want a refusal", got, err)
			}
			if isUnconfirmed(err) != tt.unconfirm {
				t.Fatalf("err = %v; unconfirmed = %v, want %v", err, isUnconfirmed(err), tt.unconfirm)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.detailPart) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.detailPart)
			}
		})
	}
}
