package platform

import (
	"net/textproto"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

// Input is one verified request as a normalizer sees it.
type Input struct {
	// Source is the name of the configured source. Generic presets use it as the platform token.
	Source string
	// Header holds the request headers.
	Header textproto.MIMEHeader
	// Body is the raw body, exactly as received and verified.
	Body []byte
	// ReceivedAt is when avatarbus received the request; it is the event time when the platform
	// sends none.
	ReceivedAt time.Time
	// MessageID is the sender's message id established by verification (Standard Webhooks
	// webhook-id), or "".
	MessageID string
	// Events maps platform event names to canonical types, on top of (and before) the preset's own
	// table: the source's `events:` config.
	Events map[string]string
}

// Preset is what avatarbus knows about one platform.
type Preset interface {
	// Name is the preset's name in config (`platform: heygen`) and, for presets that are not
	// generic, the platform token of subjects and envelopes.
	Name() string
	// DefaultVerify is the verification a source of this platform uses unless its config says
	// otherwise. Secrets and tolerance come from the source.
	DefaultVerify() verify.Config
	// Events is the preset's table of platform event names to canonical types.
	Events() map[string]string
	// Normalize turns a verified request into an envelope. It never fails: a payload it cannot read
	// or an event it does not know becomes an avatar.unrecognized event carrying the raw body.
	Normalize(in Input) envelope.Event
}

// EventPlatform is the platform token p stamps on the events of the source named source (the
// envelope's platform and the last token of the event's subject): the preset's name for a named
// platform, the source's name for a generic preset. It asks the preset itself, so the two can
// never disagree.
func EventPlatform(p Preset, source string) string {
	return p.Normalize(Input{Source: source, Body: []byte("{}")}).Platform
}
