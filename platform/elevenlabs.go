package platform

import (
	"cmp"
	"strings"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(elevenlabs{}) }

// elevenlabs normalizes ElevenLabs webhooks: {"type": "...", "event_timestamp": <unix s>,
// "data": {...}}. Sources and labels (docs/platforms/elevenlabs.md has the full table):
//
//   - post-call events name the conversation in data.conversation_id; post_call_transcription's data
//     is the GET Conversation object (metadata.call_duration_secs); post_call_audio's data is
//     {agent_id, conversation_id, full_audio}, the whole call as base64 MP3 (CONFIRMED,
//     elevenlabs/elevenlabs-docs fern/conversational-ai/pages/workflows/post-call-webhook.mdx);
//   - call_initiation_failure's data is {agent_id, conversation_id, failure_reason:
//     busy|no-answer|unknown, metadata: {type: twilio|sip, body}} (CONFIRMED, ElevenLabs post-call
//     webhooks page, https://elevenlabs.io/docs/agents-platform/workflows/post-call-webhooks,
//     "Call initiation failure webhook examples");
//   - speech-to-text results are type speech_to_text_transcription with data {request_id,
//     transcription, webhook_metadata} (THIRD-PARTY: community receivers agree; the vendor's
//     cookbook, elevenlabs/elevenlabs-docs fern/docs/pages/developer-guides/cookbooks/speech-to-text/
//     webhooks.mdx, shows the bare transcription as the body and checks for
//     "speech_to_text.completed" in its own sample code, so that name is read too);
//   - the voice_* payloads (voice_id): UNCONFIRMED.
//
// ElevenLabs signs with `ElevenLabs-Signature: t=<unix>,v0=<hex>` over "<t>.<body>", which is the
// elevenlabs scheme.
type elevenlabs struct{}

var elevenlabsEvents = map[string]string{
	"post_call_transcription":        envelope.TypeConversationTranscriptReady,
	"post_call_audio":                envelope.TypeConversationRecordingReady,
	"call_initiation_failure":        envelope.TypeConversationFailed,
	"voice_removal_notice":           envelope.TypeVoiceRemovalNotice,
	"voice_removal_notice_withdrawn": envelope.TypeVoiceRemovalWithdrawn,
	"voice_removed":                  envelope.TypeVoiceRemoved,
	"speech_to_text_transcription":   envelope.TypeVoiceTranscriptionCompleted,
	"speech_to_text.completed":       envelope.TypeVoiceTranscriptionCompleted,
}

func (elevenlabs) Name() string { return "elevenlabs" }

func (elevenlabs) DefaultVerify() verify.Config { return verify.Config{Scheme: "elevenlabs"} }

func (elevenlabs) Events() map[string]string { return elevenlabsEvents }

// Samples returns the ElevenLabs fixtures for `avatarbus trigger`.
func (elevenlabs) Samples() []Sample { return samplesOf("elevenlabs") }

func (e elevenlabs) Normalize(in Input) envelope.Event {
	ev := newEvent(e.Name(), in)
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	name := eventName(body.str("type"))
	ev.PlatformEvent = name
	data := body.object("data")
	switch {
	case strings.HasPrefix(name, "voice_"):
		ev.Data.ResourceID = data.str("voice_id", "conversation_id")
	case strings.HasPrefix(name, "speech_to_text"):
		// request_id is what the convert call answers with webhook=true; transcription_id is
		// what some receivers read instead (THIRD-PARTY).
		ev.Data.ResourceID = data.str("request_id", "transcription_id")
	default:
		ev.Data.ResourceID = data.str("conversation_id", "voice_id")
	}
	ev.ID = envelope.ID("elevenlabs", name, ev.Data.ResourceID)
	if t := body.unixTime("event_timestamp"); !t.IsZero() {
		ev.Time = t
	}
	// webhook_metadata is the caller's own value, echoed (speech to text); an object is kept as
	// compact JSON.
	ev.CorrelationID = correlation(data, "webhook_metadata")
	if ev.CorrelationID == "" {
		ev.CorrelationID = correlation(body, "webhook_metadata")
	}

	typ, known := canonicalType(name, in, elevenlabsEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.DurationSeconds = data.object("metadata").duration("call_duration_secs")
	if ev.Data.Status == "failed" {
		// call_initiation_failure: failure_reason (busy, no-answer, unknown) is the code; the SIP
		// provider's metadata.body.error_reason, else an error or message field, the message.
		code, msg := data.str("failure_reason"), data.object("metadata").object("body").str("error_reason")
		if f := failure(data, "error", "message"); f != nil && msg == "" {
			code, msg = cmp.Or(code, f.Code), f.Message
		}
		if code != "" || msg != "" {
			ev.Data.Error = &envelope.Error{Code: code, Message: msg}
		}
	}
	return finish(ev, in)
}

// RetryHorizon: ElevenLabs retries (opt-in, post_call_transcription only) immediately, then after
// 30 s, 2 min, 8 min and 30 min, each with up to 10% jitter: 40.5 min, ~45 min with jitter.
func (elevenlabs) RetryHorizon() Horizon {
	return Horizon{Duration: 45 * time.Minute,
		Source: "CONFIRMED: elevenlabs.io/docs/eleven-api/resources/webhooks (retries: immediately, 30s, 2m, 8m, 30m, <=10% jitter)"}
}

var (
	_ Preset  = elevenlabs{}
	_ Sampler = elevenlabs{}
)

// LargeFields: post_call_audio carries the whole call as base64 MP3 in data.full_audio, sent
// chunked in one request that is never retried (CONFIRMED: elevenlabs/elevenlabs-docs
// post-call-webhook.mdx; elevenlabs.io/docs/eleven-api/resources/webhooks; shared/platforms.md E1).
// An hour of call audio is ~60-80 MiB of base64, hence the body limit; above 512 KiB the audio is
// stored apart (package offload), since NATS refuses messages over 1 MiB by default.
func (elevenlabs) LargeFields() LargeFields {
	return LargeFields{
		Fields:       []LargeField{{Path: "data.full_audio", Encoding: "base64", ContentType: "audio/mpeg", Media: true}},
		OffloadAbove: 512 << 10,
		MaxBody:      128 << 20,
	}
}
