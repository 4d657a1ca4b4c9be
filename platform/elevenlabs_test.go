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
		{"call_initiation_failure", expect{typ: envelope.TypeConversationFailed,
			id: "elevenlabs:call_initiation_failure:abc", event: "call_initiation_failure", resource: "abc", status: "failed",
			errCode: "busy", errMsg: "INVITE failed: sip status: 486: Busy here (SIP 486)", time: time.Unix(1759931652, 0).UTC()}},
		{"speech_to_text_transcription", expect{typ: envelope.TypeVoiceTranscriptionCompleted,
			id: "elevenlabs:speech_to_text_transcription:req_7f3a91c2e5b84d06", event: "speech_to_text_transcription",
			resource: "req_7f3a91c2e5b84d06", status: "completed", correlation: `{"job":"call-001","attempt":1}`,
			time: time.Unix(1747580702, 0).UTC()}},
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
		{"call initiation failure, twilio", `{"type":"call_initiation_failure","event_timestamp":1747580641,"data":{"agent_id":"a","conversation_id":"conv_1","failure_reason":"no-answer","metadata":{"type":"twilio","body":{"CallStatus":"no-answer"}}}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_1", event: "call_initiation_failure",
				resource: "conv_1", status: "failed", errCode: "no-answer", time: ts}},
		{"call initiation failure, message elsewhere", `{"type":"call_initiation_failure","data":{"conversation_id":"conv_9","failure_reason":"unknown","error":"trunk down"}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_9", event: "call_initiation_failure",
				resource: "conv_9", status: "failed", errCode: "unknown", errMsg: "trunk down"}},
		{"call initiation failure, error object only", `{"type":"call_initiation_failure","data":{"conversation_id":"conv_10","error":{"code":"E7","message":"boom"}}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_10", event: "call_initiation_failure",
				resource: "conv_10", status: "failed", errCode: "E7", errMsg: "boom"}},
		{"call initiation failure without a reason", `{"type":"call_initiation_failure","data":{"conversation_id":"conv_2"}}`,
			expect{typ: envelope.TypeConversationFailed, id: "elevenlabs:call_initiation_failure:conv_2", event: "call_initiation_failure",
				resource: "conv_2", status: "failed"}},
		{"voice removal notice", `{"type":"voice_removal_notice","event_timestamp":1747580641,"data":{"voice_id":"voice_1"}}`,
			expect{typ: envelope.TypeVoiceRemovalNotice, id: "elevenlabs:voice_removal_notice:voice_1", event: "voice_removal_notice", resource: "voice_1", time: ts}},
		{"voice removal withdrawn", `{"type":"voice_removal_notice_withdrawn","data":{"voice_id":"voice_1"}}`,
			expect{typ: envelope.TypeVoiceRemovalWithdrawn, id: "elevenlabs:voice_removal_notice_withdrawn:voice_1", event: "voice_removal_notice_withdrawn", resource: "voice_1"}},
		{"voice removed", `{"type":"voice_removed","data":{"voice_id":"voice_1","conversation_id":"ignored"}}`,
			expect{typ: envelope.TypeVoiceRemoved, id: "elevenlabs:voice_removed:voice_1", event: "voice_removed", resource: "voice_1"}},
		{"speech to text, webhook_metadata string", `{"type":"speech_to_text_transcription","data":{"request_id":"r1","webhook_metadata":"job-7","transcription":{"text":"hi"}}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text_transcription:r1", event: "speech_to_text_transcription",
				resource: "r1", status: "completed", correlation: "job-7"}},
		{"speech to text, webhook_metadata object kept compact", `{"type":"speech_to_text_transcription","data":{"request_id":"r2","webhook_metadata":{ "job" : 7,  "tags":["a", "b"] }}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text_transcription:r2", event: "speech_to_text_transcription",
				resource: "r2", status: "completed", correlation: `{"job":7,"tags":["a","b"]}`}},
		{"speech to text, empty or null metadata is no correlation", `{"type":"speech_to_text_transcription","data":{"request_id":"r3","webhook_metadata":{}},"webhook_metadata":null}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text_transcription:r3", event: "speech_to_text_transcription",
				resource: "r3", status: "completed"}},
		{"speech to text, transcription_id when no request_id", `{"type":"speech_to_text_transcription","data":{"transcription_id":"t1"}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text_transcription:t1", event: "speech_to_text_transcription",
				resource: "t1", status: "completed"}},
		{"speech to text, request_id wins over conversation_id", `{"type":"speech_to_text_transcription","data":{"request_id":"r4","conversation_id":"conv_x"}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text_transcription:r4", event: "speech_to_text_transcription",
				resource: "r4", status: "completed"}},
		{"speech to text, the cookbook's name", `{"type":"speech_to_text.completed","data":{"request_id":"r5"}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: "elevenlabs:speech_to_text.completed:r5", event: "speech_to_text.completed",
				resource: "r5", status: "completed"}},
		{"speech to text without a request id", `{"type":"speech_to_text_transcription","data":{"transcription":{"text":"hi"}}}`,
			expect{typ: envelope.TypeVoiceTranscriptionCompleted, id: envelope.BodyID("elevenlabs", []byte(`{"type":"speech_to_text_transcription","data":{"transcription":{"text":"hi"}}}`)),
				event: "speech_to_text_transcription", status: "completed"}},
		{"webhook_metadata object on another event", `{"type":"post_call_transcription","data":{"conversation_id":"conv_3","webhook_metadata":{"job":7}}}`,
			expect{typ: envelope.TypeConversationTranscriptReady, id: "elevenlabs:post_call_transcription:conv_3", event: "post_call_transcription", resource: "conv_3", status: "ready",
				correlation: `{"job":7}`}},
		{"top-level webhook_metadata array", `{"type":"agent_qa.completed","webhook_metadata":[1, 2],"data":{"conversation_id":"conv_11"}}`,
			expect{typ: envelope.TypeUnrecognized, id: "elevenlabs:agent_qa.completed:conv_11", event: "agent_qa.completed", resource: "conv_11", correlation: "[1,2]"}},
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
	// A source can opt out of the new type and keep speech to text unrecognized, as before.
	ev = normalize(t, "elevenlabs", `{"type":"speech_to_text_transcription","data":{"request_id":"r1"}}`, func(in *platform.Input) {
		in.Events = map[string]string{"speech_to_text_transcription": envelope.TypeUnrecognized}
	})
	if ev.Type != envelope.TypeUnrecognized || ev.Data.Status != "" || ev.Subject != "r1" {
		t.Fatalf("%+v", ev)
	}
}
