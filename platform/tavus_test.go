package platform_test

import (
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

func TestTavusFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    expect
	}{
		{"system.replica_joined", expect{typ: envelope.TypeConversationStarted, id: "tavus:c123456:system.replica_joined",
			event: "system.replica_joined", resource: "c123456", status: "started", time: utc("2025-07-11T06:45:47.472Z")}},
		{"system.shutdown", expect{typ: envelope.TypeConversationEnded, id: "tavus:c123456:system.shutdown",
			event: "system.shutdown", resource: "c123456", status: "ended", time: utc("2025-07-11T06:58:02.118Z")}},
		{"application.transcription_ready", expect{typ: envelope.TypeConversationTranscriptReady, id: "tavus:c123456:application.transcription_ready",
			event: "application.transcription_ready", resource: "c123456", status: "ready", time: utc("2025-07-11T06:58:09.640Z")}},
		{"application.recording_ready", expect{typ: envelope.TypeConversationRecordingReady, id: "tavus:c123456:application.recording_ready",
			event: "application.recording_ready", resource: "c123456", status: "ready", time: utc("2025-07-11T06:59:31.004Z"),
			media: "s3://acme-tavus-recordings/recordings/c123456/1752216487.mp4", duration: 742, hasDuration: true}},
		{"video.ready", expect{typ: envelope.TypeVideoCompleted, id: "tavus:1e30440cf9:ready", event: "video.ready",
			resource: "1e30440cf9", status: "completed",
			media: "https://stream.mux.com/H5H029h02tY7XDpNj9JFDbLleTyUpsJr5npddO8gRsKqY/high.mp4?download=1e30440cf9",
			page:  "https://videos.tavus.io/video/1e30440cf9", time: utc("2024-08-28T15:29:19.80267Z")}},
		{"video.error", expect{typ: envelope.TypeVideoFailed, id: "tavus:c9b85a6d36:error", event: "video.error",
			resource: "c9b85a6d36", status: "failed", page: "https://videos.tavus.io/video/c9b85a6d36",
			errMsg: "An error occurred while generating this request. Please check your inputs or try your request again.",
			time:   utc("2024-08-28T15:35:03.762392Z")}},
		{"replica.ready", expect{typ: envelope.TypePersonaReady, id: "tavus:r1a2b3c4d5:ready", event: "replica.ready",
			resource: "r1a2b3c4d5", status: "ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := readFixture(t, "tavus", tt.fixture)
			ev := normalize(t, "tavus", body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "tavus", body, ev)
		})
	}
}

