package platform_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/platform"
)

// TestSampleWithFreshIDs: for every sample of every platform, the fresh copy normalizes to the same
// event (type, platform event) under a new event id and the resource id with the suffix, and
// differs from the sample only by the inserted suffixes.
func TestSampleWithFreshIDs(t *testing.T) {
	t.Parallel()
	const suffix = "-0a1b2c3d"
	n := 0
	for _, p := range platform.Default().All() {
		s, ok := p.(platform.Sampler)
		if !ok {
			continue
		}
		for _, sample := range s.Samples() {
			n++
			t.Run(p.Name()+"/"+sample.Event, func(t *testing.T) {
				fresh, err := sample.WithFreshIDs(suffix)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(fresh.Body) {
					t.Fatalf("not JSON:\n%s", fresh.Body)
				}
				if got := bytes.ReplaceAll(fresh.Body, []byte(suffix), nil); !bytes.Equal(got, sample.Body) {
					t.Errorf("changed beyond the suffixes:\n%s", fresh.Body)
				}
				// No sender message id: the generic preset then identifies the event by its body.
				in := platform.Input{Source: p.Name(), ReceivedAt: fixedClock}
				in.Body = sample.Body
				before := p.Normalize(in)
				in.Body = fresh.Body
				after := p.Normalize(in)
				if after.ID == before.ID {
					t.Errorf("event id %q unchanged: the id rule reads a field freshIDKeys lacks", after.ID)
				}
				if after.Type != before.Type || after.PlatformEvent != before.PlatformEvent {
					t.Errorf("now %s (%s), was %s (%s)", after.Type, after.PlatformEvent, before.Type, before.PlatformEvent)
				}
				if r := before.Data.ResourceID; r != "" && after.Data.ResourceID != r+suffix {
					t.Errorf("resource id %q, want %q", after.Data.ResourceID, r+suffix)
				}
				if again, _ := sample.WithFreshIDs("-ffff"); p.Normalize(platform.Input{Source: p.Name(), ReceivedAt: fixedClock, Body: again.Body}).ID == after.ID {
					t.Error("two suffixes, one event id")
				}
			})
		}
	}
	if n < 20 {
		t.Errorf("%d samples; the fixtures did not load", n)
	}
}

func TestSampleWithFreshIDsRewritesOnlyIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want, wantErr string
	}{
		{name: "nested and top level, order and spacing kept",
			body: `{"z": 1, "event_id": "e1", "event_data": {"video_id" :"v1", "callback_id": "c", "url": "u"}, "id": "x"}`,
			want: `{"z": 1, "event_id": "e1-S", "event_data": {"video_id" :"v1-S", "callback_id": "c", "url": "u"}, "id": "x-S"}`},
		{name: "empty, null and non-string ids left",
			body: `{"id": "", "video_id": null, "replica_id": 7, "conversation_id": {"id": "in"}}`,
			want: `{"id": "", "video_id": null, "replica_id": 7, "conversation_id": {"id": "in-S"}}`},
		{name: "a value equal to an id key name is no key",
			body: `{"type": "id", "list": ["id", {"talk_id": "t"}], "after": "a"}`,
			want: `{"type": "id", "list": ["id", {"talk_id": "t-S"}], "after": "a"}`},
		{name: "escaped value", body: `{"id":"a\"b"}`, want: `{"id":"a\"b-S"}`},
		{name: "not JSON", body: `{"id": "x"`, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := platform.Sample{Body: []byte(tt.body)}.WithFreshIDs("-S")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got.Body) != tt.want {
				t.Errorf("got %s, %v\nwant %s", got.Body, err, tt.want)
			}
		})
	}
	if _, err := (platform.Sample{Body: []byte(`{}`)}).WithFreshIDs(`"`); err == nil {
		t.Error(`suffix "\"": no error`)
	}
}
