// Package offload stores the parts of a payload that are too large for an event in the object
// store, and leaves references in their place, so that a webhook larger than a NATS message (an
// ElevenLabs call recording: tens of MiB of base64) is stored instead of refused.
//
// It runs after normalization (the event id names the objects) and before the publish. The event
// keeps its normalized fields; data.objects lists what was stored, and data.raw holds each stored
// value's reference, nats://<bucket>/<event id><JSON pointer>, where the value was. Names are
// deterministic, so a redelivery overwrites its own objects instead of adding new ones.
package offload

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/record"
	"github.com/avatarbus/avatarbus/platform"
)

// Store keeps objects; *broker.Objects is the one avatarbus uses.
type Store interface {
	Put(ctx context.Context, name, contentType string, data []byte) (record.ObjectRef, error)
}

// Headroom is what a message needs beside the envelope: the NATS/1.0 header block with
// Content-Type, Nats-Msg-Id (at most 128 bytes) and Nats-Expected-Stream, with room to spare.
const Headroom = 4 << 10

// MinMoved is the shortest string value moved out to make a payload fit: below it a reference
// saves next to nothing, and the whole payload is stored instead.
const MinMoved = 1 << 10

// maxName bounds an object name: the name travels base64-encoded in a subject, and a subject must
// fit in NATS's control line (4 KiB by default).
const maxName = 1024

// Content types of what the step stores when the preset declared nothing.
const (
	textType = "text/plain; charset=utf-8"
	jsonType = "application/json"
	anyType  = "application/octet-stream"
)

// Policy is a source's offload setting.
type Policy struct {
	// Above offloads bodies larger than this many bytes even when they would fit; 0 offloads only
	// what would not fit in a message.
	Above int64
	// Fields are the preset's large fields, stored first (see platform.LargeFielder).
	Fields []platform.LargeField
}

// Offloader stores the large parts of events in a Store.
type Offloader struct {
	store      Store
	maxPayload func() int64
}

// New returns an Offloader into store. maxPayload is the server's largest message (headers
// included), asked at each request since a reconnect may reach another server.
func New(store Store, maxPayload func() int64) *Offloader {
	return &Offloader{store: store, maxPayload: maxPayload}
}

// Apply offloads ev when its body is over p.Above, or when ev would not fit in a message:
//
//  1. the preset's fields are stored (base64 decoded), each replaced in data.raw by its
//     reference; a Media field's reference becomes data.media_url;
//  2. while data.raw is still over p.Above or ev still does not fit, the largest remaining string
//     values are stored as they are, biggest first;
//  3. if it still does not fit (many small values, or a body that is not JSON), the whole of
//     data.raw (the body itself when it is not JSON, with contentType) is stored, and data.raw
//     becomes the reference string.
//
// Every stored object is listed in data.objects. An error means an object could not be stored: ev
// may have been changed and must not be published (the caller answers 503).
func (o *Offloader) Apply(ctx context.Context, ev *envelope.Event, body []byte, contentType string, p Policy) error {
	limit := o.maxPayload() - Headroom
	over := func(rawLen, envLen int) bool {
		return p.Above > 0 && int64(rawLen) > p.Above || int64(envLen) > limit
	}
	envLen := envelopeLen(ev, limit)
	if !(p.Above > 0 && int64(len(body)) > p.Above) && int64(envLen) <= limit {
		return nil
	}
	raw := ev.Data.Raw
	if isContainer(raw) {
		values := stringValues(raw)
		var edits []edit
		moved := make(map[int]bool)
		for _, f := range p.Fields {
			ptr := f.Pointer()
			i := slices.IndexFunc(values, func(s str) bool { return s.ptr == ptr })
			if i < 0 || moved[i] {
				continue
			}
			data, ct := unquoteBytes(raw[values[i].start:values[i].end]), f.ContentType
			if f.Encoding == "base64" {
				if d, ok := decodeBase64(data); ok {
					data = d
				} else {
					ct = textType // not base64 after all: keep the text
				}
			}
			obj, err := o.put(ctx, ev, ptr, ct, data)
			if err != nil {
				return err
			}
			if f.Media {
				ev.Data.MediaURL = obj.URL
			}
			edits = append(edits, edit{values[i], quoted(obj.URL)})
			moved[i] = true
		}
		if len(edits) > 0 {
			ev.Data.Raw = splice(raw, edits)
			envLen = envelopeLen(ev, limit)
		}

		// Largest first, predicting the sizes so that the raw is rebuilt once.
		rawLen := len(ev.Data.Raw)
		if over(rawLen, envLen) {
			order := make([]int, 0, len(values))
			for i, s := range values {
				if !moved[i] && s.len() >= MinMoved && len(ev.ID)+len(s.ptr) <= maxName {
					order = append(order, i)
				}
			}
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(values[b].len(), values[a].len()) })
			for _, i := range order {
				if !over(rawLen, envLen) {
					break
				}
				s := values[i]
				obj, err := o.put(ctx, ev, s.ptr, textType, unquoteBytes(raw[s.start:s.end]))
				if err != nil {
					return err
				}
				ref := quoted(obj.URL)
				edits = append(edits, edit{s, ref})
				saved := s.len() - len(ref)
				rawLen -= saved
				envLen += objectLen(obj) - saved
			}
			ev.Data.Raw = splice(raw, edits)
			envLen = envelopeLen(ev, limit)
		}
	}
	if over(len(ev.Data.Raw), envLen) {
		data, ct := []byte(ev.Data.Raw), jsonType
		if !isContainer(raw) { // a JSON scalar, or a body that is not JSON: the body itself
			data, ct = body, cmp.Or(contentType, anyType)
		}
		obj, err := o.put(ctx, ev, "", ct, data)
		if err != nil {
			return err
		}
		ev.Data.Raw = quoted(obj.URL)
	}
	return nil
}

