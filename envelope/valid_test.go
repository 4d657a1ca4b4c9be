package envelope

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// validJSONCases are the edges of JSON's grammar and of UTF-8, valid and not.
var validJSONCases = []string{
	``, ` `, `{}`, ` {} `, "\t[]\r\n", `{`, `}`, `[`, `]`, `{]`, `[}`, `[,]`, `[1,]`, `{"a":1,}`, `{,}`,
	`{"a"}`, `{"a":}`, `{"a" : 1 , "b" : [ ] }`, `{a:1}`, `{"a":1 "b":2}`, `[1 2]`, `{} {}`, `1 2`,
	`null`, `nul`, `nulll`, `true`, `tru`, `false`, `fals`, `True`, `NaN`, `Infinity`,
	`0`, `-0`, `00`, `01`, `-`, `-a`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e5`, `1E-5`, `1.5e+10`, `-1.0e0`, `+1`, `0x10`,
	`""`, `"`, `"abc`, `"a\"b"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`,
	`"\ud800"`, `"\`, `"\u`, "\"a\tb\"", "\"a\x00b\"", "\"\x1f\"", "\"\x7f\"",
	"\"héllo\"", "\"\xe2\x82\xac\"", "\"\xe2\x82\"", "\"\xc3\"", "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\"",
	"\"\xf0\x9f\x98\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "\xef\xbb\xbf{}", "{}\xff", "[\"é\"]\xc3",
	`"0123456789abcdef0123456789abcdef"`, `"0123456789abcdef"0123456789abcdef"`, `"01234567\u0041abcdef"`,
	`{"type":"video.done","data":{"id":"v","list":[1,2.5,-3e2,true,false,null,{"x":[]}]}}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// referenceValid is what validJSON replaces.
func referenceValid(b []byte) bool { return json.Valid(b) && utf8.Valid(b) }

func TestValidJSONAgreesWithValid(t *testing.T) {
	for _, c := range validJSONCases {
		// Also every cut of the shorter cases: a truncated document is where a scanner overruns.
		cuts := []string{c}
		if len(c) < 80 {
			for i := range c {
				cuts = append(cuts, c[:i], c[i:])
			}
		}
		for _, s := range cuts {
			if got, want := validJSON([]byte(s)), referenceValid([]byte(s)); got != want {
				t.Errorf("validJSON(%.60q) = %v, json.Valid && utf8.Valid say %v", s, got, want)
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), referenceValid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid && utf8.Valid say %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON is the body check of every stored request on a 1 KiB body: validJSON
// against the json.Valid and utf8.Valid pair it replaced.
func BenchmarkValidJSON(b *testing.B) {
	body := []byte(`{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_1","url":"https://cdn.example.com/v/1.mp4","note":"` +
		strings.Repeat("x", 820) + `"}}`)
	for _, bc := range []struct {
		name  string
		valid func([]byte) bool
	}{{"validJSON", validJSON}, {"json.Valid+utf8.Valid", referenceValid}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !bc.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
