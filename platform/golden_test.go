package platform_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

var update = flag.Bool("update", false, "rewrite the golden envelopes in testdata/")

// fixedClock is the receive time of every golden envelope, so goldens do not change between runs.
var fixedClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// golden is what a fixture becomes: where it is published, under which dedup id, and the envelope.
type golden struct {
	Subject   string          `json:"subject"`
	NatsMsgID string          `json:"nats_msg_id"`
	Envelope  *envelope.Event `json:"envelope"`
}

// fixtures returns the sample payloads of preset p: fixtures/<name>/*.json.
func fixtures(t *testing.T, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("fixtures", name, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func fixtureInput(t *testing.T, p platform.Preset, file string) platform.Input {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return platform.Input{Source: p.Name(), Body: body, ReceivedAt: fixedClock}
}

// TestGoldenEnvelopes normalizes every fixture with a fixed clock and compares the result with
// testdata/<platform>/<event>.envelope.json. Run `go test ./platform -update` to regenerate.
func TestGoldenEnvelopes(t *testing.T) {
	for _, p := range platform.Default().All() {
		for _, file := range fixtures(t, p.Name()) {
			event := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(p.Name()+"/"+event, func(t *testing.T) {
				ev := p.Normalize(fixtureInput(t, p, file))
				subject, err := subjects.For("avatar", ev.Type, ev.Platform)
				if err != nil {
					t.Fatal(err)
				}
				got, err := json.MarshalIndent(golden{Subject: subject, NatsMsgID: ev.ID, Envelope: &ev}, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				path := filepath.Join("testdata", p.Name(), event+".envelope.json")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("no golden envelope (run go test ./platform -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("envelope differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
				}
			})
		}
	}
}
