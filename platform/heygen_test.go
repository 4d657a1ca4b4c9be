package platform_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

func normalize(t *testing.T, preset, body string, mod ...func(*platform.Input)) envelope.Event {
	t.Helper()
	p, ok := platform.Default().Lookup(preset)
	if !ok {
		t.Fatalf("no preset %s", preset)
	}
	in := platform.Input{Source: preset, Body: []byte(body), ReceivedAt: fixedClock}
	for _, m := range mod {
		m(&in)
	}
	ev := p.Normalize(in)
	if err := ev.Validate(); err != nil {
		t.Fatalf("invalid envelope: %v", err)
	}
	return ev
}

func TestHeyGenLenientFields(t *testing.T) {
	tests := []struct {
		name                      string
		body                      string
		typ, id, resource, media  string
		errMsg, correlation, code string
		duration                  float64
	}{
		{name: "v1 url", body: `{"event_type":"avatar_video.success","event_data":{"video_id":"v1","url":"https://a/v1.mp4","callback_id":"c1"}}`,
			typ: envelope.TypeVideoCompleted, id: "heygen:avatar_video.success:v1", resource: "v1", media: "https://a/v1.mp4", correlation: "c1"},
		{name: "v3 video_url and duration", body: `{"event_type":"avatar_video.success","event_data":{"video_id":"v2","video_url":"https://a/v2.mp4","duration":12.5}}`,
			typ: envelope.TypeVideoCompleted, id: "heygen:avatar_video.success:v2", resource: "v2", media: "https://a/v2.mp4", duration: 12.5},
		{name: "fail msg", body: `{"event_type":"avatar_video.fail","event_data":{"video_id":"v3","msg":"boom"}}`,
			typ: envelope.TypeVideoFailed, id: "heygen:avatar_video.fail:v3", resource: "v3", errMsg: "boom"},
		{name: "fail message", body: `{"event_type":"video_translate.fail","event_data":{"video_translate_id":"t1","message":"nope"}}`,
			typ: envelope.TypeTranslationFailed, id: "heygen:video_translate.fail:t1", resource: "t1", errMsg: "nope"},
		{name: "fail failure_message and code", body: `{"event_type":"avatar_video_gif.fail","event_data":{"video_id":"v4","failure_message":"bad","failure_code":"E42"}}`,
			typ: envelope.TypeVideoFailed, id: "heygen:avatar_video_gif.fail:v4", resource: "v4", errMsg: "bad", code: "E42"},
		{name: "v3 event_id wins", body: `{"event_id":"evt_9","event_type":"avatar_video.success","event_data":{"video_id":"v5"}}`,
			typ: envelope.TypeVideoCompleted, id: "heygen:evt_9", resource: "v5"},
		{name: "numeric id", body: `{"event_type":"instant_avatar.success","event_data":{"avatar_id":12345}}`,
			typ: envelope.TypePersonaReady, id: "heygen:instant_avatar.success:12345", resource: "12345"},
		{name: "preflight", body: `{"event_type":"video_translate.preflight.download_failed","event_data":{"video_translate_id":"t2"}}`,
			typ: envelope.TypeTranslationFailed, id: "heygen:video_translate.preflight.download_failed:t2", resource: "t2"},
		{name: "batch", body: `{"event_type":"batch.finished","event_data":{"batch_id":"b1"}}`,
			typ: envelope.TypeBatchCompleted, id: "heygen:batch.finished:b1", resource: "b1"},
		{name: "null and NaN durations are no duration", body: `{"event_type":"avatar_video.success","event_data":{"video_id":"v8","duration":null,"thumbnail_url":null}}`,
			typ: envelope.TypeVideoCompleted, id: "heygen:avatar_video.success:v8", resource: "v8"},
		{name: "event name with a newline is unknown", body: `{"event_type":"avatar_video.success\n","event_data":{"video_id":"v9"}}`,
			typ: envelope.TypeUnrecognized, id: "body digest", resource: "v9"},
		{name: "wrong-typed field ignored", body: `{"event_type":"avatar_video.success","event_data":{"video_id":"v6","url":{"nested":true}}}`,
			typ: envelope.TypeVideoCompleted, id: "heygen:avatar_video.success:v6", resource: "v6"},
		{name: "unsubscribed but known elsewhere", body: `{"event_type":"proofread_creation.success","event_data":{"video_id":"v7"}}`,
			typ: envelope.TypeUnrecognized, id: "heygen:proofread_creation.success:v7", resource: "v7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "heygen", tt.body)
			if tt.id == "body digest" {
				tt.id = envelope.BodyID("heygen", []byte(tt.body))
			}
			if ev.Type != tt.typ || ev.ID != tt.id || ev.Data.ResourceID != tt.resource || ev.Subject != tt.resource {
				t.Fatalf("got type %q id %q resource %q", ev.Type, ev.ID, ev.Data.ResourceID)
			}
			if ev.Data.MediaURL != tt.media || ev.CorrelationID != tt.correlation {
				t.Fatalf("media %q correlation %q", ev.Data.MediaURL, ev.CorrelationID)
			}
			if tt.errMsg != "" || tt.code != "" {
				if ev.Data.Error == nil || ev.Data.Error.Message != tt.errMsg || ev.Data.Error.Code != tt.code {
					t.Fatalf("error %+v", ev.Data.Error)
				}
			} else if ev.Data.Error != nil {
				t.Fatalf("invented an error: %+v", ev.Data.Error)
			}
			if tt.duration != 0 && (ev.Data.DurationSeconds == nil || *ev.Data.DurationSeconds != tt.duration) {
				t.Fatalf("duration %v", ev.Data.DurationSeconds)
			}
			if tt.duration == 0 && ev.Data.DurationSeconds != nil {
				t.Fatal("invented a duration")
			}
			if ev.Time != fixedClock {
				t.Fatalf("HeyGen sends no time: want the receive time, got %s", ev.Time)
			}
		})
	}
}

