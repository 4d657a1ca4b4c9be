package config

import (
	"strings"
	"testing"
)

func TestAdminAPIEnabled(t *testing.T) {
	tests := []struct {
		listen, token string
		want          bool
		warnSuffix    bool // the admin_listen warning says the API stays off
	}{
		{"127.0.0.1:9090", "", true, false},
		{"[::1]:9090", "", true, false},
		{"localhost:9090", "", true, false},
		{"0.0.0.0:9090", "", false, true},
		{":9090", "", false, true},
		{"10.0.0.5:9090", "", false, true},
		{"0.0.0.0:9090", "tok", true, false},
		{"127.0.0.1:9090", "tok", true, false},
	}
	for _, tt := range tests {
		c := &Config{AdminListen: tt.listen, AdminToken: tt.token}
		if got := c.AdminAPIEnabled(); got != tt.want {
			t.Errorf("%q token %q: enabled %v, want %v", tt.listen, tt.token, got, tt.want)
		}
		var off bool
		for _, w := range hardeningWarnings(c, nil) {
			if strings.HasPrefix(w, "admin_listen") && strings.Contains(w, "admin API stays off") {
				off = true
			}
		}
		if off != tt.warnSuffix {
			t.Errorf("%q token %q: warning says API off = %v, want %v", tt.listen, tt.token, off, tt.warnSuffix)
		}
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
