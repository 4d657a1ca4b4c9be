package platform_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

// A resource id with a control character in it never reaches the envelope's subject or
// resource_id (it is dropped), while the raw payload keeps it byte for byte. Every fixture with a
// resource id is replayed with control characters appended to that id.
func TestControlCharactersNeverReachSubject(t *testing.T) {
	suffixes := []string{`\u0000`, `\r\nX-Injected: 1`, `\u001b[2J\u0007`, `\t`, `\u007f`, `\u0085`}
	tried := 0
	for _, p := range platform.Default().All() {
		for _, file := range fixtures(t, p.Name()) {
			in := fixtureInput(t, p, file)
			ev := p.Normalize(in)
			id := ev.Data.ResourceID
			quoted, _ := json.Marshal(id)
			if id == "" || !bytes.Contains(in.Body, quoted) {
				continue
			}
			for _, suf := range suffixes {
				tried++
				body := bytes.ReplaceAll(in.Body, quoted, []byte(strings.TrimSuffix(string(quoted), `"`)+suf+`"`))
				got := p.Normalize(platform.Input{Source: in.Source, Body: body, ReceivedAt: in.ReceivedAt})
				name := p.Name() + "/" + filepath.Base(file) + " + " + suf
				if envelope.HasControl(got.Subject) || envelope.HasControl(got.Data.ResourceID) {
					t.Errorf("%s: subject %q, resource_id %q", name, got.Subject, got.Data.ResourceID)
				}
				if got.Subject != "" || got.Data.ResourceID != "" {
					t.Errorf("%s: subject %q, resource_id %q; want both dropped", name, got.Subject, got.Data.ResourceID)
				}
				if err := got.Validate(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if !bytes.Equal(got.Data.Raw, envelope.RawPayload(body)) {
					t.Errorf("%s: raw payload changed", name)
				}
			}
		}
	}
	if tried < 20 {
		t.Fatalf("only %d payloads tried; the fixtures' ids were not found", tried)
	}
}
