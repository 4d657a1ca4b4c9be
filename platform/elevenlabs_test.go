package platform_test

import (
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

func TestElevenLabsFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    expect
	}{
		{"post_call_transcription", expect{typ: envelope.TypeConversationTranscriptReady,
			id: "elevenlabs:post_call_transcription:conv_3201k0example0000000000000", event: "post_call_transcription",
			resource: "conv_3201k0example0000000000000", status: "ready", time: time.Unix(1747580641, 0).UTC(),
			duration: 42, hasDuration: true}},
		{"post_call_audio", expect{typ: envelope.TypeConversationRecordingReady,
			id: "elevenlabs:post_call_audio:conv_3201k0example0000000000000", event: "post_call_audio",
			resource: "conv_3201k0example0000000000000", status: "ready", time: time.Unix(1747580650, 0).UTC()}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := readFixture(t, "elevenlabs", tt.fixture)
			ev := normalize(t, "elevenlabs", body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "elevenlabs", body, ev)
		})
	}
}

func TestElevenLabsLenient(t *testing.T) {
	ts := time.Unix(1747580641, 0).UTC()
	tests := []struct {
		name, body string
		want       expect
	}{
		{"missing data", `{"type":"post_call_transcription","event_timestamp":1747580641}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: envelope.BodyID("elevenlabs", []byte(`{"type":"post_call_transcription","event_timestamp":1747580641}`)),
				event: "post_call_transcription", status: "ready", time: ts}},
		{"data of the wrong type", `{"type":"post_call_audio","data":"oops"}`,
			expect{typ: envelope.TypeConversationRecordingReady, id: envelope.BodyID("elevenlabs", []byte(`{"type":"post_call_audio","data":"oops"}`)),
				event: "post_call_audio", status: "ready"}},
		{"call initiation failure", `{"type":"call_initiation_failure","event_timestamp":1747580641,"data":{"agent_id":"a","conversation_id":"conv_1","failure_reason":"busy"}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_1", event: "call_initiation_failure",
				resource: "conv_1", status: "failed", errMsg: "busy", time: ts}},
		{"call initiation failure without a reason", `{"type":"call_initiation_failure","data":{"conversation_id":"conv_2"}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_2", event: "call_initiation_failure",
				resource: "conv_2", status: "failed"}},
		{"voice removal notice", `{"type":"voice_removal_notice","event_timestamp":1747580641,"data":{"voice_id":"voice_1"}}`,
			expect{typ: envelope.TypeVoiceRemovalNotice, id: "elevenlabs:voice_removal_notice:voice_1", event: "voice_removal_notice", resource: "voice_1", time: ts}},
		{"voice removal withdrawn", `{"type":"voice_removal_notice_withdrawn","data":{"voice_id":"voice_1"}}`,
			expect{typ: envelope.TypeVoiceRemovalWithdrawn, id: "elevenlabs:voice_removal_notice_withdrawn:voice_1", event: "voice_removal_notice_withdrawn", resource: "voice_1"}},
		{"voice removed", `{"type":"voice_removed","data":{"voice_id":"voice_1","conversation_id":"ignored"}}`,
			expect{typ: envelope.TypeVoiceRemoved, id: "elevenlabs:voice_removed:voice_1", event: "voice_removed", resource: "voice_1"}},
		{"webhook_metadata string is the correlation id", `{"type":"speech_to_text_transcription","data":{"webhook_metadata":"job-7","transcription_id":"t1"}}`,
			expect{typ: envelope.TypeUnrecognized, id: envelope.BodyID("elevenlabs", []byte(`{"type":"speech_to_text_transcription","data":{"webhook_metadata":"job-7","transcription_id":"t1"}}`)),
				event: "speech_to_text_transcription", correlation: "job-7"}},
		{"webhook_metadata object is no correlation id", `{"type":"post_call_transcription","data":{"conversation_id":"conv_3","webhook_metadata":{"job":7}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_3", event: "post_call_transcription", resource: "conv_3", status: "ready"}},
		{"string duration and timestamp", `{"type":"post_call_transcription","event_timestamp":"1747580641","data":{"conversation_id":"conv_4","metadata":{"call_duration_secs":"12.5"}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_4", event: "post_call_transcription",
				resource: "conv_4", status: "ready", time: ts, duration: 12.5, hasDuration: true}},
		{"bad duration and timestamp", `{"type":"post_call_transcription","event_timestamp":"NaN","data":{"conversation_id":"conv_5","metadata":{"call_duration_secs":"NaN"}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_5", event: "post_call_transcription", resource: "conv_5", status: "ready"}},
		{"null duration", `{"type":"post_call_transcription","data":{"conversation_id":"conv_8","metadata":{"call_duration_secs":null}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_8", event: "post_call_transcription", resource: "conv_8", status: "ready"}},
		{"negative duration", `{"type":"post_call_transcription","data":{"conversation_id":"conv_6","metadata":{"call_duration_secs":-3}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_6", event: "post_call_transcription", resource: "conv_6", status: "ready"}},
		{"unknown type", `{"type":"agent_qa.completed","data":{"conversation_id":"conv_7"}}`,
			expect{typ: envelope.TypeUnrecognized, id: "elevenlabs:agent_qa.completed:conv_7", event: "agent_qa.completed", resource: "conv_7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalize(t, "elevenlabs", tt.body)
			checkEvent(t, ev, tt.want)
			checkRedelivery(t, "elevenlabs", tt.body, ev)
		})
	}
}

func TestElevenLabsSourceMapping(t *testing.T) {
	ev := normalize(t, "elevenlabs", `{"type":"speech_to_text_transcription","data":{}}`, func(in *platform.Input) {
		in.Events = map[string]string{"speech_to_text_transcription": envelope.TypeConversationTranscriptReady}
	})
	if ev.Type != envelope.TypeConversationTranscriptReady || ev.Data.Status != "ready" {
		t.Fatalf("%+v", ev)
	}
}
