package platform

import (
	"strings"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(elevenlabs{}) }

// elevenlabs normalizes ElevenLabs webhooks: {"type": "...", "event_timestamp": <unix s>,
// "data": {...}}. Post-call events name the conversation in data.conversation_id; the data of
// post_call_transcription is the GET Conversation object (with metadata.call_duration_secs),
// post_call_audio carries the call's audio as base64 (bodies of several MiB). The fields of
// call_initiation_failure and of the voice_* events are unconfirmed.
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
	if strings.HasPrefix(name, "voice_") {
		ev.Data.ResourceID = data.str("voice_id", "conversation_id")
	} else {
		ev.Data.ResourceID = data.str("conversation_id", "voice_id")
	}
	ev.ID = envelope.ID("elevenlabs", name, ev.Data.ResourceID)
	if t := body.unixTime("event_timestamp"); !t.IsZero() {
		ev.Time = t
	}
	// webhook_metadata is the caller's own value, echoed (speech to text); only a string is an id.
	ev.CorrelationID = data.str("webhook_metadata")
	if ev.CorrelationID == "" {
		ev.CorrelationID = body.str("webhook_metadata")
	}

	typ, known := canonicalType(name, in, elevenlabsEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.DurationSeconds = data.object("metadata").duration("call_duration_secs")
	if ev.Data.Status == "failed" {
		// "failure reasons and metadata" (ElevenLabs docs); the field names are unconfirmed.
		ev.Data.Error = failure(data, "failure_reason", "error", "message")
	}
	return finish(ev, in)
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
