package envelope

import (
	"bytes"
	"encoding/json"
	"time"
)

// SpecVersion is the CloudEvents version of every Event.
const SpecVersion = "1.0"

// ContentType is the content type of a published envelope (CloudEvents structured JSON mode).
const ContentType = "application/cloudevents+json"

// DataContentType is the content type of an Event's data.
const DataContentType = "application/json"

// Event is one platform event as avatarbus publishes it. Its JSON form is a CloudEvents 1.0 event in
// structured mode; the extension attributes are top-level fields, as the spec requires.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Platform        string    `json:"platform"`
	PlatformEvent   string    `json:"platformevent,omitempty"`
	// PlatformEventID is the platform's own id of the event (HeyGen's event_id), for consumers who
	// look an event up in the platform's history. It is informational: the envelope id, which
	// deduplicates, may be derived otherwise (see each preset).
	PlatformEventID string `json:"platformeventid,omitempty"`
	CorrelationID   string `json:"correlationid,omitempty"`
	// TraceParent and TraceState are the CloudEvents distributed-tracing extension attributes: the
	// W3C trace context of the publish that stored the event, when tracing is on, so that a
	// consumer continues the trace (also in the message's traceparent/tracestate headers).
	TraceParent string `json:"traceparent,omitempty"`
	TraceState  string `json:"tracestate,omitempty"`
	// RecoveredBy says how an event whose webhook never arrived was recovered: "poll" when the
	// reconciler (internal/poll) built it from the platform's API. Empty for webhooks.
	RecoveredBy string    `json:"recoveredby,omitempty"`
	ReceivedAt  time.Time `json:"receivedat"`
	Data        Data      `json:"data"`
}

// Data is the normalized part of an event plus the original payload. Fields a platform does not
// send stay empty and are omitted: a normalizer never invents a value.
type Data struct {
	ResourceID      string   `json:"resource_id,omitempty"`
	Status          string   `json:"status,omitempty"`
	MediaURL        string   `json:"media_url,omitempty"`
	ThumbnailURL    string   `json:"thumbnail_url,omitempty"`
	GifURL          string   `json:"gif_url,omitempty"`
	CaptionsURL     string   `json:"captions_url,omitempty"`
	PageURL         string   `json:"page_url,omitempty"`
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	Error           *Error   `json:"error,omitempty"`
	// Objects lists the parts of the payload stored apart, in the object store, because they were
	// too large for the event; Raw then holds their references where they were.
	Objects []Object        `json:"objects,omitempty"`
	Raw     json.RawMessage `json:"raw"`

	// checked is Raw as PayloadData made it: valid JSON, which Marshal need not scan again while
	// Raw is still that same slice.
	checked json.RawMessage
}

// Error describes why a platform job failed, in the platform's own words.
type Error struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Object is a part of the payload stored in the object store, and where.
type Object struct {
	// Path is the JSON pointer (RFC 6901) of the value in the payload, or "" for the whole payload.
	Path string `json:"path"`
	// URL is the reference, nats://<bucket>/<name>, that replaced the value in Raw.
	URL         string `json:"url"`
	Size        int64  `json:"size"`   // bytes stored (a base64 value is stored decoded)
	Digest      string `json:"digest"` // "SHA-256=<base64url>", as the object store checks it
	ContentType string `json:"content_type,omitempty"`
}

// SourceFor returns the CloudEvents source attribute of events from platform.
func SourceFor(platform string) string { return "/platforms/" + platform }

// RawPayload returns body as the value of Data.Raw: the JSON value unchanged (only whitespace around
// it is dropped, as any JSON reader would) when body is one valid JSON value in UTF-8, else a JSON
// string holding the base64 of the bytes, so a payload that is not JSON is still carried whole.
// json.Valid alone accepts invalid UTF-8 inside strings, which would make the published event
// unreadable for strict consumers (RFC 8259 requires UTF-8); validJSON checks both in one pass.
func RawPayload(body []byte) json.RawMessage {
	if validJSON(body) {
		return json.RawMessage(bytes.Trim(body, " \t\r\n"))
	}
	b, _ := json.Marshal(body) // []byte marshals as a base64 string and cannot fail
	return b
}

// PayloadData returns the Data of a request whose body is body: Raw as RawPayload makes it, and the
// knowledge that it is valid JSON, so that Marshal does not validate the same bytes again.
func PayloadData(body []byte) Data {
	raw := RawPayload(body)
	return Data{Raw: raw, checked: raw}
}

// rawChecked reports whether Raw is the slice PayloadData validated.
func (d *Data) rawChecked() bool {
	return len(d.Raw) > 0 && len(d.checked) == len(d.Raw) && &d.checked[0] == &d.Raw[0]
}

// Marshal returns the structured-mode JSON of e, the bytes avatarbus publishes. Data.Raw is written
// byte for byte as received (encoding/json would compact it and escape HTML characters), so a
// consumer sees the platform's payload unchanged. The rest is what encoding/json writes.
func Marshal(e *Event) ([]byte, error) {
	raw := e.Data.Raw
	if len(raw) == 0 || !(e.Data.rawChecked() || json.Valid(raw)) {
		return json.Marshal(e)
	}
	b, ok := appendEvent(make([]byte, 0, 512+len(raw)), e, raw)
	if !ok {
		return json.Marshal(e) // for its error
	}
	return b, nil
}

// Unmarshal reads an Event from its structured-mode JSON.
func Unmarshal(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
