package platform_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// TestConformance is the suite every preset must pass. Adding a platform means adding its file,
// its fixtures and its goldens; this test fails until all three exist and agree.
func TestConformance(t *testing.T) {
	for _, p := range platform.Default().All() {
		t.Run(p.Name(), func(t *testing.T) {
			if err := subjects.ValidToken(p.Name()); err != nil {
				t.Fatalf("preset name: %v", err)
			}
			vc := p.DefaultVerify()
			if !contains(verify.Schemes(), vc.Scheme) {
				t.Fatalf("default scheme %q is not a known scheme", vc.Scheme)
			}
			for name, typ := range p.Events() {
				if !envelope.Known(typ) || typ == envelope.TypeUnrecognized {
					t.Errorf("event %q maps to %q, not a canonical type", name, typ)
				}
			}
			files := fixtures(t, p.Name())
			if len(p.Events()) > 0 && len(files) == 0 {
				t.Fatalf("no fixtures in fixtures/%s", p.Name())
			}
			if len(files) > 0 {
				s, ok := p.(platform.Sampler)
				if !ok || len(s.Samples()) != len(files) {
					t.Fatalf("a preset with fixtures must offer them as samples for `avatarbus trigger`")
				}
			}
			for _, file := range files {
				in := fixtureInput(t, p, file)
				ev := p.Normalize(in)
				checkEnvelope(t, file, p, ev)
				if again := p.Normalize(in); again.ID != ev.ID {
					t.Errorf("%s: id not deterministic: %q then %q", file, ev.ID, again.ID)
				}
				later := in
				later.ReceivedAt = in.ReceivedAt.Add(time.Hour)
				if redelivered := p.Normalize(later); redelivered.ID != ev.ID {
					t.Errorf("%s: a redelivery received later must keep the id: %q then %q", file, ev.ID, redelivered.ID)
				}
				if _, err := os.Stat(filepath.Join("testdata", p.Name(), strings.TrimSuffix(filepath.Base(file), ".json")+".envelope.json")); err != nil {
					t.Errorf("%s: no golden envelope", file)
				}
			}
			for name, body := range map[string]string{
				"not json":      "<xml>nope</xml>",
				"empty":         "",
				"json array":    `[1,2,3]`,
				"unknown event": `{"event_type":"brand_new.thing","type":"brand_new.thing","status":"brand_new","event_data":{"video_id":"v"},"data":{"id":"x"}}`,
			} {
				ev := p.Normalize(platform.Input{Source: p.Name(), Body: []byte(body), ReceivedAt: fixedClock})
				if ev.Type != envelope.TypeUnrecognized {
					t.Errorf("%s: type %q, want %s", name, ev.Type, envelope.TypeUnrecognized)
				}
				checkEnvelope(t, name, p, ev)
			}
		})
	}
}

func checkEnvelope(t *testing.T, what string, p platform.Preset, ev envelope.Event) {
	t.Helper()
	if err := ev.Validate(); err != nil {
		t.Errorf("%s: invalid envelope: %v", what, err)
	}
	s, err := subjects.For("avatar", ev.Type, ev.Platform)
	if err != nil {
		t.Errorf("%s: no subject: %v", what, err)
		return
	}
	typ, platformToken, err := subjects.Parse("avatar", s)
	if err != nil || typ != ev.Type || platformToken != ev.Platform {
		t.Errorf("%s: subject %q does not parse back: %v", what, s, err)
	}
	if ev.Platform != p.Name() {
		t.Errorf("%s: platform %q, want %q", what, ev.Platform, p.Name())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
