package platform_test

import (
	"encoding/json"
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
)

// A member name given twice resolves to the last one, as encoding/json (into a map) and most JSON
// consumers read it, whatever the spelling of the name ("\u0076ideo_id" is "video_id"), at any depth;
// the raw payload keeps both. A consumer that re-reads data.raw with encoding/json therefore sees the
// same values as the envelope.
func TestDuplicateMembersResolveToTheLast(t *testing.T) {
	tests := []struct {
		preset, body     string
		wantType, wantID string
		idPath           []string // where encoding/json finds the id, to check it agrees
	}{
		{"heygen", `{"event_type":"avatar_video.fail","event_type":"avatar_video.success","event_data":{"video_id":"first","video_id":"last"}}`,
			envelope.TypeVideoCompleted, "last", []string{"event_data", "video_id"}},
		{"heygen", `{"event_type":"avatar_video.success","event_data":{"video_id":"first","\u0076ideo_id":"last"}}`,
			envelope.TypeVideoCompleted, "last", []string{"event_data", "video_id"}},
		{"heygen", `{"event_type":"avatar_video.success","event_data":{"video_id":"first"},"event_data":{"video_id":"last"}}`,
			envelope.TypeVideoCompleted, "last", []string{"event_data", "video_id"}},
		{"standardwebhooks", `{"type":"video.done","data":{"id":"first"},"type":"video.done","data":{"id":"last"}}`,
			envelope.TypeVideoCompleted, "last", []string{"data", "id"}},
	}
	for _, tt := range tests {
		t.Run(tt.preset+" "+tt.body, func(t *testing.T) {
			p, ok := platform.Default().Lookup(tt.preset)
			if !ok {
				t.Fatalf("no preset %s", tt.preset)
			}
			ev := p.Normalize(platform.Input{Source: tt.preset, Body: []byte(tt.body), ReceivedAt: fixedClock,
				Events: map[string]string{"video.done": envelope.TypeVideoCompleted}})
			if ev.Type != tt.wantType || ev.Data.ResourceID != tt.wantID || ev.Subject != tt.wantID {
				t.Errorf("type %q, resource_id %q, subject %q; want %q, %q", ev.Type, ev.Data.ResourceID, ev.Subject, tt.wantType, tt.wantID)
			}
			if string(ev.Data.Raw) != tt.body {
				t.Errorf("raw payload changed: %s", ev.Data.Raw)
			}
			var doc any
			if err := json.Unmarshal([]byte(tt.body), &doc); err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.idPath {
				doc = doc.(map[string]any)[k]
			}
			if doc != ev.Data.ResourceID {
				t.Errorf("encoding/json reads the id as %v, the envelope as %q", doc, ev.Data.ResourceID)
			}
		})
	}
}
