package offload

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// str is one string value of a JSON document: its JSON pointer and where its quoted form is.
type str struct {
	ptr        string
	start, end int // b[start:end] is the string with its quotes
}

func (s str) len() int { return s.end - s.start }

// frame is an open object or array while scanning.
type frame struct {
	tok     string // the container's own pointer token in its parent ("" for the root)
	array   bool
	idx     int    // the next element's index (arrays)
	key     string // the current member's name (objects)
	wantKey bool   // the next string is a member name (objects)
}

// maxFieldDepth is the deepest a declared large field may be: shallower strings always get their
// pointer, deeper ones only when they are large enough to be moved out.
const maxFieldDepth = 8

// stringValues returns the string values of b (not member names) worth a pointer, in document
// order: those at most maxFieldDepth deep, and those of at least MinMoved bytes whose pointer can
// name an object. Pointers are built only for those, so the scan stays linear however deep or
// wide the document. b must be valid JSON (the ingest tier only offloads what envelope.RawPayload
// kept as JSON); the scan is iterative, so deep nesting cannot exhaust the stack.
func stringValues(b []byte) []str {
	var out []str
	var stack []frame
	// token is the pointer token of the value that starts at the current position.
	token := func() string {
		top := &stack[len(stack)-1]
		if top.array {
			return strconv.Itoa(top.idx)
		}
		return escape(top.key)
	}
	// ptr is the pointer of the value that starts at the current position.
	ptr := func() string {
		if len(stack) == 0 {
			return ""
		}
		var p strings.Builder
		for _, f := range stack[1:] {
			p.WriteByte('/')
			p.WriteString(f.tok)
		}
		p.WriteByte('/')
		p.WriteString(token())
		return p.String()
	}
	// done records that a value ended: the next string of an object is a name again.
	done := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.array {
			top.idx++
		} else {
			top.wantKey = true
		}
	}
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r', ',', ':':
			i++
		case '{', '[':
			f := frame{array: c == '[', wantKey: c == '{'}
			if len(stack) > 0 && len(stack) <= maxName { // deeper, no pointer fits in a name anyway
				f.tok = token()
			}
			stack = append(stack, f)
			i++
		case '}', ']':
			stack = stack[:len(stack)-1]
			done()
			i++
		case '"':
			end := stringEnd(b, i)
			if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
				stack[n-1].key = unquote(b[i:end])
				stack[n-1].wantKey = false
			} else {
				if depth := len(stack); depth <= maxFieldDepth || end-i >= MinMoved && depth <= maxName {
					out = append(out, str{ptr: ptr(), start: i, end: end})
				}
				done()
			}
			i = end
		default: // a number, true, false or null
			for i < len(b) && !ends(b[i]) {
				i++
			}
			done()
		}
	}
	return out
}

// ends reports whether c ends a number or literal.
func ends(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// stringEnd returns the index just after the closing quote of the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b) // not valid JSON; cannot happen for what the caller scans
		}
		j += k
		backslashes := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		j++
		if backslashes%2 == 0 {
			return j
		}
	}
}

// unquote returns the text of the quoted JSON string q.
func unquote(q []byte) string {
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(q, &s) // q is a valid JSON string
	return s
}

// unquoteBytes is unquote without a copy when the string has no escapes.
func unquoteBytes(q []byte) []byte {
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return []byte(unquote(q))
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escape makes a member name one token of a JSON pointer (RFC 6901).
func escape(name string) string {
	if !strings.ContainsAny(name, "~/") {
		return name
	}
	return pointerEscaper.Replace(name)
}
