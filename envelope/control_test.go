package envelope_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/envelope"
)

func TestValidateRefusesControlCharactersInSubject(t *testing.T) {
	tests := []struct {
		id      string
		invalid bool
	}{
		{"v1", false},
		{"vidéo-✓", false}, // printable non-ASCII is fine
		{"v\x00", true},
		{"v\r\nInjected: yes", true},
		{"\x1b[2J\x07v", true}, // terminal escape and bell
		{"v\tw", true},
		{"v\x7f", true},
		{"v\u0085", true}, // C1: next line
	}
	for _, tt := range tests {
		e := sample()
		e.Subject, e.Data.ResourceID = tt.id, tt.id
		err := e.Validate()
		if got := err != nil; got != tt.invalid {
			t.Errorf("%q: Validate() = %v, want invalid=%v", tt.id, err, tt.invalid)
			continue
		}
		if tt.invalid && (!errors.Is(err, envelope.ErrInvalid) || !strings.Contains(err.Error(), "subject: contains control characters") ||
			!strings.Contains(err.Error(), "data.resource_id: contains control characters")) {
			t.Errorf("%q: error %v, want subject and data.resource_id named", tt.id, err)
		}
	}
}
