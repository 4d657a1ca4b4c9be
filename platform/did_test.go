package platform_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

// expect is everything a test states about a normalized event. Every field is compared, so a field
// left empty here must be absent from the event: a preset never invents a value.
type expect struct {
	typ, id, resource, event, status   string
	media, thumbnail, gif, captions    string
	page, correlation, errCode, errMsg string
	time                               time.Time // zero: the receive time
	duration                           float64
	hasDuration                        bool
}

func checkEvent(t *testing.T, ev envelope.Event, w expect) {
	t.Helper()
	if ev.Type != w.typ || ev.ID != w.id || ev.PlatformEvent != w.event {
		t.Errorf("type %q id %q platformevent %q, want %q %q %q", ev.Type, ev.ID, ev.PlatformEvent, w.typ, w.id, w.event)
	}
	if ev.Data.ResourceID != w.resource || ev.Subject != w.resource {
		t.Errorf("resource %q subject %q, want %q", ev.Data.ResourceID, ev.Subject, w.resource)
	}
	if ev.Data.Status != w.status {
		t.Errorf("status %q, want %q", ev.Data.Status, w.status)
	}
	d := ev.Data
	if d.MediaURL != w.media || d.ThumbnailURL != w.thumbnail || d.GifURL != w.gif || d.CaptionsURL != w.captions || d.PageURL != w.page {
		t.Errorf("urls media %q thumbnail %q gif %q captions %q page %q, want %q %q %q %q %q",
			d.MediaURL, d.ThumbnailURL, d.GifURL, d.CaptionsURL, d.PageURL, w.media, w.thumbnail, w.gif, w.captions, w.page)
	}
	if ev.CorrelationID != w.correlation {
		t.Errorf("correlation %q, want %q", ev.CorrelationID, w.correlation)
	}
	want := w.time
	if want.IsZero() {
		want = fixedClock
	}
	if !ev.Time.Equal(want) || ev.Time.Location() != time.UTC {
		t.Errorf("time %s, want %s (UTC)", ev.Time, want)
	}
	if _, err := envelope.Marshal(&ev); err != nil {
		t.Errorf("cannot publish: %v", err)
	}
	if !ev.ReceivedAt.Equal(fixedClock) {
		t.Errorf("receivedat %s", ev.ReceivedAt)
	}
	switch {
	case w.hasDuration && (d.DurationSeconds == nil || *d.DurationSeconds != w.duration):
		t.Errorf("duration %v, want %v", d.DurationSeconds, w.duration)
	case !w.hasDuration && d.DurationSeconds != nil:
		t.Errorf("invented a duration: %v", *d.DurationSeconds)
	}
	switch {
	case w.errCode != "" || w.errMsg != "":
		if d.Error == nil || d.Error.Code != w.errCode || d.Error.Message != w.errMsg {
			t.Errorf("error %+v, want code %q message %q", d.Error, w.errCode, w.errMsg)
		}
	case d.Error != nil:
		t.Errorf("invented an error: %+v", d.Error)
	}
}

