package config

import (
	"strings"
	"testing"
)

func TestEffectivePublishMode(t *testing.T) {
	tests := []struct {
		name, url, syncInterval, mode, want string
	}{
		{"default", "", "1s", "", PublishAsync},
		{"embedded fsync always chooses batch", "", "always", "", PublishBatch},
		{"explicit async with always is kept", "", "always", PublishAsync, PublishAsync},
		{"explicit batch", "", "1s", PublishBatch, PublishBatch},
		// The embedded server's fsync policy says nothing of an external server's.
		{"external server ignores embedded sync_interval", "nats://127.0.0.1:4222", "always", "", PublishAsync},
		{"external server, explicit batch", "nats://127.0.0.1:4222", "1s", PublishBatch, PublishBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.NATS.URL, c.NATS.Embedded.SyncInterval, c.NATS.PublishMode = tt.url, tt.syncInterval, tt.mode
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := c.NATS.EffectivePublishMode(); got != tt.want {
				t.Errorf("EffectivePublishMode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPublishModeRefusesOtherValues(t *testing.T) {
	for _, mode := range []string{"sync", "Batch", "fast"} {
		c := Default()
		c.NATS.PublishMode = mode
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), `nats.publish_mode: "`+mode+`" must be "async" or "batch"`) {
			t.Errorf("publish_mode %q: Validate() = %v", mode, err)
		}
	}
}