// put stores data as the object of ev at JSON pointer ptr ("" for the whole payload) and lists it
// in data.objects.
func (o *Offloader) put(ctx context.Context, ev *envelope.Event, ptr, contentType string, data []byte) (envelope.Object, error) {
	ref, err := o.store.Put(ctx, ev.ID+ptr, contentType, data)
	if err != nil {
		return envelope.Object{}, fmt.Errorf("offload %s of %s: %w", cmp.Or(ptr, "payload"), ev.ID, err)
	}
	obj := envelope.Object{Path: ptr, URL: ref.URL, Size: ref.Size, Digest: ref.Digest, ContentType: contentType}
	ev.Data.Objects = append(ev.Data.Objects, obj)
	return obj, nil
}

// envelopeLen is the length of ev's JSON, or a bound of it below limit when that is cheap to
// know: the normalized fields are copied from the raw payload, and their escaped form is at most
// six bytes per byte.
func envelopeLen(ev *envelope.Event, limit int64) int {
	d := &ev.Data
	fields := len(ev.ID) + len(ev.Source) + len(ev.Type) + len(ev.Subject) + len(ev.Platform) + len(ev.PlatformEvent) +
		len(ev.CorrelationID) + len(d.ResourceID) + len(d.Status) + len(d.MediaURL) + len(d.ThumbnailURL) +
		len(d.GifURL) + len(d.CaptionsURL) + len(d.PageURL)
	if d.Error != nil {
		fields += len(d.Error.Code) + len(d.Error.Message)
	}
	for _, o := range d.Objects {
		fields += len(o.Path) + len(o.URL) + len(o.Digest) + len(o.ContentType)
	}
	if bound := len(d.Raw) + 6*fields + 1024 + 128*len(d.Objects); int64(bound) <= limit {
		return bound
	}
	b, err := envelope.Marshal(ev)
	if err != nil {
		return len(d.Raw) // the publish reports the error
	}
	return len(b)
}

// objectLen bounds what obj adds to data.objects.
func objectLen(obj envelope.Object) int {
	return 6*(len(obj.Path)+len(obj.URL)+len(obj.Digest)+len(obj.ContentType)) + 128
}

// isContainer reports whether raw is a JSON object or array (not a string: a body that was not
// JSON is carried as a base64 string).
func isContainer(raw []byte) bool { return len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') }

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s []byte) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(s)))
		if n, err := enc.Decode(out, s); err == nil {
			return out[:n], true
		}
	}
	return nil, false
}

// quoted is s as a JSON string.
func quoted(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// edit replaces the string value at s by repl.
type edit struct {
	s    str
	repl []byte
}

// splice returns raw with the edits made; it never changes raw itself.
func splice(raw []byte, edits []edit) json.RawMessage {
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Compare(a.s.start, b.s.start) })
	n := len(raw)
	for _, e := range edits {
		n += len(e.repl) - e.s.len()
	}
	out := make([]byte, 0, n)
	at := 0
	for _, e := range edits {
		out = append(out, raw[at:e.s.start]...)
		out = append(out, e.repl...)
		at = e.s.end
	}
	return append(out, raw[at:]...)
}
