package envelope_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
)

func sample() *envelope.Event {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return &envelope.Event{
		SpecVersion: envelope.SpecVersion, ID: "heygen:avatar_video.success:v1",
		Source: envelope.SourceFor("heygen"), Type: envelope.TypeVideoCompleted, Subject: "v1",
		Time: at, DataContentType: envelope.DataContentType, Platform: "heygen",
		PlatformEvent: "avatar_video.success", PlatformEventID: "evt_1", ReceivedAt: at,
		Data: envelope.Data{ResourceID: "v1", Status: "completed", Raw: json.RawMessage(`{"a":1}`)},
	}
}

func TestValidateAcceptsSample(t *testing.T) {
	if err := sample().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	e := sample()
	e.SpecVersion = "0.3"
	e.ID = strings.Repeat("x", 129)
	e.Type = "video.done"
	e.Time = time.Time{}
	e.Data.Raw = nil
	err := e.Validate()
	if !errors.Is(err, envelope.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	for _, want := range []string{"specversion", "id: 129 characters", "type: \"video.done\"", "time: missing", "data.raw: missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestIDIsDeterministicAndBounded(t *testing.T) {
	a := envelope.ID("heygen", "avatar_video.success", "abc")
	if a != "heygen:avatar_video.success:abc" || a != envelope.ID("heygen", "avatar_video.success", "abc") {
		t.Fatalf("ID = %q", a)
	}
	if envelope.ID("heygen", "avatar_video.success", "") != "" {
		t.Fatal("an empty part must yield no id")
	}
	if envelope.ID("heygen") != "" {
		t.Fatal("no parts must yield no id")
	}
	long := envelope.ID("heygen", strings.Repeat("v", 200))
	if len(long) > envelope.MaxIDLength || !strings.HasPrefix(long, "heygen:sha256:") {
		t.Fatalf("long id %q", long)
	}
	odd := envelope.ID("did", "tlk 1\n")
	if !strings.HasPrefix(odd, "did:sha256:") {
		t.Fatalf("id with unsafe characters must be hashed, got %q", odd)
	}
	if envelope.ID("x", "ab", "c") == envelope.ID("x", "a", "bc") {
		t.Fatal("part boundaries must matter")
	}
	if envelope.BodyID("x", []byte("a")) == envelope.BodyID("x", []byte("b")) {
		t.Fatal("BodyID must depend on the body")
	}
	if envelope.BodyID("x", []byte("a")) == envelope.BodyID("y", []byte("a")) {
		t.Fatal("BodyID must depend on the platform")
	}
	if got := envelope.BodyID(strings.Repeat("p", 63), []byte("a")); len(got) > envelope.MaxIDLength {
		t.Fatalf("BodyID too long: %d", len(got))
	}
}

func TestRawPayload(t *testing.T) {
	if got := string(envelope.RawPayload([]byte(`{"a": 1}`))); got != `{"a": 1}` {
		t.Fatalf("JSON must be kept byte for byte, got %s", got)
	}
	got := envelope.RawPayload([]byte("not json"))
	var s string
	if err := json.Unmarshal(got, &s); err != nil || s != "bm90IGpzb24=" {
		t.Fatalf("non-JSON must become a base64 string, got %s", got)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	e := sample()
	d := 59.0
	e.Data.DurationSeconds = &d
	b, err := envelope.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := envelope.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || !back.Time.Equal(e.Time) || *back.Data.DurationSeconds != 59 || string(back.Data.Raw) != `{"a":1}` {
		t.Fatalf("round trip changed the event: %s", b)
	}
}

func TestMarshalKeepsRawBytes(t *testing.T) {
	e := sample()
	e.Data.Raw = json.RawMessage("{\n  \"html\": \"<b>&</b>\",\n  \"n\": 1.50\n}")
	b, err := envelope.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}
	back, err := envelope.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Data.Raw) != string(e.Data.Raw) {
		t.Fatalf("raw changed:\n%s\nwant:\n%s", back.Data.Raw, e.Data.Raw)
	}
	if back.ID != e.ID || back.Data.ResourceID != "v1" {
		t.Fatalf("other fields lost: %s", b)
	}
}
