package platform

import "strings"

// LargeFielder is implemented by presets whose payloads can be too large for an event: a field that
// carries a file (ElevenLabs post_call_audio: the whole call as base64 MP3). The ingest tier stores
// such fields apart, in the object store, and the event refers to them (see package offload).
type LargeFielder interface {
	LargeFields() LargeFields
}

// LargeFields is what a preset knows about its large payloads, and the defaults of its sources.
type LargeFields struct {
	// Fields are the values to store apart when a payload is offloaded, in order.
	Fields []LargeField
	// OffloadAbove is a source's default offload_above: bodies larger than this are offloaded
	// even when they would fit in a message. 0 offloads only what would not fit.
	OffloadAbove int64
	// MaxBody is a source's default max_body; 0 = the general default.
	MaxBody int64
}

// LargeField is one value of a payload worth storing apart.
type LargeField struct {
	// Path is the dotted path of the value from the payload's root, e.g. "data.full_audio".
	Path string
	// Encoding is how the value encodes its bytes: "base64" (stored decoded) or "" (the string's
	// text is stored as it is).
	Encoding string
	// ContentType is the stored object's content type, e.g. "audio/mpeg".
	ContentType string
	// Media makes the stored object the event's data.media_url.
	Media bool
}

// Pointer is the field's JSON pointer (RFC 6901): "data.full_audio" → "/data/full_audio".
func (f LargeField) Pointer() string {
	var b strings.Builder
	for seg := range strings.SplitSeq(f.Path, ".") {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(seg))
	}
	return b.String()
}

// LargeFieldsOf returns what p knows about its large payloads; the zero LargeFields when it knows
// nothing (every generic preset).
func LargeFieldsOf(p Preset) LargeFields {
	if l, ok := p.(LargeFielder); ok {
		return l.LargeFields()
	}
	return LargeFields{}
}

var _ LargeFielder = elevenlabs{}
