package platform

import (
	"bytes"
	"math"
	"strings"
	"time"

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
	body, ok := parseObject(in.Body)
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
	if t := eventTime(body.isoTime("modified_at")); !t.IsZero() {
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

// The helpers below are shared by the did, tavus, elevenlabs and synthesia presets. They guard
// what the lenient reader (fields.go) can return but an envelope cannot carry, and read failure
// reasons the same way everywhere. They belong in fields.go and build.go.

// eventName returns name when it can be an envelope's platformevent, and "" when it holds a control
// character (envelope.Validate refuses those): such a name is no known event, and it stays in raw.
func eventName(name string) string {
	if strings.ContainsAny(name, "\x00\r\n") {
		return ""
	}
	return name
}

// statusEvent is the event name of a payload that only states its status: prefix + status, or ""
// without a status.
func statusEvent(prefix, status string) string {
	if status == "" {
		return ""
	}
	return eventName(prefix + status)
}

// eventTime returns t when an envelope can carry it, and the zero time otherwise: a time outside the
// years 0–9999 (a far offset, or Unix seconds spelled "NaN") cannot be written as RFC 3339.
func eventTime(t time.Time) time.Time {
	if t.IsZero() || t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}

// durationField reads key of f as a number of seconds: finite and not negative. JSON null is no
// duration (fields.number reads null as 0).
func durationField(f fields, key string) *float64 {
	raw, ok := f[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	n, ok := f.number(key)
	if !ok || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return nil
	}
	return &n
}

// failure reads why a job failed from the first of keys that says so: a string is the message; an
// object is read as {code|kind, message|description}. It returns nil when none of keys holds either,
// so an error is never invented.
func failure(f fields, keys ...string) *envelope.Error {
	var code, msg string
	for _, k := range keys {
		if msg == "" {
			msg = f.str(k)
		}
		if o := f.object(k); o != nil {
			if code == "" {
				code = o.str("code", "kind")
			}
			if msg == "" {
				msg = o.str("message", "description")
			}
		}
	}
	if code == "" && msg == "" {
		return nil
	}
	return &envelope.Error{Code: code, Message: msg}
}
