package platform

import (
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(did{}) }

// did normalizes D-ID webhooks. D-ID calls the `webhook` URL given when a talk is created
// (POST /talks) and, as far as known, posts the talk object itself: there is no event field, so the
// event name is "talk." + the talk's status (talk.done, talk.error, talk.rejected). The body shape,
// which statuses trigger a call, and the error fields are unconfirmed; the reader is lenient.
//
// D-ID does not sign its webhooks (no scheme is documented), so the default verification is a secret
// token in the webhook URL: https://hooks.example.com/webhooks/did?token=….
type did struct{}

var didEvents = map[string]string{
	"talk.done":     envelope.TypeVideoCompleted,
	"talk.error":    envelope.TypeVideoFailed,
	"talk.rejected": envelope.TypeVideoFailed,
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
	status := body.str("status")
	name := statusEvent("talk.", status)
	ev.PlatformEvent = name
	// A community handler reads talk_id rather than id: accept both.
	ev.Data.ResourceID = body.str("id", "talk_id")
	ev.ID = envelope.ID("did", ev.Data.ResourceID, status)
	ev.CorrelationID = body.str("user_data")
	if t := body.isoTime("modified_at"); !t.IsZero() {
		ev.Time = t
	}

	typ, known := canonicalType(name, in, didEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = body.str("result_url")
	if ev.Data.Status == "failed" {
		// D-ID's error fields are unconfirmed: an `error` object ({kind, description} or
		// {code, message}) or string, else a top-level description or message.
		ev.Data.Error = failure(body, "error", "description", "message")
	}
	return finish(ev, in)
}

var (
	_ Preset  = did{}
	_ Sampler = did{}
)
