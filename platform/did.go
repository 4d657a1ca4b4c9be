package platform

import (
	"strings"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(did{}) }

// did normalizes D-ID webhooks. D-ID calls the `webhook` URL given when a talk (POST /talks) or a
// clip (POST /clips) is created, and posts the resource object itself: there is no event field, so
// the event name is the kind + "." + the status: talk.done, talk.error, clip.done, clip.rejected …
// Sources and labels (docs/platforms/did.md has the full table):
//
//   - talks are `tlk_…` with `object: "talk"` (CONFIRMED, https://docs.d-id.com/reference/talks-overview),
//     clips `clp_…` with `object: "clip"` (CONFIRMED, https://docs.d-id.com/reference/clips-overview,
//     create and get examples), each fetched back from its own collection (GET /talks/{id},
//     GET /clips/{id});
//   - `user_data` "will be added to the clip response and webhook": CONFIRMED, de-id/agents-sdk
//     src/types/stream/api/clip.ts (a string there; an object, Record<string, any>, in
//     src/types/stream/api/talk.ts), so both spellings are read;
//   - that the webhook body equals the GET object, which statuses trigger a call, and the error
//     fields: UNCONFIRMED, read leniently.
//
// D-ID does not sign its webhooks (no scheme is documented: UNCONFIRMED absence), so the default
// verification is a secret token in the webhook URL: https://hooks.example.com/webhooks/did?token=….
type did struct{}

var didEvents = map[string]string{
	"talk.done":     envelope.TypeVideoCompleted,
	"talk.error":    envelope.TypeVideoFailed,
	"talk.rejected": envelope.TypeVideoFailed,
	"clip.done":     envelope.TypeVideoCompleted,
	"clip.error":    envelope.TypeVideoFailed,
	"clip.rejected": envelope.TypeVideoFailed,
}

func (did) Name() string { return "did" }

func (did) DefaultVerify() verify.Config { return verify.Config{Scheme: "token"} }

func (did) Events() map[string]string { return didEvents }

// Samples returns the D-ID fixtures for `avatarbus trigger`.
func (did) Samples() []Sample { return samplesOf("did") }

func (d did) Normalize(in Input) envelope.Event {
	ev := newEvent(d.Name(), in)
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	// A community handler reads talk_id rather than id: accept both (THIRD-PARTY).
	ev.Data.ResourceID = body.str("id", "talk_id")
	status := body.str("status")
	ev.PlatformEvent = statusEvent(didKind(body, ev.Data.ResourceID)+".", status)
	// Clip and talk ids differ by prefix, so one id rule serves both without collisions.
	ev.ID = envelope.ID("did", ev.Data.ResourceID, status)
	ev.CorrelationID = correlation(body, "user_data")
	if t := body.isoTime("modified_at"); !t.IsZero() {
		ev.Time = t
	}

	typ, known := canonicalType(ev.PlatformEvent, in, didEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = body.str("result_url")
	// duration is in D-ID's GET /clips/{id} example ("duration": 2); seconds is assumed.
	ev.Data.DurationSeconds = body.duration("duration")
	if ev.Data.Status == "failed" {
		// D-ID's error fields are unconfirmed: an `error` object ({kind, description} or
		// {code, message}) or string, else a top-level description or message.
		ev.Data.Error = failure(body, "error", "description", "message")
	}
	return finish(ev, in)
}

// didKind tells a clip from a talk: the `object` field when it names one, else the id prefix
// (clp_), else a talk, which is what D-ID posted before clips existed.
func didKind(body fields, id string) string {
	switch body.str("object") {
	case "clip":
		return "clip"
	case "talk":
		return "talk"
	}
	if strings.HasPrefix(id, "clp_") {
		return "clip"
	}
	return "talk"
}

// RetryHorizon: D-ID documents no retry policy for its webhooks.
func (did) RetryHorizon() Horizon {
	return Horizon{Source: "UNCONFIRMED: no retry policy found in docs.d-id.com"}
}

var (
	_ Preset  = did{}
	_ Sampler = did{}
)
