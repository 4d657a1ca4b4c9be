package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfigFile writes yaml as a config file in a temporary directory.
func writeConfigFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "avatarbus.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCallbackURL(t *testing.T) {
	cfg := writeConfigFile(t, `listen: ":9191"
sources:
  - name: did
    platform: did
    secrets: ["tok en/1", "older-token"]
  - name: tavus
    platform: tavus
    verify: {scheme: token, param: key}
    secrets: ["tavus-token"]
  - name: heygen-jobs
    platform: heygen
    verify: {scheme: token, header: X-Callback-Token}
    secrets: ["hdr-token"]
  - name: heygen
    platform: heygen
    secrets: ["whsec_x"]
`)
	tests := []struct {
		args       []string
		stdout     string
		stderrPart string
	}{
		{[]string{"did"}, "http://127.0.0.1:9191/webhooks/did?token=tok+en%2F1\n", "public https URL"},
		{[]string{"did", "--base", "https://hooks.example.com/"}, "https://hooks.example.com/webhooks/did?token=tok+en%2F1\n", ""},
		{[]string{"tavus", "--base", "https://hooks.example.com/proxy"}, "https://hooks.example.com/proxy/webhooks/tavus?key=tavus-token\n", ""},
		{[]string{"heygen-jobs", "--base", "https://hooks.example.com"}, "https://hooks.example.com/webhooks/heygen-jobs\nX-Callback-Token: hdr-token\n", "X-Callback-Token header"},
		{[]string{"heygen", "--base", "https://hooks.example.com"}, "https://hooks.example.com/webhooks/heygen\n", "verifies hmac signatures"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, "", append([]string{"callback-url", "--config", cfg}, tt.args...)...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.stdout != tt.stdout {
				t.Fatalf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderrPart) {
				t.Fatalf("stderr %q lacks %q", r.stderr, tt.stderrPart)
			}
		})
	}
	if r := runCLI(t, "", "callback-url", "--config", cfg, "nope"); r.code() == 0 || !strings.Contains(r.err.Error(), "did, tavus, heygen-jobs, heygen") {
		t.Fatalf("unknown source: %v", r.err)
	}
	if r := runCLI(t, "", "callback-url", "--config", cfg, "did", "--base", "hooks.example.com"); r.code() == 0 {
		t.Fatal("a base without a scheme was accepted")
	}
}

func TestBaseFromListen(t *testing.T) {
	for listen, want := range map[string]string{
		":8080": "http://127.0.0.1:8080", "0.0.0.0:80": "http://127.0.0.1:80", "[::]:8080": "http://127.0.0.1:8080",
		"10.0.0.5:8080": "http://10.0.0.5:8080", "[::1]:8080": "http://[::1]:8080",
	} {
		if got := baseFromListen(listen); got != want {
			t.Errorf("baseFromListen(%q) = %q, want %q", listen, got, want)
		}
	}
}
