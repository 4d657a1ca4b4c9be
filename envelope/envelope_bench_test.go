package envelope_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
)

// benchEvent is an envelope around a 1 KiB payload, the size the bench harness posts.
func benchEvent() *envelope.Event {
	raw := fmt.Appendf(nil, `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_42","note":"%s"}}`,
		bytes.Repeat([]byte("x"), 940))
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	return &envelope.Event{SpecVersion: envelope.SpecVersion, ID: "acme:msg_2Lc8cnzzYBhb9nDmWgXG1QFKZp6", Source: envelope.SourceFor("acme"),
		Type: envelope.TypeVideoCompleted, Subject: "vid_42", Time: at, DataContentType: envelope.DataContentType,
		Platform: "acme", PlatformEvent: "video.done", ReceivedAt: at,
		Data: envelope.Data{ResourceID: "vid_42", Status: "completed", Raw: envelope.RawPayload(raw)}}
}

// BenchmarkMarshal is the encoding of the bytes every stored event is published as.
func BenchmarkMarshal(b *testing.B) {
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawPayload is the validation of a 1 KiB JSON body that becomes data.raw.
func BenchmarkRawPayload(b *testing.B) {
	body := benchEvent().Data.Raw
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		envelope.RawPayload(body)
	}
}
