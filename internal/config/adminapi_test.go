package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminAPIEnabled(t *testing.T) {
	tests := []struct {
		listen, token string
		want          bool
	}{
		{"127.0.0.1:9090", "", true},
		{"[::1]:9090", "", true},
		{"localhost:9090", "", true},
		{"0.0.0.0:9090", "", false},
		{":9090", "", false},
		{"10.0.0.5:9090", "", false},
		{"0.0.0.0:9090", "tok", true},
		{"127.0.0.1:9090", "tok", true},
	}
	for _, tt := range tests {
		c := &Config{AdminListen: tt.listen, AdminToken: tt.token}
		if got := c.AdminAPIEnabled(); got != tt.want {
			t.Errorf("%q token %q: enabled %v, want %v", tt.listen, tt.token, got, tt.want)
		}
	}
}

// DESIGN §12: a non-loopback admin_listen without admin_token is refused, by Load (so serve,
// healthcheck and every command that reads the file say so before starting).
func TestNonLoopbackAdminListenNeedsToken(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        []string
		refused    bool
		says       []string // what the refusal says; default: the admin_listen problem
	}{
		{"loopback without token", `admin_listen: "127.0.0.1:9090"`, nil, false, nil},
		{"every interface without token", `admin_listen: "0.0.0.0:9090"`, nil, true, nil},
		{"empty host without token", `admin_listen: ":9090"`, nil, true, nil},
		{"public address without token", `admin_listen: "192.0.2.10:9090"`, nil, true, nil},
		{"every interface, token from env", "admin_listen: \"0.0.0.0:9090\"\nadmin_token: \"${TOK}\"", []string{"TOK=s3cret-admin-token"}, false, nil},
		{"every interface, token env empty", "admin_listen: \"0.0.0.0:9090\"\nadmin_token: \"${TOK}\"", []string{"TOK="}, true, []string{"admin_token: environment variable TOK is not set"}},
		{"every interface by AVATARBUS_ADMIN_LISTEN", `admin_listen: "127.0.0.1:9090"`, []string{"AVATARBUS_ADMIN_LISTEN=0.0.0.0:9090"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			writeFile(t, path, "sources:\n  - name: acme\n    platform: standardwebhooks\n    secrets: [\"${ACME}\"]\n"+tt.yaml+"\n")
			_, _, err := Load(LoadOptions{Path: path, Env: append([]string{"ACME=" + strings.Repeat("k", 32)}, tt.env...)})
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load = %v, want an error wrapping ErrInvalid", err)
			}
			says := tt.says
			if says == nil {
				says = []string{"admin_listen: ", "admin_token is empty", "127.0.0.1"}
			}
			for _, want := range says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestAdminTokenIsASecret(t *testing.T) {
	c := &Config{AdminToken: "${ADMIN_TOK}"}
	if err := c.ResolveSecrets([]string{"ADMIN_TOK=from-env"}, nil); err != nil {
		t.Fatal(err)
	}
	if c.AdminToken != "from-env" {
		t.Errorf("admin_token resolved to %q, want from-env", c.AdminToken)
	}
	if r := c.Redacted(); r.AdminToken == "from-env" || r.AdminToken == "" {
		t.Errorf("redacted admin_token %q", r.AdminToken)
	}
}
