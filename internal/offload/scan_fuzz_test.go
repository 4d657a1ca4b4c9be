package offload

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzStringValues: for any JSON document the ingest tier would offload from (valid JSON in UTF-8),
// every span stringValues reports is one quoted string, its pointer names a string value of the
// document, that value is the span's text (when no member name repeats, which would make the
// pointer ambiguous), and replacing every span keeps the document valid JSON.
func FuzzStringValues(f *testing.F) {
	for _, seed := range []string{
		`{"type":"post_call_audio","data":{"conversation_id":"c","full_audio":"AAAA"}}`,
		`{"a/b~c":"q\"\\","\"k\\":"\u00e9\\\"","n":[1,"x",{"y":"z"}]}`,
		`"root"`, `[]`, `{}`, `[[["deep"]]]`, ` {"a" : [ "b" , 2 ] } `,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		var doc any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // 1E1000 is valid JSON, not a float64
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("valid JSON does not decode: %v", err)
		}
		spans := stringValues(b)
		unambiguous := !repeatsName(b)
		var edits []edit
		for _, s := range spans {
			q := b[s.start:s.end]
			if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' || !json.Valid(q) {
				t.Fatalf("span %d:%d is not one JSON string: %q", s.start, s.end, q)
			}
			if unambiguous {
				v, ok := resolve(doc, s.ptr)
				if text, isString := v.(string); !ok || !isString || text != unquote(q) {
					t.Fatalf("pointer %q names %#v (found: %v), the span says %q", s.ptr, v, ok, unquote(q))
				}
			}
			edits = append(edits, edit{s: s, repl: []byte(`"ref"`)})
		}
		if out := splice(b, edits); !json.Valid(out) {
			t.Fatalf("replacing every string made invalid JSON: %s", out)
		}
	})
}

// repeatsName reports whether an object of the JSON document b has a member name twice; then a
// pointer may name either member (decoders keep the last).
func repeatsName(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type level struct {
		names   map[string]bool
		object  bool
		wantKey bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].wantKey = true
				}
				stack = append(stack, level{names: map[string]bool{}, object: v == '{', wantKey: v == '{'})
			default:
				stack = stack[:top]
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].wantKey {
				if stack[top].names[v] {
					return true
				}
				stack[top].names[v] = true
				stack[top].wantKey = false
				continue
			}
			if top >= 0 && stack[top].object {
				stack[top].wantKey = true
			}
		default:
			if top >= 0 && stack[top].object {
				stack[top].wantKey = true
			}
		}
	}
}

// resolve evaluates the JSON pointer ptr (RFC 6901) on doc.
func resolve(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := doc.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			doc = c[i]
		default:
			return nil, false
		}
	}
	return doc, true
}
