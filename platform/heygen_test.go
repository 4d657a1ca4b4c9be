package platform_test

import (
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
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