func TestTavusLenient(t *testing.T) {
	tests := []struct {
		name, body string
		want       expect
	}{
		{"perception analysis", `{"conversation_id":"c1","event_type":"application.perception_analysis","message_type":"application","timestamp":"2025-07-11T07:00:00Z","properties":{"analysis":"calm"}}`,
			expect{typ: envelope.TypeConversationAnalysisReady, id: "tavus:c1:application.perception_analysis", event: "application.perception_analysis",
				resource: "c1", status: "ready", time: utc("2025-07-11T07:00:00Z")}},
		{"zone-less timestamp is UTC", `{"conversation_id":"c2","event_type":"system.shutdown","timestamp":"2025-07-11T06:58:02.118000"}`,
			expect{typ: envelope.TypeConversationEnded, id: "tavus:c2:system.shutdown", event: "system.shutdown", resource: "c2", status: "ended",
				time: utc("2025-07-11T06:58:02.118Z")}},
		{"zone-less video updated_at is UTC", `{"video_id":"v1","status":"ready","updated_at":"2024-08-28 15:29:19.802670","download_url":"https://d/v1.mp4"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "tavus:v1:ready", event: "video.ready", resource: "v1", status: "completed",
				media: "https://d/v1.mp4", time: utc("2024-08-28T15:29:19.80267Z")}},
		{"timestamp before year 0 in UTC: receive time", `{"conversation_id":"c6","event_type":"system.shutdown","timestamp":"0000-01-01T00:00:00+01:00"}`,
			expect{typ: envelope.TypeConversationEnded, id: "tavus:c6:system.shutdown", event: "system.shutdown", resource: "c6", status: "ended"}},
		{"control character in event_type", "{\"conversation_id\":\"c7\",\"event_type\":\"system.shutdown\\r\"}",
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("tavus", []byte("{\"conversation_id\":\"c7\",\"event_type\":\"system.shutdown\\r\"}")), resource: "c7"}},
		{"unknown conversation event", `{"conversation_id":"c3","event_type":"system.guardrail_triggered","timestamp":"2025-07-11T06:00:00Z"}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:c3:system.guardrail_triggered", event: "system.guardrail_triggered",
				resource: "c3", time: utc("2025-07-11T06:00:00Z")}},
		{"recording with s3_key only: no media url invented", `{"conversation_id":"c8","event_type":"application.recording_ready","properties":{"bucket_name":"b","s3_key":"k.mp4"}}`,
			expect{typ: envelope.TypeConversationRecordingReady, id: "tavus:c8:application.recording_ready", event: "application.recording_ready", resource: "c8", status: "ready"}},
		{"recording duration as a string", `{"conversation_id":"c9","event_type":"application.recording_ready","properties":{"duration":"61.5","storage_uri":"gs://b/k.mp4"}}`,
			expect{typ: envelope.TypeConversationRecordingReady, id: "tavus:c9:application.recording_ready", event: "application.recording_ready", resource: "c9", status: "ready",
				media: "gs://b/k.mp4", duration: 61.5, hasDuration: true}},
		{"storage_uri on another event is not read", `{"conversation_id":"c10","event_type":"system.shutdown","properties":{"storage_uri":"s3://b/k","duration":5}}`,
			expect{typ: envelope.TypeConversationEnded, id: "tavus:c10:system.shutdown", event: "system.shutdown", resource: "c10", status: "ended"}},
		// Guardrail and objective callback names are not documented: whatever they are called, they
		// are kept (unrecognized, with their conversation and a deterministic id), never dropped.
		{"guardrail callback with an event_type", `{"conversation_id":"c11","event_type":"conversation.guardrail_triggered","properties":{"guardrail_name":"no_competitors"}}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:c11:conversation.guardrail_triggered", event: "conversation.guardrail_triggered", resource: "c11"}},
		{"objective callback with an event_type", `{"conversation_id":"c12","event_type":"application.objective_completed","properties":{"objective_name":"collect_email","output_variables":{"email":"a@b.c"}}}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:c12:application.objective_completed", event: "application.objective_completed", resource: "c12"}},
		{"guardrail callback without an event_type", `{"conversation_id":"c13","replica_id":"r13","guardrail_name":"no_competitors"}`,
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("tavus", []byte(`{"conversation_id":"c13","replica_id":"r13","guardrail_name":"no_competitors"}`)), resource: "c13"}},
		{"event_type wins over video_id", `{"conversation_id":"c4","event_type":"system.replica_joined","video_id":"v4","status":"ready"}`,
			expect{typ: envelope.TypeConversationStarted, id: "tavus:c4:system.replica_joined", event: "system.replica_joined", resource: "c4", status: "started"}},
		{"video_id wins over replica_id", `{"video_id":"v5","replica_id":"r5","status":"ready"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "tavus:v5:ready", event: "video.ready", resource: "v5", status: "completed"}},
		{"video still generating", `{"video_id":"v6","status":"generating","generation_progress":"42/100"}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:v6:generating", event: "video.generating", resource: "v6"}},
		{"video error with error_details", `{"video_id":"v7","status":"error","error_details":"replica not trained"}`,
			expect{typ: envelope.TypeVideoFailed, id: "tavus:v7:error", event: "video.error", resource: "v7", status: "failed", errMsg: "replica not trained"}},
		{"video error without a reason", `{"video_id":"v8","status":"error","status_details":null,"error_details":null}`,
			expect{typ: envelope.TypeVideoFailed, id: "tavus:v8:error", event: "video.error", resource: "v8", status: "failed"}},
		{"ready video: status_details is no error", `{"video_id":"v9","status":"ready","status_details":"Your request has processed successfully!"}`,
			expect{typ: envelope.TypeVideoCompleted, id: "tavus:v9:ready", event: "video.ready", resource: "v9", status: "completed"}},
		{"replica error", `{"replica_id":"r1","status":"error","error_message":"training video too short"}`,
			expect{typ: envelope.TypePersonaFailed, id: "tavus:r1:error", event: "replica.error", resource: "r1", status: "failed", errMsg: "training video too short"}},
		{"replica failed is not in the table", `{"replica_id":"r2","status":"failed","error_message":"x"}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:r2:failed", event: "replica.failed", resource: "r2"}},
		{"replica training is not mapped", `{"replica_id":"r3","status":"training"}`,
			expect{typ: envelope.TypeUnrecognized, id: "tavus:r3:training", event: "replica.training", resource: "r3"}},
		{"replica_id with a conversation_id is no replica callback", `{"replica_id":"r4","conversation_id":"c5","status":"ready"}`,
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("tavus", []byte(`{"replica_id":"r4","conversation_id":"c5","status":"ready"}`)), resource: "c5"}},
		{"nothing known", `{"hello":"world"}`,
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("tavus", []byte(`{"hello":"world"}`))}},
		{"conversation without id", `{"event_type":"system.shutdown"}`,
			expect{typ: envelope.TypeConversationEnded, id: envelope.BodyID("tavus", []byte(`{"event_type":"system.shutdown"}`)), event: "system.shutdown", status: "ended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "tavus", tt.body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "tavus", tt.body, ev)
		})
	}
}

func TestTavusSourceMapping(t *testing.T) {
	ev := normalize(t, "tavus", `{"replica_id":"r2","status":"failed","error_message":"x"}`, func(in *platform.Input) {
		in.Events = map[string]string{"replica.failed": envelope.TypePersonaFailed}
	})
	if ev.Type != envelope.TypePersonaFailed || ev.Data.Status != "failed" || ev.Data.Error == nil || ev.Data.Error.Message != "x" {
		t.Fatalf("%+v", ev)
	}
}
