package ingest

import "strconv"

// appendJSON appends a as encoding/json's Encoder writes it (what c.JSON sent before), newline
// included, without reflection: every stored request answers with one (BENCHMARKS.md). ok is false
// when a string needs escaping, which the ids, types, subjects and stream names avatarbus makes never
// do; the caller then lets encoding/json write it.
func (a *accepted) appendJSON(b []byte) ([]byte, bool) {
	if !plainJSON(a.ID) || !plainJSON(a.Type) || !plainJSON(a.Subject) || !plainJSON(a.Stream) {
		return b, false
	}
	b = append(b, `{"id":"`...)
	b = append(b, a.ID...)
	b = append(b, `","duplicate":`...)
	b = strconv.AppendBool(b, a.Duplicate)
	b = append(b, `,"type":"`...)
	b = append(b, a.Type...)
	b = append(b, `","subject":"`...)
	b = append(b, a.Subject...)
	b = append(b, `","stream":"`...)
	b = append(b, a.Stream...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, a.Seq, 10)
	return append(b, '}', '\n'), true
}

// plainJSON reports whether s is written as is inside a JSON string by encoding/json: printable
// ASCII other than the quote, the backslash and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
