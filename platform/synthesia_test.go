package platform_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

func TestSynthesiaFixtures(t *testing.T) {
	const s3 = "https://synthesia-ttv-data.s3.amazonaws.com/video_data/2c1f7b0e-8d3a-4f5e-9b6c-1a2b3c4d5e6f/"
	tests := []struct {
		fixture string
		want    expect
	}{
		{"video.completed", expect{typ: envelope.TypeVideoCompleted, id: "synthesia:video.completed:2c1f7b0e-8d3a-4f5e-9b6c-1a2b3c4d5e6f",
			event: "video.completed", resource: "2c1f7b0e-8d3a-4f5e-9b6c-1a2b3c4d5e6f", status: "completed",
			media:     s3 + "transfers/rendered_video.mp4?X-Amz-Expires=3600",
			thumbnail: s3 + "thumbnail.jpg?X-Amz-Expires=3600", gif: s3 + "thumbnail.gif?X-Amz-Expires=3600",
			captions: s3 + "captions.vtt?X-Amz-Expires=3600", correlation: "jane.doe@example.com",
			time: time.Unix(1602512171, 0).UTC(), duration: 59, hasDuration: true}},
		{"video.failed", expect{typ: envelope.TypeVideoFailed, id: "synthesia:video.failed:8e7d6c5b-4a39-4281-b0fe-dcba98765432",
			event: "video.failed", resource: "8e7d6c5b-4a39-4281-b0fe-dcba98765432", status: "failed",
			correlation: "crm-lead-9912", time: time.Unix(1602513420, 0).UTC()}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := readFixture(t, "synthesia", tt.fixture)
			ev := normalize(t, "synthesia", body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "synthesia", body, ev)
		})
	}
}

func TestSynthesiaLenient(t *testing.T) {
	completed := func(extra string) string {
		return `{"type":"video.completed","data":{"id":"v1"` + extra + `}}`
	}
	base := expect{typ: envelope.TypeVideoCompleted, id: "synthesia:video.completed:v1", event: "video.completed", resource: "v1", status: "completed"}
	with := func(f func(*expect)) expect { w := base; f(&w); return w }
	tests := []struct {
		name, body string
		want       expect
	}{
		{"srt captions when no vtt", completed(`,"captions":{"srt":"https://c/v1.srt"}`), with(func(w *expect) { w.captions = "https://c/v1.srt" })},
		{"thumbnail without gif", completed(`,"thumbnail":{"image":"https://t/v1.jpg"}`), with(func(w *expect) { w.thumbnail = "https://t/v1.jpg" })},
		{"createdAt when no lastUpdatedAt", completed(`,"createdAt":1602512112`), with(func(w *expect) { w.time = time.Unix(1602512112, 0).UTC() })},
		{"lastUpdatedAt of the wrong type", completed(`,"lastUpdatedAt":"soon","createdAt":1602512112`), with(func(w *expect) { w.time = time.Unix(1602512112, 0).UTC() })},
		{"lastUpdatedAt NaN", completed(`,"lastUpdatedAt":"NaN"`), base},
		{"error on failure: message", `{"type":"video.failed","data":{"id":"v2","status":"error","message":"Avatar unavailable"}}`,
			expect{typ: envelope.TypeVideoFailed, id: "synthesia:video.failed:v2", event: "video.failed", resource: "v2", status: "failed", errMsg: "Avatar unavailable"}},
		{"error on failure: error", `{"type":"video.failed","data":{"id":"v3","error":"script too long"}}`,
			expect{typ: envelope.TypeVideoFailed, id: "synthesia:video.failed:v3", event: "video.failed", resource: "v3", status: "failed", errMsg: "script too long"}},
		{"template preview type is not mapped", `{"type":"video.preview_completed","data":{"id":"v4","download":"https://d/v4.mp4"}}`,
			expect{typ: envelope.TypeUnrecognized, id: "synthesia:video.preview_completed:v4", event: "video.preview_completed", resource: "v4"}},
		{"no data", `{"type":"video.completed"}`,
			expect{typ: envelope.TypeVideoCompleted, id: envelope.BodyID("synthesia", []byte(`{"type":"video.completed"}`)), event: "video.completed", status: "completed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "synthesia", tt.body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "synthesia", tt.body, ev)
		})
	}
}

func TestSynthesiaDuration(t *testing.T) {
	tests := []struct {
		duration string // the JSON value
		want     float64
		ok       bool
	}{
		{`"0:00:59.000000"`, 59, true},
		{`"1:02:03.5"`, 3723.5, true},
		{`"0:00:00"`, 0, true},
		{`"12:34"`, 754, true},
		{`"1 day, 0:00:59"`, 86459, true},
		{`"2 days, 1:00:00.25"`, 2*86400 + 3600.25, true},
		{`59`, 59, true},
		{`12.75`, 12.75, true},
		{`"59.5"`, 59.5, true},
		{`"0:60:00"`, 0, false},
		{`"0:00:60"`, 0, false},
		{`"1:02:03:04"`, 0, false},
		{`"-0:00:59"`, 0, false},
		{`"0:-1:59"`, 0, false},
		{`"0:00:5e1"`, 0, false},
		{`"0:00:59."`, 0, false},
		{`"abc"`, 0, false},
		{`""`, 0, false},
		{`"NaN"`, 0, false},
		{`"Inf"`, 0, false},
		{`-5`, 0, false},
		{`null`, 0, false},
		{`{"seconds":59}`, 0, false},
		{`"x day, 0:00:59"`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.duration, func(t *testing.T) {
			body := fmt.Sprintf(`{"type":"video.completed","data":{"id":"v","duration":%s}}`, tt.duration)
			ev := normalize(t, "synthesia", body)
			got := ev.Data.DurationSeconds
			switch {
			case tt.ok && (got == nil || *got != tt.want):
				t.Fatalf("duration %v, want %v", got, tt.want)
			case !tt.ok && got != nil:
				t.Fatalf("duration %v, want none", *got)
			}
		})
	}
}

func TestSynthesiaSourceMapping(t *testing.T) {
	ev := normalize(t, "synthesia", `{"type":"video.preview_completed","data":{"id":"v4","download":"https://d/v4.mp4"}}`, func(in *platform.Input) {
		in.Events = map[string]string{"video.preview_completed": envelope.TypeVideoCompleted}
	})
	if ev.Type != envelope.TypeVideoCompleted || ev.Data.MediaURL != "https://d/v4.mp4" || ev.Data.Status != "completed" {
		t.Fatalf("%+v", ev)
	}
}
