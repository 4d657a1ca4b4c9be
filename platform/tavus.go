package platform

import (
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(tavus{}) }

// tavus normalizes Tavus callbacks, sent to the `callback_url` given when a conversation, video or
// replica is created. Three payload kinds arrive at the same URL, told apart in this order:
//
//   - conversation callbacks carry `event_type` (system.replica_joined, system.shutdown,
//     application.transcription_ready, …), `conversation_id`, an ISO `timestamp`, and
//     event-specific `properties` (which also hold a replica_id);
//   - video callbacks carry `video_id` and `status` (ready, error) but no event field: the event
//     name is "video." + status;
//   - replica callbacks carry `replica_id` and `status` and neither a video nor a conversation id:
//     the event name is "replica." + status.
//
// Sources and labels (docs/platforms/tavus.md has the full table): the conversation envelope, the
// event names and the properties keys shutdown_reason, transcript [{role, content}], recording
// {bucket_name, s3_key, duration} and analysis are CONFIRMED by
// https://docs.tavus.io/sections/webhooks-and-callbacks; recording_ready's storage_provider and
// storage_uri by https://docs.tavus.io/sections/conversational-video-interface/quickstart/conversation-recordings;
// the video and replica payloads by https://docs.tavus.io/sections/troubleshooting/api-callbacks.
// Guardrails (a guardrail's own callback_url, https://docs.tavus.io/api-reference/guardrails/create-guardrails)
// and objectives also call back, but their event names and payloads are not documented
// (UNCONFIRMED): they arrive as avatar.unrecognized, never dropped, with their conversation_id.
//
// Tavus does not sign its callbacks (no scheme is documented: UNCONFIRMED absence), so the default
// verification is a secret token in the callback URL.
type tavus struct{}

var tavusEvents = map[string]string{
	"system.replica_joined":           envelope.TypeConversationStarted,
	"system.shutdown":                 envelope.TypeConversationEnded,
	"application.transcription_ready": envelope.TypeConversationTranscriptReady,
	"application.recording_ready":     envelope.TypeConversationRecordingReady,
	"application.perception_analysis": envelope.TypeConversationAnalysisReady,
	"video.ready":                     envelope.TypeVideoCompleted,
	"video.error":                     envelope.TypeVideoFailed,
	"replica.ready":                   envelope.TypePersonaReady,
	"replica.error":                   envelope.TypePersonaFailed,
}

func (tavus) Name() string { return "tavus" }

func (tavus) DefaultVerify() verify.Config { return verify.Config{Scheme: "token"} }

func (tavus) Events() map[string]string { return tavusEvents }

// Samples returns the Tavus fixtures for `avatarbus trigger`.
func (tavus) Samples() []Sample { return samplesOf("tavus") }

func (t tavus) Normalize(in Input) envelope.Event {
	ev := newEvent(t.Name(), in)
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	switch {
	case body.str("event_type") != "":
		return t.conversation(ev, body, in)
	case body.str("video_id") != "":
		return t.video(ev, body, in)
	case body.str("replica_id") != "" && body.str("conversation_id") == "":
		return t.replica(ev, body, in)
	}
	// No kind known (a guardrail or objective callback without event_type, say): keep what names
	// the resource.
	ev.Data.ResourceID = body.str("conversation_id")
	return finish(ev, in)
}

// conversation reads {conversation_id, event_type, message_type, timestamp, properties}. Of what
// properties hold, a recording's storage_uri (media_url) and duration (seconds assumed) are
// normalized; shutdown_reason, transcript, bucket_name, s3_key and analysis stay in raw.
func (tavus) conversation(ev envelope.Event, body fields, in Input) envelope.Event {
	name := eventName(body.str("event_type"))
	ev.PlatformEvent = name
	ev.Data.ResourceID = body.str("conversation_id")
	ev.ID = envelope.ID("tavus", ev.Data.ResourceID, name)
	if ts := body.isoTime("timestamp"); !ts.IsZero() {
		ev.Time = ts
	}
	typ, known := canonicalType(name, in, tavusEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	if typ == envelope.TypeConversationRecordingReady {
		props := body.object("properties")
		ev.Data.MediaURL = props.str("storage_uri")
		ev.Data.DurationSeconds = props.duration("duration")
	}
	return finish(ev, in)
}

// video reads the video object: status, download_url, hosted_url, status_details, updated_at
// ("2024-08-28 15:29:19.802670", no zone: UTC).
func (tavus) video(ev envelope.Event, body fields, in Input) envelope.Event {
	status := body.str("status")
	name := statusEvent("video.", status)
	ev.PlatformEvent = name
	ev.Data.ResourceID = body.str("video_id")
	ev.ID = envelope.ID("tavus", ev.Data.ResourceID, status)
	if ts := body.isoTime("updated_at"); !ts.IsZero() {
		ev.Time = ts
	}
	typ, known := canonicalType(name, in, tavusEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = body.str("download_url")
	ev.Data.PageURL = body.str("hosted_url")
	if ev.Data.Status == "failed" {
		// status_details is the error message on error; error_details is null in Tavus's example
		// and read when it says more.
		ev.Data.Error = failure(body, "status_details", "error_details")
	}
	return finish(ev, in)
}

// replica reads {replica_id, status} and, on error, error_message.
func (tavus) replica(ev envelope.Event, body fields, in Input) envelope.Event {
	status := body.str("status")
	name := statusEvent("replica.", status)
	ev.PlatformEvent = name
	ev.Data.ResourceID = body.str("replica_id")
	ev.ID = envelope.ID("tavus", ev.Data.ResourceID, status)
	typ, known := canonicalType(name, in, tavusEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	if ev.Data.Status == "failed" {
		ev.Data.Error = failure(body, "error_message", "error_details")
	}
	return finish(ev, in)
}

// RetryHorizon: Tavus documents no retry policy for its callbacks.
func (tavus) RetryHorizon() Horizon {
	return Horizon{Source: "UNCONFIRMED: no retry policy found in docs.tavus.io"}
}

var (
	_ Preset  = tavus{}
	_ Sampler = tavus{}
)
