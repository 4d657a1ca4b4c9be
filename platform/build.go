package platform

import (
	"strings"

	"github.com/avatarbus/avatarbus/envelope"
)

// newEvent starts the envelope of a request from platform: the attributes every event has, the
// raw payload, and the receive time as the event time until the normalizer finds a better one.
func newEvent(platform string, in Input) envelope.Event {
	return envelope.Event{
		SpecVersion:     envelope.SpecVersion,
		Source:          envelope.SourceFor(platform),
		Type:            envelope.TypeUnrecognized,
		Time:            in.ReceivedAt.UTC(),
		DataContentType: envelope.DataContentType,
		Platform:        platform,
		ReceivedAt:      in.ReceivedAt.UTC(),
		Data:            envelope.PayloadData(in.Body),
	}
}

// finish completes ev: the subject mirrors the resource id, and an event without an id of its own
// gets the digest of its body, so even an unrecognized payload is deduplicated.
//
// A resource id holding a control character is dropped, not escaped: no platform issues one, so it
// names nothing a consumer could look up, and an escaped form could equal another, genuine id. The
// raw payload keeps it as sent (and the event id, a digest when an id is not plain, still tells
// such events apart).
func finish(ev envelope.Event, in Input) envelope.Event {
	if envelope.HasControl(ev.Data.ResourceID) {
		ev.Data.ResourceID = ""
	}
	ev.Subject = ev.Data.ResourceID
	if ev.ID == "" {
		ev.ID = envelope.BodyID(ev.Platform, in.Body)
	}
	return ev
}

// canonicalType resolves a platform event name: first the source's own mapping, then the preset's
// table. ok is false when neither knows the name or the mapping names no canonical type.
func canonicalType(name string, in Input, table map[string]string) (string, bool) {
	if name == "" {
		return "", false
	}
	t, ok := in.Events[name]
	if !ok {
		t, ok = table[name]
	}
	if !ok || !envelope.Known(t) || t == envelope.TypeUnrecognized {
		return "", false
	}
	return t, true
}

// statusFor derives the canonical status from a canonical type's last word, for platforms whose
// event name is the only statement of the outcome.
func statusFor(typ string) string {
	switch {
	case strings.HasSuffix(typ, ".completed"), strings.HasSuffix(typ, "_completed"):
		return "completed"
	case strings.HasSuffix(typ, ".failed"):
		return "failed"
	case strings.HasSuffix(typ, ".ready"), strings.HasSuffix(typ, "_ready"):
		return "ready"
	case strings.HasSuffix(typ, ".started"):
		return "started"
	case strings.HasSuffix(typ, ".ended"):
		return "ended"
	}
	return ""
}

// eventName returns name when it can be an envelope's platformevent, and "" when it holds a control
// character (envelope.Validate refuses those): such a name is no known event, and it stays in raw.
// Every normalizer reads its event name through it.
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
