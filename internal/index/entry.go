package index

import (
	"bytes"
	"encoding/json"
	"strings"
)

// entryOf reads what the index needs from a stored event (structured CloudEvents JSON): six
// top-level string members. It walks the object's top level and skips every other value, the
// payload in data included, without decoding it: encoding/json validated and decoded the whole
// event, most of the writer's CPU per event. Anything it does not expect (not an object, a key
// with an escape, an unknown member spelled in another case, a value not a string) sends the event
// to entryOfJSON, which it agrees with (TestEntryOfAgreesWithJSON, FuzzEntryOf).
func entryOf(seq uint64, data []byte) (Entry, bool) {
	var e Entry
	ok := walkObject(data, func(key, val []byte) bool {
		var dst *string
		switch string(key) {
		case "id":
			dst = &e.ID
		case "type":
			dst = &e.Type
		case "subject":
			dst = &e.ResourceID
		case "platform":
			dst = &e.Platform
		case "correlationid":
			dst = &e.CorrelationID
		case "time":
			if isNull(val) {
				return true
			}
			return e.Time.UnmarshalJSON(val) == nil // what encoding/json calls; on error it decides
		default:
			// encoding/json matches keys case-insensitively: leave such keys to it.
			return !foldsToWanted(key)
		}
		if isNull(val) {
			return true // encoding/json leaves the field as it was
		}
		s, ok := plainString(val)
		*dst = s
		return ok
	})
	if !ok {
		return entryOfJSON(seq, data)
	}
	if strings.TrimSpace(e.ID) == "" {
		return Entry{}, false
	}
	e.Seq = seq
	return e, true
}

var wanted = []string{"id", "type", "subject", "platform", "correlationid", "time"}

func foldsToWanted(key []byte) bool {
	for _, w := range wanted {
		if bytes.EqualFold(key, []byte(w)) {
			return true
		}
	}
	return false
}

func isNull(v []byte) bool { return string(v) == "null" }

// plainString returns the content of a JSON string token without escapes; false when it has
// escapes or is not a string (the caller falls back to encoding/json).
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	for _, c := range in {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false // escapes, control or non-ASCII bytes: encoding/json decides
		}
	}
	return string(in), true
}

// walkObject calls visit with each top-level member of the JSON object data (the key's bytes
// without quotes, the value's raw bytes) until visit returns false. It reports false when data
// is not an object it can walk. It does not validate skipped objects and arrays beyond their
// extent: events in the stream are valid JSON (envelope.Marshal checks), and on invalid JSON the
// entry may differ from entryOfJSON's refusal, never make the writer fail.
func walkObject(data []byte, visit func(key, val []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		end := stringEnd(data, i)
		if end < 0 {
			return false
		}
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		vend := valueEnd(data, i)
		if vend < 0 {
			return false
		}
		if !visit(key, data[i:vend]) {
			return false
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string token starting at b[i] == '"', or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i || !json.Valid(b[i:j]) {
			return -1
		}
		return j
	}
}