// readFixture returns the body of fixtures/<platform>/<name>.json.
func readFixture(t *testing.T, platformName, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("fixtures", platformName, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// redelivered normalizes body again, received an hour later, and checks the id is unchanged.
func checkRedelivery(t *testing.T, preset, body string, first envelope.Event) {
	t.Helper()
	again := normalize(t, preset, body, func(in *platform.Input) { in.ReceivedAt = fixedClock.Add(time.Hour) })
	if again.ID != first.ID {
		t.Errorf("redelivery changed the id: %q then %q", first.ID, again.ID)
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestDIDFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    expect
	}{
		{"talk.done", expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_TMj4G1wiEGpQrdNFvrqAk:done", event: "talk.done",
			resource: "tlk_TMj4G1wiEGpQrdNFvrqAk", status: "completed",
			media:       "https://d-id-talks-prod.s3.us-west-2.amazonaws.com/google-oauth2%7C12345678/tlk_TMj4G1wiEGpQrdNFvrqAk/image.mp4",
			correlation: "order_12345", time: utc("2023-03-22T16:39:15.603Z")}},
		{"talk.error", expect{typ: envelope.TypeVideoFailed, id: "did:tlk_Qx7Lm2Np9RsTu4VwYz1Ab:error", event: "talk.error",
			resource: "tlk_Qx7Lm2Np9RsTu4VwYz1Ab", status: "failed", correlation: "order_12346", time: utc("2023-03-22T17:02:19.332Z")}},
		{"clip.done", expect{typ: envelope.TypeVideoCompleted, id: "did:clp_auvOUSOANX95VaLCKb2Il:done", event: "clip.done",
			resource: "clp_auvOUSOANX95VaLCKb2Il", status: "completed",
			media:       "https://d-id-clips-prod.s3.us-west-2.amazonaws.com/google-oauth2%7C1039658317634543586/clp_auvOUSOADFGDFKb2Il/amy-jcwCkr1grs.mp4",
			correlation: `{"order_id":"order_12347","step":2}`, time: utc("2023-03-22T21:34:01.025Z"), duration: 2, hasDuration: true}},
		{"clip.error", expect{typ: envelope.TypeVideoFailed, id: "did:clp_Rk3Vb8Tq1WmZx5Ny7Pc2D:error", event: "clip.error",
			resource: "clp_Rk3Vb8Tq1WmZx5Ny7Pc2D", status: "failed", correlation: "order_12348", time: utc("2023-03-22T21:40:31.907Z"),
			errCode: "InternalServerError", errMsg: "Internal Server Error"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := readFixture(t, "did", tt.fixture)
			ev := normalize(t, "did", body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "did", body, ev)
		})
	}
}

func TestDIDLenient(t *testing.T) {
	tests := []struct {
		name, body string
		want       expect
	}{
		{"talk_id instead of id", `{"talk_id":"tlk_1","status":"done","result_url":"https://r/1.mp4"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_1:done", event: "talk.done", resource: "tlk_1", status: "completed", media: "https://r/1.mp4"}},
		{"id wins over talk_id", `{"id":"tlk_a","talk_id":"tlk_b","status":"done"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_a:done", event: "talk.done", resource: "tlk_a", status: "completed"}},
		{"rejected", `{"id":"tlk_2","status":"rejected","user_data":"u2"}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_2:rejected", event: "talk.rejected", resource: "tlk_2", status: "failed", correlation: "u2"}},
		{"error object kind and description", `{"id":"tlk_3","status":"error","error":{"kind":"FaceError","description":"no face"}}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_3:error", event: "talk.error", resource: "tlk_3", status: "failed", errCode: "FaceError", errMsg: "no face"}},
		{"error object code and message", `{"id":"tlk_4","status":"error","error":{"code":"E1","message":"boom"}}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_4:error", event: "talk.error", resource: "tlk_4", status: "failed", errCode: "E1", errMsg: "boom"}},
		{"error string", `{"id":"tlk_5","status":"error","error":"bad audio"}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_5:error", event: "talk.error", resource: "tlk_5", status: "failed", errMsg: "bad audio"}},
		{"top-level description", `{"id":"tlk_6","status":"error","description":"timeout"}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_6:error", event: "talk.error", resource: "tlk_6", status: "failed", errMsg: "timeout"}},
		{"error of the wrong type is no error", `{"id":"tlk_7","status":"error","error":[1,2]}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:tlk_7:error", event: "talk.error", resource: "tlk_7", status: "failed"}},
		{"an error on a done talk is not read", `{"id":"tlk_8","status":"done","error":"ignored"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_8:done", event: "talk.done", resource: "tlk_8", status: "completed"}},
		{"zone-less modified_at is UTC", `{"id":"tlk_9","status":"done","modified_at":"2023-03-22 16:39:15.603"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_9:done", event: "talk.done", resource: "tlk_9", status: "completed", time: utc("2023-03-22T16:39:15.603Z")}},
		{"bad modified_at: receive time", `{"id":"tlk_10","status":"done","modified_at":"yesterday"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_10:done", event: "talk.done", resource: "tlk_10", status: "completed"}},
		{"modified_at beyond year 9999 in UTC: receive time", `{"id":"tlk_15","status":"done","modified_at":"9999-12-31T23:59:59-01:00"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_15:done", event: "talk.done", resource: "tlk_15", status: "completed"}},
		{"created is not mapped", `{"id":"tlk_11","status":"created","modified_at":"2023-03-22T16:38:49.723Z"}`,
			expect{typ: envelope.TypeUnrecognized, id: "did:tlk_11:created", event: "talk.created", resource: "tlk_11", time: utc("2023-03-22T16:38:49.723Z")}},
		{"started is not mapped", `{"id":"tlk_12","status":"started","result_url":"https://r/12.mp4"}`,
			expect{typ: envelope.TypeUnrecognized, id: "did:tlk_12:started", event: "talk.started", resource: "tlk_12"}},
		{"no status", `{"id":"tlk_13","user_data":"u13"}`,
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("did", []byte(`{"id":"tlk_13","user_data":"u13"}`)), resource: "tlk_13", correlation: "u13"}},
		{"no id", `{"status":"done","result_url":"https://r/x.mp4"}`,
			expect{typ: envelope.TypeVideoCompleted, id: envelope.BodyID("did", []byte(`{"status":"done","result_url":"https://r/x.mp4"}`)), event: "talk.done", status: "completed", media: "https://r/x.mp4"}},
		{"clip by id prefix", `{"id":"clp_1","status":"done","result_url":"https://r/c1.mp4"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_1:done", event: "clip.done", resource: "clp_1", status: "completed", media: "https://r/c1.mp4"}},
		{"clip by object", `{"id":"x_2","object":"clip","status":"rejected"}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:x_2:rejected", event: "clip.rejected", resource: "x_2", status: "failed"}},
		{"object wins over the prefix", `{"id":"clp_3","object":"talk","status":"done"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_3:done", event: "talk.done", resource: "clp_3", status: "completed"}},
		{"unknown object: the prefix decides", `{"id":"clp_4","object":"animation","status":"error"}`,
			expect{typ: envelope.TypeVideoFailed, id: "did:clp_4:error", event: "clip.error", resource: "clp_4", status: "failed"}},
		{"clip started is not mapped", `{"id":"clp_5","status":"started"}`,
			expect{typ: envelope.TypeUnrecognized, id: "did:clp_5:started", event: "clip.started", resource: "clp_5"}},
		{"user_data object is compact JSON", `{"id":"tlk_16","status":"done","user_data":{ "order": "o1", "n": [1, 2] }}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:tlk_16:done", event: "talk.done", resource: "tlk_16", status: "completed", correlation: `{"order":"o1","n":[1,2]}`}},
		{"user_data array is compact JSON", `{"id":"clp_6","status":"done","user_data":[ "a", 1 ]}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_6:done", event: "clip.done", resource: "clp_6", status: "completed", correlation: `["a",1]`}},
		{"user_data number is kept as spelled", `{"id":"clp_7","status":"done","user_data":12345}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_7:done", event: "clip.done", resource: "clp_7", status: "completed", correlation: "12345"}},
		{"user_data null, bool or empty object is none", `{"id":"clp_8","status":"done","user_data":{}}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_8:done", event: "clip.done", resource: "clp_8", status: "completed"}},
		{"user_data true is none", `{"id":"clp_9","status":"done","user_data":true}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_9:done", event: "clip.done", resource: "clp_9", status: "completed"}},
		{"duration on a clip", `{"id":"clp_10","status":"done","duration":8.5}`,
			expect{typ: envelope.TypeVideoCompleted, id: "did:clp_10:done", event: "clip.done", resource: "clp_10", status: "completed", duration: 8.5, hasDuration: true}},
		{"control character in status", "{\"id\":\"tlk_14\",\"status\":\"done\\n\"}",
			expect{typ: envelope.TypeUnrecognized, id: envelope.ID("did", "tlk_14", "done\n"), resource: "tlk_14"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "did", tt.body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "did", tt.body, ev)
		})
	}
}

func TestDIDSourceMapping(t *testing.T) {
	body := `{"id":"tlk_1","status":"started"}`
	ev := normalize(t, "did", body, func(in *platform.Input) {
		in.Events = map[string]string{"talk.started": envelope.TypeConversationStarted, "talk.done": envelope.TypeUnrecognized}
	})
	if ev.Type != envelope.TypeConversationStarted || ev.Data.Status != "started" {
		t.Fatalf("mapped: %s %q", ev.Type, ev.Data.Status)
	}
	done := normalize(t, "did", `{"id":"tlk_1","status":"done"}`, func(in *platform.Input) {
		in.Events = map[string]string{"talk.done": "avatar.not.a.type"}
	})
	if done.Type != envelope.TypeUnrecognized {
		t.Fatalf("a mapping to no canonical type must not fall back to the table: %s", done.Type)
	}
}
