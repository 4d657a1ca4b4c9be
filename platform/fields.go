package platform

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/avatarbus/avatarbus/envelope"
)

// fields is a JSON object read leniently: platforms disagree with their own docs about field names
// and types, so a normalizer asks for the first of several names and takes what it can read. A field
// of an unexpected type is treated as absent rather than failing the whole payload.
type fields map[string]json.RawMessage

// parseObject reads b as a JSON object. ok is false when b is not one. It reads what
// json.Unmarshal into a map[string]json.RawMessage would, in one validating pass and one splitting
// pass, the values being slices of b (not copies): b must not change while f is used. (It was
// json.Unmarshal; the ingest CPU profile showed decoding at half of a request's cost, BENCHMARKS.md.)
func parseObject(b []byte) (fields, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	return splitObject(b)
}

// parseBody reads the body of in as a JSON object, like parseObject(in.Body), for a normalizer that
// has made ev with newEvent: when ev's raw payload is an object, the body was valid JSON (RawPayload
// checked it), so it is split without validating it a second time.
func parseBody(in Input, ev *envelope.Event) (fields, bool) {
	if raw := ev.Data.Raw; len(raw) > 0 && raw[0] == '{' {
		return splitObject(raw)
	}
	return parseObject(in.Body)
}

// object returns the nested object under key, or nil. A value of f is valid JSON (parseObject
// checked all of it), so it is split without validating it again.
func (f fields) object(key string) fields {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	o, _ := splitObject(raw)
	return o
}

// splitObject splits valid JSON b, when it is an object, into its members. On anything it does not
// expect (which valid JSON never has) it reports false rather than guessing.
func splitObject(b []byte) (fields, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	f := make(fields, 8)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return f, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return nil, false
		}
		end := valueEnd(b, i)
		if end < 0 {
			return nil, false
		}
		key, ok := memberName(b[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		end = valueEnd(b, i)
		if end < 0 {
			return nil, false
		}
		f[key] = json.RawMessage(b[i:end:end]) // a later duplicate wins, as with json.Unmarshal
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return f, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		// The closing quote is the first one after an even run of backslashes. IndexByte jumps
		// over long strings many bytes at a time; the byte loop it replaced was the largest
		// avatarbus symbol in the live profile (BENCHMARKS.md, "Speed II: levers").
		for j := i + 1; ; j++ {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return -1
			}
			j += k
			escaped := false
			for p := j - 1; p > i && b[p] == '\\'; p-- {
				escaped = !escaped
			}
			if !escaped {
				return j + 1
			}
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := valueEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// memberName returns the name of a quoted JSON member name, decoded as json.Unmarshal decodes it.
func memberName(q []byte) (string, bool) {
	inner := q[1 : len(q)-1]
	if plainString(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		return "", false
	}
	return s, true
}

// plainString reports whether the inside of a JSON string needs no decoding: no escapes and valid
// UTF-8 (json.Unmarshal replaces invalid bytes with U+FFFD).
func plainString(inner []byte) bool {
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

// str returns the first of keys that holds a non-empty string (numbers are accepted and kept in
// their JSON spelling, since some platforms send ids as numbers).
func (f fields) str(keys ...string) string {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '"':
			if len(raw) > 2 && plainString(raw[1:len(raw)-1]) {
				return string(raw[1 : len(raw)-1])
			}
			var s string
			if json.Unmarshal(raw, &s) == nil && s != "" {
				return s
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			var n json.Number
			if json.Unmarshal(raw, &n) == nil {
				return n.String()
			}
		}
	}
	return ""
}

// number returns the first of keys that holds a finite number (or a string spelling one). JSON
// null is no number, and neither are "NaN" or "Inf": an envelope could not carry them.
func (f fields) number(keys ...string) (float64, bool) {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				continue
			}
			var err error
			if n, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				continue
			}
		}
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return n, true
		}
	}
	return 0, false
}

// duration returns key as a number of seconds (finite, not negative), or nil.
func (f fields) duration(key string) *float64 {
	n, ok := f.number(key)
	if !ok || n < 0 {
		return nil
	}
	return &n
}

// unixTime returns the first of keys holding Unix seconds as a time, or the zero time.
func (f fields) unixTime(keys ...string) time.Time {
	n, ok := f.number(keys...)
	if !ok || n <= 0 || n > 1e11 {
		return time.Time{}
	}
	return representable(time.Unix(int64(n), 0).UTC())
}

// isoTime returns the first of keys holding an RFC 3339 time (or one of the zone-less layouts some
// platforms send, read as UTC), or the zero time.
func (f fields) isoTime(keys ...string) time.Time {
	for _, k := range keys {
		s := f.str(k)
		if s == "" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return representable(t.UTC())
			}
		}
	}
	return time.Time{}
}

// representable returns t when RFC 3339 can write it (years 1 to 9999, which a far zone offset can
// push t out of), else the zero time, so the normalizer falls back to the receive time.
func representable(t time.Time) time.Time {
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}
