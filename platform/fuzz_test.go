package platform_test

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

// fuzzNormalizer checks that preset never panics and always yields a valid, publishable envelope
// whose raw payload is the input, whatever the body.
func fuzzNormalizer(f *testing.F, preset string) {
	p, ok := platform.Default().Lookup(preset)
	if !ok {
		f.Fatalf("no preset %s", preset)
	}
	seeds, _ := filepath.Glob(filepath.Join("fixtures", "*", "*.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event_type":"avatar_video.success","event_data":{"video_id":12e400}}`))
	f.Add([]byte(`{"type":"video.done","timestamp":"not a time","data":[]}`))
	f.Add([]byte("\xff\xfe"))
	// Values an envelope cannot carry must be dropped, not published half-broken.
	f.Add([]byte(`{"event_type":"avatar_video.success","event_data":{"video_id":"v","duration":"NaN"}}`))
	f.Add([]byte(`{"type":"video.done","timestamp":"9999-12-31T23:59:59-01:00","data":{"id":"v"}}`))
	f.Add([]byte(`{"type":"video.done\n","event_type":"x\u0000","data":{"id":"v"}}`))
	// Control characters in a resource id never reach subject (issue 13): a terminal escape, a
	// header split, C1.
	f.Add([]byte(`{"event_type":"avatar_video.success","event_data":{"video_id":"v\u001b[2J\u0007"}}`))
	f.Add([]byte(`{"type":"video.done","data":{"id":"v\r\nX-Injected: 1"}}`))
	f.Add([]byte(`{"video_id":"v\u0085","status":"done","id":"t\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev := p.Normalize(platform.Input{Source: preset, Body: body, ReceivedAt: fixedClock,
			Events: map[string]string{"video.done": envelope.TypeVideoCompleted}})
		if err := ev.Validate(); err != nil {
			t.Fatalf("invalid envelope for %q: %v", body, err)
		}
		if _, err := subjects.For("avatar", ev.Type, ev.Platform); err != nil {
			t.Fatalf("no subject for %q: %v", body, err)
		}
		b, err := envelope.Marshal(&ev)
		if err != nil {
			t.Fatalf("cannot marshal: %v", err)
		}
		if !utf8.Valid(b) { // RFC 8259: strict consumers refuse anything else
			t.Fatalf("published bytes are not UTF-8: %q", b)
		}
		back, err := envelope.Unmarshal(b)
		if err != nil {
			t.Fatalf("cannot read back %s: %v", b, err)
		}
		if string(back.Data.Raw) != string(envelope.RawPayload(body)) {
			t.Fatalf("raw payload changed")
		}
	})
}

func FuzzNormalizeHeyGen(f *testing.F)           { fuzzNormalizer(f, "heygen") }
func FuzzNormalizeStandardWebhooks(f *testing.F) { fuzzNormalizer(f, "standardwebhooks") }
func FuzzNormalizeHMAC(f *testing.F)             { fuzzNormalizer(f, "hmac") }
func FuzzNormalizeDID(f *testing.F)              { fuzzNormalizer(f, "did") }
func FuzzNormalizeTavus(f *testing.F)            { fuzzNormalizer(f, "tavus") }
func FuzzNormalizeElevenLabs(f *testing.F)       { fuzzNormalizer(f, "elevenlabs") }
func FuzzNormalizeSynthesia(f *testing.F)        { fuzzNormalizer(f, "synthesia") }
