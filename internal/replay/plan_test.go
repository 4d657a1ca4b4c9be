package replay

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTimeOrAgo(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30m":                         now.Add(-30 * time.Minute),
		"2h":                          now.Add(-2 * time.Hour),
		"7d":                          now.Add(-7 * 24 * time.Hour),
		"2026-04-30T10:00:00Z":        time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC),
		"2026-04-30T12:00:00.5+02:00": time.Date(2026, 4, 30, 10, 0, 0, 5e8, time.UTC),
	} {
		got, err := ParseTimeOrAgo(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "-1h", "d", "1.5d", "yesterday", "2026-04-30"} {
		if _, err := ParseTimeOrAgo(in, now); !errors.Is(err, ErrTime) || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("%q: %v, want ErrTime quoting the input", in, err)
		}
	}
}

func TestNewSelection(t *testing.T) {
	tests := []struct {
		name                  string
		filter, platform, typ string
		wantFilter, wantType  string
		wantErr               string
	}{
		{"everything", "", "", "", "avatar.>", "", ""},
		{"short type", "", "", "video.completed", "avatar.video.completed.*", "avatar.video.completed", ""},
		{"full type and platform", "", "heygen", "avatar.video.completed", "avatar.video.completed.heygen", "avatar.video.completed", ""},
		{"filter kept", "avatar.video.>", "acme", "", "avatar.video.>", "", ""},
		{"unknown type", "", "", "video.done", "", "", "not a canonical type"},
		{"filter outside", "dlq.avatar.>", "", "", "", "", "outside the stream's subjects"},
		{"bad platform", "", "a.b", "", "", "", "platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := NewSelection("AVATAR", "avatar", tt.filter, tt.platform, tt.typ)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrInvalid saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || sel.Type != tt.wantType || sel.normalized().Filter != tt.wantFilter {
				t.Fatalf("%+v, %v; want filter %q, type %q", sel, err, tt.wantFilter, tt.wantType)
			}
		})
	}
}

func TestCheckSubjectPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		live   bool
		bad    bool
	}{
		{"replay.debug", false, false},
		{"replay.debug.", false, false},
		{"avatar.copy", true, false},
		{"live.copy", true, false}, // the configured prefix
		{"replay..x", false, true},
		{"replay.*", false, true},
		{"", false, true},
	}
	for _, tt := range tests {
		err := CheckSubjectPrefix(tt.prefix, "live")
		switch {
		case tt.live && !errors.Is(err, ErrLivePrefix):
			t.Errorf("%q: %v, want ErrLivePrefix", tt.prefix, err)
		case tt.bad && (err == nil || errors.Is(err, ErrLivePrefix)):
			t.Errorf("%q: %v, want an invalid-token error", tt.prefix, err)
		case !tt.live && !tt.bad && err != nil:
			t.Errorf("%q: %v, want none", tt.prefix, err)
		}
	}
}