func TestSourceEventsOverrideThePresetTable(t *testing.T) {
	body := `{"event_type":"live_avatar.success","event_data":{"video_id":"v"}}`
	if ev := normalize(t, "heygen", body); ev.Type != envelope.TypeUnrecognized {
		t.Fatalf("without mapping: %s", ev.Type)
	}
	ev := normalize(t, "heygen", body, func(in *platform.Input) {
		in.Events = map[string]string{"live_avatar.success": envelope.TypeVideoCompleted}
	})
	if ev.Type != envelope.TypeVideoCompleted || ev.Data.Status != "completed" {
		t.Fatalf("with mapping: %s %s", ev.Type, ev.Data.Status)
	}
}

func TestGenericSources(t *testing.T) {
	body := `{"type":"video.done","timestamp":"2026-11-26T10:00:00.5Z","data":{"id":"vid_1"}}`
	mapping := func(in *platform.Input) {
		in.Source = "acme"
		in.MessageID = "msg_1"
		in.Events = map[string]string{"video.done": envelope.TypeVideoCompleted, "credits.low": envelope.TypeAccountCreditsLow}
	}
	ev := normalize(t, "standardwebhooks", body, mapping)
	if ev.Type != envelope.TypeVideoCompleted || ev.Platform != "acme" || ev.Source != "/platforms/acme" || ev.ID != "acme:msg_1" {
		t.Fatalf("%+v", ev)
	}
	if ev.Time.Format("15:04:05.000") != "10:00:00.500" || ev.Subject != "vid_1" || ev.PlatformEvent != "video.done" {
		t.Fatalf("time %s subject %q", ev.Time, ev.Subject)
	}
	credits := normalize(t, "standardwebhooks", `{"type":"credits.low","data":{"remaining":3}}`, mapping)
	if credits.Type != envelope.TypeAccountCreditsLow || credits.Subject != "" {
		t.Fatalf("%+v", credits)
	}
	canonical := normalize(t, "hmac", `{"event_type":"avatar.video.failed","data":{"id":"v"}}`, func(in *platform.Input) { in.Source = "partner" })
	if canonical.Type != envelope.TypeVideoFailed || canonical.Platform != "partner" || canonical.Data.Status != "failed" {
		t.Fatalf("%+v", canonical)
	}
	if canonical.ID != envelope.BodyID("partner", []byte(`{"event_type":"avatar.video.failed","data":{"id":"v"}}`)) {
		t.Fatalf("without a message id the id is the body digest, got %q", canonical.ID)
	}
	bogus := normalize(t, "standardwebhooks", `{"type":"avatar.unrecognized"}`, mapping)
	if bogus.Type != envelope.TypeUnrecognized {
		t.Fatal(bogus.Type)
	}
}

