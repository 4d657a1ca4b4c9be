package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exposure is warned about at start, naming the key and never the secret; none of it is refused.
func TestHardeningWarnings(t *testing.T) {
	const long = "0123456789abcdef-long-enough" // 28 bytes
	dir := t.TempDir()
	private := writeSecretFile(t, dir, "private", long, 0o600)
	groupRead := writeSecretFile(t, dir, "group", long, 0o640)
	worldRead := writeSecretFile(t, dir, "world", long, 0o644)
	source := func(secrets string) string {
		return "sources:\n  - name: acme\n    platform: standardwebhooks\n    secrets: " + secrets + "\n"
	}
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string // substrings, each in one warning
		none []string // substrings no warning may hold
	}{
		{
			name: "long secrets by reference, loopback listeners: no warning",
			yaml: source(`["${ACME}", "@`+private+`"]`) + "admin_listen: 127.0.0.1:9090\nnats: {embedded: {listen: \"localhost:4222\"}}\n",
			env:  []string{"ACME=" + long},
		},
		{
			name: "short secret from the environment",
			yaml: source(`["${ACME}"]`),
			env:  []string{"ACME=x"},
			want: []string{"sources[0].secrets[0]: the secret is 1 bytes, shorter than 16"},
		},
		{
			name: "short whsec secret counts its decoded key",
			yaml: source(`["whsec_` + "c2hvcnQ=" + `"]`), // base64("short")
			want: []string{"sources[0].secrets[0]: the secret is 5 bytes", "sources[0].secrets[0]: a literal secret is written in the configuration file"},
			none: []string{"c2hvcnQ=", "short\""},
		},
		{
			name: "literal secret in the file, even escaped with @@",
			yaml: source(`["` + long + `", "@@` + long + `"]`),
			want: []string{"sources[0].secrets[0]: a literal secret is written", "sources[0].secrets[1]: a literal secret is written"},
			none: []string{long},
		},
		{
			name: "a literal the environment replaced is not in the file any more",
			yaml: source(`["` + long + `"]`),
			env:  []string{"AVATARBUS_SOURCES_0_SECRETS=" + long + "-from-env"},
			none: []string{"literal secret"},
		},
		{
			name: "secret files readable by group or others",
			yaml: source(`["@` + groupRead + `", "@` + worldRead + `"]`),
			want: []string{
				"sources[0].secrets[0]: secret file " + groupRead + " is readable by group (mode 0640)",
				"sources[0].secrets[1]: secret file " + worldRead + " is readable by group and others (mode 0644)",
			},
			none: []string{long},
		},
		{
			name: "admin and embedded NATS on every interface",
			yaml: source(`["${ACME}"]`) + "admin_listen: \":9090\"\nadmin_token: \"${TOK}\"\nnats: {embedded: {listen: \"0.0.0.0:4222\"}}\n",
			env:  []string{"ACME=" + long, "TOK=" + long},
			want: []string{`admin_listen ":9090" is reachable beyond this host`, `nats.embedded.listen "0.0.0.0:4222" is reachable beyond this host`},
		},
		{
			name: "embedded listen does not matter with an external cluster",
			yaml: source(`["${ACME}"]`) + "nats: {url: \"nats://n1:4222\", embedded: {listen: \"0.0.0.0:4222\"}}\n",
			env:  []string{"ACME=" + long},
			none: []string{"nats.embedded.listen"},
		},
		{
			name: "admin on a public address",
			yaml: source(`["${ACME}"]`) + "admin_listen: \"192.0.2.10:9090\"\nadmin_token: \"${TOK}\"\n",
			env:  []string{"ACME=" + long, "TOK=" + long},
			want: []string{`admin_listen "192.0.2.10:9090" is reachable beyond this host`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			writeFile(t, path, tt.yaml)
			_, warnings := mustLoad(t, LoadOptions{Path: path, Env: tt.env})
			all := strings.Join(warnings, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no warning containing %q; warnings:\n%s", w, all)
				}
			}
			for _, n := range tt.none {
				if strings.Contains(all, n) {
					t.Errorf("a warning contains %q; warnings:\n%s", n, all)
				}
			}
			if len(tt.want) == 0 && len(tt.none) == 0 && len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
		})
	}
}

func writeSecretFile(t *testing.T, dir, name, value string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}
