package envelope_test

import (
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
)

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range envelope.Types() {
		if seen[typ] {
			t.Errorf("%s listed twice", typ)
		}
		seen[typ] = true
		if !envelope.Known(typ) {
			t.Errorf("%s listed but not Known", typ)
		}
	}
	tests := []struct {
		typ   string
		known bool
	}{
		{envelope.TypeVoiceTranscriptionCompleted, true},
		{"avatar.voice.transcription_completed", true},
		{envelope.TypeVoiceRemoved, true},
		{"avatar.voice.transcription_completed.elevenlabs", false}, // a subject, not a type
		{"avatar.voice.transcription", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := envelope.Known(tt.typ); got != tt.known {
			t.Errorf("Known(%q) = %v, want %v", tt.typ, got, tt.known)
		}
		if seen[tt.typ] != tt.known {
			t.Errorf("Types() lists %q: %v, want %v", tt.typ, seen[tt.typ], tt.known)
		}
	}
}