// TestHeyGenV3Fields: the fields of v3 bodies (platforms.md H5, H6) and their nulls.
func TestHeyGenV3Fields(t *testing.T) {
	secs := time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name                  string
		body                  string
		resource, gif, page   string
		time                  time.Time
		platformEventID, typ  string
		wantMediaURL, wantErr string
	}{
		{name: "gif_download_url and share page",
			body:     `{"event_id":"e1","event_type":"avatar_video.success","created_at":1774440000,"event_data":{"video_id":"v1","url":"https://a/v1.mp4","gif_download_url":"https://a/v1.gif","video_page_url":"https://app/v1","video_share_page_url":"https://share/v1"}}`,
			resource: "v1", gif: "https://a/v1.gif", page: "https://share/v1", time: secs, platformEventID: "e1", typ: envelope.TypeVideoCompleted, wantMediaURL: "https://a/v1.mp4"},
		{name: "video_page_url alone", body: `{"event_type":"avatar_video.success","event_data":{"video_id":"v2","video_page_url":"https://app/v2"}}`,
			resource: "v2", page: "https://app/v2", time: fixedClock, typ: envelope.TypeVideoCompleted},
		{name: "created_at in milliseconds", body: `{"event_type":"avatar_video.success","created_at":1774440000000,"event_data":{"video_id":"v3"}}`,
			resource: "v3", time: secs, typ: envelope.TypeVideoCompleted},
		{name: "created_at RFC 3339", body: `{"event_type":"avatar_video.success","created_at":"2026-03-25T12:00:00Z","event_data":{"video_id":"v4"}}`,
			resource: "v4", time: secs, typ: envelope.TypeVideoCompleted},
		{name: "created_at as a numeric string", body: `{"event_type":"avatar_video.success","created_at":"1774440000","event_data":{"video_id":"v5"}}`,
			resource: "v5", time: secs, typ: envelope.TypeVideoCompleted},
		{name: "created_at garbage is the receive time", body: `{"event_type":"avatar_video.success","created_at":"yesterday","event_data":{"video_id":"v6"}}`,
			resource: "v6", time: fixedClock, typ: envelope.TypeVideoCompleted},
		{name: "nulls everywhere", body: `{"event_id":null,"event_type":"avatar_video.success","created_at":null,"event_data":{"video_id":"v7","url":null,"gif_download_url":null,"video_page_url":null,"video_share_page_url":null,"folder_id":null,"callback_id":null}}`,
			resource: "v7", time: fixedClock, typ: envelope.TypeVideoCompleted},
		{name: "event_data null", body: `{"event_type":"avatar_video.success","event_data":null}`, time: fixedClock, typ: envelope.TypeVideoCompleted},
		{name: "video_translation_id", body: `{"event_type":"video_translate.success","event_data":{"video_translation_id":"tr1","url":"https://a/t.mp4"}}`,
			resource: "tr1", time: fixedClock, typ: envelope.TypeTranslationCompleted, wantMediaURL: "https://a/t.mp4"},
		{name: "session_id of a video agent", body: `{"event_type":"video_agent.fail","event_data":{"session_id":"s1","msg":"quota"}}`,
			resource: "s1", time: fixedClock, typ: envelope.TypeVideoFailed, wantErr: "quota"},
		{name: "render_id", body: `{"event_type":"hyperframes_video.success","event_data":{"render_id":"r1"}}`, resource: "r1", time: fixedClock, typ: envelope.TypeVideoCompleted},
		{name: "lipsync_id", body: `{"event_type":"lipsync.success","event_data":{"lipsync_id":"l1"}}`, resource: "l1", time: fixedClock, typ: envelope.TypeUnrecognized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "heygen", tt.body)
			if ev.Type != tt.typ || ev.Data.ResourceID != tt.resource || ev.Data.GifURL != tt.gif || ev.Data.PageURL != tt.page {
				t.Fatalf("type %q resource %q gif %q page %q", ev.Type, ev.Data.ResourceID, ev.Data.GifURL, ev.Data.PageURL)
			}
			if !ev.Time.Equal(tt.time) || ev.PlatformEventID != tt.platformEventID || ev.Data.MediaURL != tt.wantMediaURL {
				t.Fatalf("time %s platformeventid %q media %q", ev.Time, ev.PlatformEventID, ev.Data.MediaURL)
			}
			if (tt.wantErr == "") != (ev.Data.Error == nil) || (ev.Data.Error != nil && ev.Data.Error.Message != tt.wantErr) {
				t.Fatalf("error %+v", ev.Data.Error)
			}
		})
	}
}

