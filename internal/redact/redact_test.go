package redact

import "testing"

func TestURLs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"no user", "nats://h:4222", "nats://h:4222"},
		{"password", "nats://u:secret@h:4222", "nats://u:redacted@h:4222"},
		{"token as user", "nats://s3cr3t@h:4222", "nats://redacted@h:4222"},
		{"list", "nats://a:4222, nats://u:p@b:4222", "nats://a:4222,nats://u:redacted@b:4222"},
		{"https route", "https://u:p@example.com/hooks?x=1", "https://u:redacted@example.com/hooks?x=1"},
		{"unparsable with user", "nats://u:p@h:port%zz", Unparsable},
		{"unparsable without user", "nats://h:%zz", "nats://h:%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URLs(tt.in); got != tt.want {
				t.Errorf("URLs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
