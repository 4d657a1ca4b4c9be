package platform

import (
	"bytes"
	"encoding/json"
	"testing"
)

// slowParse is what parseObject replaced: the reference it must agree with.
func slowParse(b []byte) (fields, bool) {
	var f fields
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return nil, false
	}
	return f, true
}

// sameFields compares two parses: the same members with the same raw bytes.
func sameFields(t *testing.T, in []byte, got, want fields) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: %d members, json.Unmarshal finds %d", in, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !bytes.Equal(g, w) {
			t.Fatalf("%q: member %q = %q, json.Unmarshal reads %q", in, k, g, w)
		}
		var s string
		wantStr := ""
		if len(w) > 0 && w[0] == '"' && json.Unmarshal(w, &s) == nil {
			wantStr = s
		}
		if len(w) > 0 && w[0] == '"' {
			if gs := got.str(k); gs != wantStr {
				t.Fatalf("%q: str(%q) = %q, json.Unmarshal reads %q", in, k, gs, wantStr)
			}
		}
		if o, ok := slowParse(w); ok {
			sameFields(t, w, got.object(k), o)
		}
	}
}

var parseSeeds = []string{
	`{}`, ` { } `, `null`, `[]`, `"x"`, `1`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":"x\"y","b":[1,{"c":"]}"}],"d":{"e":null}}`,
	`{"\u0061":true,"b\\":"\u00e9","k\ud83d\ude00":"v"}`, "{\"a\":\"\xff\xfe\"}", "{\"\xff\":1}", `{"a":1,}`, `{"a" 1}`,
	`{"a":-1.5e+3 , "b" : false}`, "{\t\"a\"\n:\r[ ]\n}", `{"a":"<&>\u2028"}`, `{"data":{"id":"v","n":{"x":[[[]]]}}}`,
}

func TestParseObjectAgreesWithUnmarshal(t *testing.T) {
	for _, s := range parseSeeds {
		got, gotOK := parseObject([]byte(s))
		want, wantOK := slowParse([]byte(s))
		if gotOK != wantOK {
			t.Fatalf("%q: ok = %v, json.Unmarshal says %v", s, gotOK, wantOK)
		}
		sameFields(t, []byte(s), got, want)
	}
	for _, p := range Default().All() {
		for _, sample := range samplesOf(p.Name()) {
			got, gotOK := parseObject(sample.Body)
			want, wantOK := slowParse(sample.Body)
			if gotOK != wantOK {
				t.Fatalf("%s/%s: ok = %v, json.Unmarshal says %v", p.Name(), sample.Event, gotOK, wantOK)
			}
			sameFields(t, sample.Body, got, want)
		}
	}
}

// FuzzParseObject: on any input parseObject agrees with json.Unmarshal into the same map, nested
// objects and string values included.
func FuzzParseObject(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotOK := parseObject(b)
		want, wantOK := slowParse(b)
		if gotOK != wantOK {
			t.Fatalf("%q: ok = %v, json.Unmarshal says %v", b, gotOK, wantOK)
		}
		sameFields(t, b, got, want)
	})
}

// TestParseBodyAgreesWithParseObject: skipping the second validation changes nothing, whatever the
// body (not JSON, not an object, invalid UTF-8 inside a string, surrounding whitespace).
func TestParseBodyAgreesWithParseObject(t *testing.T) {
	bodies := append([]string{" \n{\"a\":{\"b\":1}}\t", "{\"a\":\"\xff\"}", "not json", ""}, parseSeeds...)
	for _, s := range bodies {
		in := Input{Source: "acme", Body: []byte(s)}
		ev := newEvent("acme", in)
		got, gotOK := parseBody(in, &ev)
		want, wantOK := parseObject(in.Body)
		if gotOK != wantOK {
			t.Fatalf("%q: ok = %v, parseObject says %v", s, gotOK, wantOK)
		}
		sameFields(t, in.Body, got, want)
	}
}

// stringEndByBytes is valueEnd's former string scan, byte by byte: a backslash skips the next
// byte, the first other quote ends the string.
func stringEndByBytes(b []byte) int {
	for j := 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// FuzzValueEndString: valueEnd finds the end of a string where the byte-by-byte scan does, on
// any bytes (valid JSON or not).
func FuzzValueEndString(f *testing.F) {
	for _, s := range []string{`""`, `"a"`, `"\""`, `"\\"`, `"\\\""`, `"a\\\\"b"`, `"\`, `"\\`, `"abc`, `"x\y"`, `"\u0022"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		b := append([]byte{'"'}, s...)
		if got, want := valueEnd(b, 0), stringEndByBytes(b); got != want {
			t.Fatalf("valueEnd(%q) = %d, the byte scan says %d", b, got, want)
		}
	})
}
