package subjects

import "testing"

func TestRootedSubjects(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"dead letter", DeadLetter("avatar.video.completed.heygen"), "dlq.avatar.video.completed.heygen"},
		{"dead-letter filter", DeadLetterFilter("avatar"), "dlq.avatar.>"},
		{"under a prefix", Under("replay.debug", "avatar.video.completed.heygen"), "replay.debug.avatar.video.completed.heygen"},
		{"under a prefix with a dot", Under("replay.debug.", "avatar.x.y"), "replay.debug.avatar.x.y"},
		{"quarantine subjects", QuarantineSubjects("avatar")[0], "quarantine.avatar.>"},
		{"attempts filter", AttemptsFilter("acme"), "attempts.acme.>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
