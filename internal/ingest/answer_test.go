package ingest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAcceptedAnswerIsWhatEncodingJSONWrites: the hand-written 200 body is byte for byte what
// json.Encoder (c.JSON) writes, and anything that would need escaping is left to encoding/json.
func TestAcceptedAnswerIsWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	for _, a := range []accepted{
		{ID: "acme:msg_1", Duplicate: true, Type: "avatar.video.completed", Subject: "avatar.video.completed.acme", Stream: "AVATAR", Seq: 18446744073709551615},
		{ID: "heygen:sha256:0a1b", Type: "avatar.unrecognized", Subject: "avatar.unrecognized.heygen", Stream: "S", Seq: 0},
		{},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(a); err != nil {
			t.Fatal(err)
		}
		got, ok := a.appendJSON(nil)
		if !ok || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendJSON = %q (%v), encoding/json writes %q", got, ok, want.Bytes())
		}
	}
	for _, id := range []string{`a"b`, `a\b`, "a<b", "a>b", "a&b", "a\nb", "é", "\x7f"} {
		a := accepted{ID: id}
		if _, ok := a.appendJSON(nil); ok {
			t.Errorf("appendJSON wrote id %q itself; it needs escaping", id)
		}
	}
}
