package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientConfigURL(t *testing.T) {
	tests := []struct {
		name, url, listen string
		want, wantErr     string
	}{
		{"nats.url wins", "nats://a:4222,nats://b:4222", "127.0.0.1:4222", "nats://a:4222,nats://b:4222", ""},
		{"embedded on all interfaces", "", "0.0.0.0:4333", "nats://127.0.0.1:4333", ""},
		{"embedded without host", "", ":4333", "nats://127.0.0.1:4333", ""},
		{"embedded on all v6 interfaces", "", "[::]:4333", "nats://[::1]:4333", ""},
		{"embedded on a named host", "", "nats.internal:4333", "nats://nats.internal:4333", ""},
		{"random port", "", "127.0.0.1:0", "", "random port"},
		{"no port", "", "localhost", "", "nats.embedded.listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClientConfig{Conn: ConnConfig{URL: tt.url}, EmbeddedListen: tt.listen}.URL()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("URL() = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("URL() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestClientConfigEmbeddedLogin(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nats-credentials.json")
	creds, err := NewCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCredentials(file, creds); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	given := &Credentials{Avatarbus: UserPassword{AvatarbusUser, "p"}, Consumer: UserPassword{ConsumerUser, "q"}}
	tests := []struct {
		name    string
		c       ClientConfig
		logins  int
		wantErr bool
	}{
		{"auth off", ClientConfig{CredentialsPath: file}, 0, false},
		{"own creds file", ClientConfig{EmbeddedAuth: true, Conn: ConnConfig{Creds: "x.creds"}, CredentialsPath: file}, 0, false},
		{"own user", ClientConfig{EmbeddedAuth: true, Conn: ConnConfig{User: "u"}, CredentialsPath: file}, 0, false},
		{"own token", ClientConfig{EmbeddedAuth: true, Conn: ConnConfig{Token: "t"}, CredentialsPath: file}, 0, false},
		{"given in the config", ClientConfig{EmbeddedAuth: true, Given: given, CredentialsPath: broken}, 1, false},
		{"from serve's file", ClientConfig{EmbeddedAuth: true, CredentialsPath: file}, 1, false},
		{"file not written yet", ClientConfig{EmbeddedAuth: true, CredentialsPath: filepath.Join(dir, "none.json")}, 0, false},
		{"unreadable file", ClientConfig{EmbeddedAuth: true, CredentialsPath: broken}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.embeddedLogin()
			if (err != nil) != tt.wantErr || len(got) != tt.logins {
				t.Fatalf("embeddedLogin() = %d options, %v; want %d, error %v", len(got), err, tt.logins, tt.wantErr)
			}
		})
	}
}