// TestHeyGenIDNeverFromAHeader: the envelope id (= Nats-Msg-Id) comes from the signed body only.
// Heygen-Event-Id and a verifier's message id are unsigned for HeyGen: a captured body resent with
// another header value must get the same id, or it would be stored twice.
func TestHeyGenIDNeverFromAHeader(t *testing.T) {
	withHeaders := func(eventID, msgID string) func(*platform.Input) {
		return func(in *platform.Input) {
			in.Header = textproto.MIMEHeader{"Heygen-Event-Id": {eventID}}
			in.MessageID = msgID
		}
	}
	tests := []struct {
		name, body, wantID, wantPlatformEventID string
	}{
		{"body event_id", `{"event_id":"evt_1","event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`, "heygen:evt_1", "evt_1"},
		{"no event_id: name and resource", `{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`, "heygen:avatar_video.success:v1", "hdr_A"},
		{"no event_id, no resource: body digest", `{"event_type":"avatar_video.success","event_data":{}}`, "digest", "hdr_A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := normalize(t, "heygen", tt.body, withHeaders("hdr_A", "msg_A"))
			b := normalize(t, "heygen", tt.body, withHeaders("hdr_B", "msg_B"))
			want := tt.wantID
			if want == "digest" {
				want = envelope.BodyID("heygen", []byte(tt.body))
			}
			if a.ID != want || b.ID != want {
				t.Fatalf("ids %q and %q, want %q for both", a.ID, b.ID, want)
			}
			if a.PlatformEventID != tt.wantPlatformEventID {
				t.Fatalf("platformeventid %q, want %q", a.PlatformEventID, tt.wantPlatformEventID)
			}
		})
	}
}

// TestHeyGenDefaultVerify holds the preset's default verification to HeyGen's documented scheme
// (developers.heygen.com/docs/webhooks, "Verifying Payloads"): Heygen-Signature = hex HMAC-SHA256 of
// the raw body keyed with the whole whsec_ secret, computed here with crypto/hmac as Node's
// crypto.createHmac('sha256', secret).update(rawBody).digest('hex') does; Heygen-Timestamp required
// and within 5 min, but not signed.
func TestHeyGenDefaultVerify(t *testing.T) {
	p, _ := platform.Default().Lookup("heygen")
	secret := "whsec_k7x9m2QhYw3v"
	cfg := p.DefaultVerify()
	cfg.Secrets = []string{secret}
	v, err := verify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"event_id":"evt_1","event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`)
	sign := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	now := time.Unix(1774440000, 0)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		header textproto.MIMEHeader
		reason string // "" = accepted
	}{
		{"documented", textproto.MIMEHeader{"Heygen-Signature": {sign(secret)}, "Heygen-Timestamp": {ts(0)}, "Heygen-Event-Id": {"evt_1"}}, ""},
		{"timestamp changed: not signed, still accepted", textproto.MIMEHeader{"Heygen-Signature": {sign(secret)}, "Heygen-Timestamp": {ts(-4 * time.Minute)}}, ""},
		{"secret without its whsec_ prefix", textproto.MIMEHeader{"Heygen-Signature": {sign(strings.TrimPrefix(secret, "whsec_"))}, "Heygen-Timestamp": {ts(0)}},
			verify.ReasonSignatureMismatch},
		{"wrong secret", textproto.MIMEHeader{"Heygen-Signature": {sign("whsec_other")}, "Heygen-Timestamp": {ts(0)}}, verify.ReasonSignatureMismatch},
		{"older than 5 min", textproto.MIMEHeader{"Heygen-Signature": {sign(secret)}, "Heygen-Timestamp": {ts(-5*time.Minute - time.Second)}}, verify.ReasonTimestampTolerance},
		{"missing timestamp", textproto.MIMEHeader{"Heygen-Signature": {sign(secret)}}, verify.ReasonMissingHeader},
		{"old header name", textproto.MIMEHeader{"Signature": {sign(secret)}, "Heygen-Timestamp": {ts(0)}}, verify.ReasonMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(verify.Request{Header: tt.header, Body: body, Now: now})
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.MessageID != "" {
					t.Fatalf("message id %q from an unsigned header", res.MessageID)
				}
				return
			}
			if !errors.Is(err, verify.ErrUnverified) || verify.ReasonOf(err) != tt.reason {
				t.Fatalf("err %v, want reason %s", err, tt.reason)
			}
		})
	}
}
