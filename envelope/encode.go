package envelope

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends the JSON of e as encoding/json writes it (same member order, omitempty, HTML
// escaping, time and number formats), with data.raw written as it is. It exists because reflection
// was a third of Marshal's cost on the ingest path (BENCHMARKS.md); encode_test.go holds it to
// encoding/json's output. ok is false where encoding/json would fail (a time it cannot write, a
// duration that is not finite): the caller falls back to it for the error.
func appendEvent(b []byte, e *Event, raw []byte) ([]byte, bool) {
	b = append(b, `{"specversion":`...)
	b = appendString(b, e.SpecVersion)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	if e.Subject != "" {
		b = append(b, `,"subject":`...)
		b = appendString(b, e.Subject)
	}
	var ok bool
	b = append(b, `,"time":`...)
	if b, ok = appendTime(b, e.Time); !ok {
		return b, false
	}
	b = append(b, `,"datacontenttype":`...)
	b = appendString(b, e.DataContentType)
	b = append(b, `,"platform":`...)
	b = appendString(b, e.Platform)
	if e.PlatformEvent != "" {
		b = append(b, `,"platformevent":`...)
		b = appendString(b, e.PlatformEvent)
	}
	if e.PlatformEventID != "" {
		b = append(b, `,"platformeventid":`...)
		b = appendString(b, e.PlatformEventID)
	}
	if e.CorrelationID != "" {
		b = append(b, `,"correlationid":`...)
		b = appendString(b, e.CorrelationID)
	}
	if e.TraceParent != "" {
		b = append(b, `,"traceparent":`...)
		b = appendString(b, e.TraceParent)
	}
	if e.TraceState != "" {
		b = append(b, `,"tracestate":`...)
		b = appendString(b, e.TraceState)
	}
	if e.RecoveredBy != "" {
		b = append(b, `,"recoveredby":`...)
		b = appendString(b, e.RecoveredBy)
	}
	b = append(b, `,"receivedat":`...)
	if b, ok = appendTime(b, e.ReceivedAt); !ok {
		return b, false
	}
	b = append(b, `,"data":{`...)
	d := &e.Data
	b = appendMember(b, "resource_id", d.ResourceID)
	b = appendMember(b, "status", d.Status)
	b = appendMember(b, "media_url", d.MediaURL)
	b = appendMember(b, "thumbnail_url", d.ThumbnailURL)
	b = appendMember(b, "gif_url", d.GifURL)
	b = appendMember(b, "captions_url", d.CaptionsURL)
	b = appendMember(b, "page_url", d.PageURL)
	if d.DurationSeconds != nil {
		f := *d.DurationSeconds
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		b = appendComma(b)
		b = append(b, `"duration_seconds":`...)
		b = appendFloat(b, f)
	}
	if d.Error != nil {
		b = appendComma(b)
		b = append(b, `"error":{`...)
		b = appendMember(b, "code", d.Error.Code)
		b = appendMember(b, "message", d.Error.Message)
		b = append(b, '}')
	}
	if len(d.Objects) > 0 {
		b = appendComma(b)
		b = append(b, `"objects":[`...)
		for i := range d.Objects {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendObject(b, &d.Objects[i])
		}
		b = append(b, ']')
	}
	b = appendComma(b)
	b = append(b, `"raw":`...)
	b = append(b, raw...)
	return append(b, '}', '}'), true
}

// appendObject appends one member of data.objects.
func appendObject(b []byte, o *Object) []byte {
	b = append(b, `{"path":`...)
	b = appendString(b, o.Path)
	b = append(b, `,"url":`...)
	b = appendString(b, o.URL)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, o.Size, 10)
	b = append(b, `,"digest":`...)
	b = appendString(b, o.Digest)
	b = appendMember(b, "content_type", o.ContentType)
	return append(b, '}')
}

// appendComma separates a member from the one before it, unless it is the first of its object.
func appendComma(b []byte) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return b
}

// appendMember appends "name":"value" unless value is empty (omitempty).
func appendMember(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = appendComma(b)
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, value)
}

// appendTime appends t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds, quoted).
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, false
	}
	return append(b, '"'), true
}

// appendFloat appends f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with HTML escaping on:
// <, > and & as \u003c…, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
