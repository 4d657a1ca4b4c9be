package platform

import (
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() {
	Register(generic{name: "standardwebhooks", verify: verify.Config{Scheme: "standardwebhooks"}, horizon: svixHorizon})
	Register(generic{name: "hmac", verify: verify.Config{Scheme: "hmac"}})
}

// generic normalizes senders avatarbus has no preset for: Standard Webhooks senders and anything
// signing with a plain HMAC. Their event names are their own, so a source maps them to canonical types
// with `events:`; a name that already is a canonical type (avatar.video.completed) is taken as is.
//
// The platform token of a generic source is the source's name: a source `acme` publishes
// avatar.video.completed.acme.
//
// The payload is read the Standard Webhooks way: {"type", "timestamp" (RFC 3339), "data": {"id"}}.
// For hmac senders the event name may also be in `event_type` or `event`.
type generic struct {
	name    string
	verify  verify.Config
	horizon Horizon
}

// svixHorizon is the retry schedule of Svix, the most common Standard Webhooks sender: immediately,
// then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, 27 h 35 min in all. The spec's own example
// schedule runs to 24 h after that, about 3 days: a sender following it needs a longer
// stream.duplicate_window (docs/platforms/standardwebhooks.md).
var svixHorizon = Horizon{Duration: 27*time.Hour + 35*time.Minute + 5*time.Second,
	Source: "CONFIRMED for Svix: docs.svix.com/retries (5s, 5m, 30m, 2h, 5h, 10h, 10h); other senders UNCONFIRMED"}

func (g generic) Name() string                 { return g.name }
func (g generic) DefaultVerify() verify.Config { return g.verify }
func (g generic) Events() map[string]string    { return nil }

// RetryHorizon is the sender's documented retry horizon: Svix's for Standard Webhooks, none for hmac.
func (g generic) RetryHorizon() Horizon { return g.horizon }

// Samples returns the fixtures of the generic preset (Standard Webhooks has the spec's example).
func (g generic) Samples() []Sample { return samplesOf(g.name) }

func (g generic) Normalize(in Input) envelope.Event {
	platform := in.Source
	if platform == "" {
		platform = g.name
	}
	ev := newEvent(platform, in)
	if in.MessageID != "" {
		ev.ID = envelope.ID(platform, in.MessageID)
	}
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	name := eventName(body.str("type", "event_type", "event"))
	ev.PlatformEvent = name
	if t := body.isoTime("timestamp"); !t.IsZero() {
		ev.Time = t
	}
	data := body.object("data")
	ev.Data.ResourceID = data.str("id")

	typ, known := canonicalType(name, in, nil)
	if !known && envelope.Known(name) && name != envelope.TypeUnrecognized {
		typ, known = name, true
	}
	if known {
		ev.Type = typ
		ev.Data.Status = statusFor(typ)
	}
	return finish(ev, in)
}

var (
	_ Preset  = generic{}
	_ Sampler = generic{}
)
