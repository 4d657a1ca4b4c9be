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
		Data:            envelope.Data{Raw: envelope.RawPayload(in.Body)},
	}
}

// finish completes ev: the subject mirrors the resource id, and an event without an id of its own
// gets the digest of its body, so even an unrecognized payload is deduplicated.
func finish(ev envelope.Event, in Input) envelope.Event {
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
	case strings.HasSuffix(typ, ".completed"):
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
