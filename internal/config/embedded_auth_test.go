package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedAuthDefaults(t *testing.T) {
	d := Default()
	if !d.NATS.Embedded.Auth {
		t.Error("nats.embedded.auth is off by default")
	}
	if got, want := d.NATS.Embedded.CredentialsPath(), filepath.Join("data", "jetstream", "nats-credentials.json"); got != want {
		t.Errorf("default credentials file %q, want %q", got, want)
	}
	d.NATS.Embedded.CredentialsFile = "/etc/avatarbus/nats.json"
	if got := d.NATS.Embedded.CredentialsPath(); got != "/etc/avatarbus/nats.json" {
		t.Errorf("credentials_file ignored: %q", got)
	}
	if hasWarning(d.Warnings(), "nats.embedded.auth") {
		t.Error("the default warns about auth")
	}
}

func TestEmbeddedAuthOffWarns(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        []string
		warn       bool
	}{
		{"file", "nats: { embedded: { auth: false } }\n", nil, true},
		{"environment", "", []string{"AVATARBUS_NATS_EMBEDDED_AUTH=false"}, true},
		{"external cluster: the embedded server does not run", "nats: { url: nats://n:4222, embedded: { auth: false } }\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadYAML(t, tt.yaml, tt.env...)
			if err != nil {
				t.Fatal(err)
			}
			if c.NATS.Embedded.Auth {
				t.Fatal("auth still on")
			}
			if got := hasWarning(c.Warnings(), "nats.embedded.auth: false"); got != tt.warn {
				t.Errorf("warned %v, want %v: %q", got, tt.warn, c.Warnings())
			}
		})
	}
}

func TestEmbeddedPasswords(t *testing.T) {
	c, err := loadYAML(t, "nats: { embedded: { avatarbus_password: \"${A_PW}\", consumer_password: \"${C_PW}\" } }\n",
		"A_PW=avatarbus-secret-pw", "C_PW=consumer-secret-pw")
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.Embedded.AvatarbusPassword != "avatarbus-secret-pw" || c.NATS.Embedded.ConsumerPassword != "consumer-secret-pw" {
		t.Fatalf("references not resolved: %+v", c.NATS.Embedded)
	}
	r := c.Redacted()
	if out := yamlString(t, &r); strings.Contains(out, "secret-pw") {
		t.Errorf("Redacted() shows an embedded password:\n%s", out)
	}

	tests := []struct{ name, yaml, want string }{
		{"one without the other", "nats: { embedded: { avatarbus_password: abcdefgh } }\n", "avatarbus_password and consumer_password must be set together"},
		{"the same", "nats: { embedded: { avatarbus_password: abcdefgh, consumer_password: abcdefgh } }\n", "must differ"},
		{"a bcrypt-like value", "nats: { embedded: { avatarbus_password: \"$2a$11$x\", consumer_password: abcdefgh } }\n", `nats.embedded.avatarbus_password: must not start with "$2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			wantInvalid(t, err)
			wantAll(t, err, tt.want)
		})
	}
}
