package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api.key")
	writeFile(t, keyFile, "file-secret\n\n")
	path := filepath.Join(dir, "c.yaml")
	writeFile(t, path, `
nats:
  url: nats://nats.internal:4222
  user: avatarbus
  password: "${NATS_PASSWORD}"
sources:
  - name: heygen
    platform: heygen
    secrets: ["${HEYGEN_WEBHOOK_SECRET}", "@`+keyFile+`", "@@starts-with-at", "literal"]
    api: { key: "@`+keyFile+`" }
routes:
  - name: crm
    filter: avatar.>
    url: https://crm.example/h
    secret: "${ROUTE_SECRET}"
`)
	env := []string{"NATS_PASSWORD=np", "HEYGEN_WEBHOOK_SECRET=hs", "ROUTE_SECRET=rs"}
	c, _ := mustLoad(t, LoadOptions{Path: path, Env: env})
	s := c.Sources[0]
	if got := strings.Join(s.Secrets, "|"); got != "hs|file-secret|@starts-with-at|literal" {
		t.Errorf("secrets = %q", got)
	}
	if s.API.Key != "file-secret" || c.NATS.Password != "np" || c.Routes[0].Secret != "rs" {
		t.Errorf("api.key = %q, nats.password = %q, routes[0].secret = %q", s.API.Key, c.NATS.Password, c.Routes[0].Secret)
	}
	refs := c.SecretRefs()
	if refs["sources[0].secrets[1]"] != "@"+keyFile || refs["nats.password"] != "${NATS_PASSWORD}" {
		t.Errorf("SecretRefs() = %v", refs)
	}
	if _, ok := refs["sources[0].secrets[3]"]; ok {
		t.Error("a literal secret is listed as a reference")
	}

	// Rotation: ResolveSecrets re-reads the references.
	writeFile(t, keyFile, "rotated\n")
	env2 := []string{"NATS_PASSWORD=np2", "HEYGEN_WEBHOOK_SECRET=hs2", "ROUTE_SECRET=rs2"}
	if err := c.ResolveSecrets(env2, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Sources[0].Secrets, "|"); got != "hs2|rotated|@starts-with-at|literal" {
		t.Errorf("after ResolveSecrets: secrets = %q", got)
	}
	if c.Sources[0].API.Key != "rotated" || c.NATS.Password != "np2" || c.Routes[0].Secret != "rs2" {
		t.Error("ResolveSecrets did not re-read every reference")
	}

	// A failed re-resolution leaves the config unchanged.
	err := c.ResolveSecrets([]string{"NATS_PASSWORD=np3"}, nil)
	wantInvalid(t, err)
	wantAll(t, err, "sources[0].secrets[0]: environment variable HEYGEN_WEBHOOK_SECRET is not set",
		"routes[0].secret: environment variable ROUTE_SECRET is not set")
	if c.NATS.Password != "np2" || c.Sources[0].Secrets[0] != "hs2" {
		t.Error("a failed ResolveSecrets changed the config")
	}

	// A value changed since resolution is taken as it now is.
	c.Routes[0].Secret = "set-in-code"
	if err := c.ResolveSecrets(env2, nil); err != nil {
		t.Fatal(err)
	}
	if c.Routes[0].Secret != "set-in-code" {
		t.Errorf("routes[0].secret = %q, want the value set in code", c.Routes[0].Secret)
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, " \n\t\n")
	missing := filepath.Join(dir, "missing")
	path := filepath.Join(dir, "c.yaml")
	writeFile(t, path, `
nats: { token: "${EMPTY_TOKEN}" }
sources:
  - name: heygen
    platform: heygen
    secrets: ["${HEYGEN_WEBHOOK_SECRET}", "@`+empty+`", "@`+missing+`", "@"]
    api: { key: "${API_KEY}" }
`)
	err := loadErr(t, LoadOptions{Path: path, Env: []string{"EMPTY_TOKEN=", "API_KEY=fine"}})
	wantInvalid(t, err)
	wantAll(t, err,
		"sources[0].secrets[0]: environment variable HEYGEN_WEBHOOK_SECRET is not set",
		"nats.token: environment variable EMPTY_TOKEN is not set (empty value)",
		`sources[0].secrets[1]: secret file "`+empty+`" is empty`,
		`sources[0].secrets[2]: reading secret file "`+missing+`": no such file or directory`,
		`sources[0].secrets[3]: secret file reference "@" has no path`,
	)
	wantNone(t, err, "fine")
}

func TestSecretReadFileOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, "sources: [{name: a, platform: hmac, secrets: ['@/run/secrets/a', '@/run/secrets/broken']}]\n")
	readFile := func(name string) ([]byte, error) {
		if name == "/run/secrets/a" {
			return []byte("from-readfile\r\n"), nil
		}
		return []byte("TOP-SECRET-CONTENT"), errors.New("permission denied")
	}
	err := loadErr(t, LoadOptions{Path: path, ReadFile: readFile})
	wantAll(t, err, `sources[0].secrets[1]: reading secret file "/run/secrets/broken": permission denied`)
	wantNone(t, err, "TOP-SECRET-CONTENT", "from-readfile")

	writeFile(t, path, "sources: [{name: a, platform: hmac, secrets: ['@/run/secrets/a']}]\n")
	c, _ := mustLoad(t, LoadOptions{Path: path, ReadFile: readFile})
	if c.Sources[0].Secrets[0] != "from-readfile" {
		t.Errorf("secret = %q", c.Sources[0].Secrets[0])
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	// Problems on secret-bearing keys must not echo the secrets.
	writeFile(t, path, `
nats: { token: tok-SECRET-1, creds: /x.creds, url: "nats://user:pw-SECRET-2@nats:4222" }
routes:
  - { name: r, filter: "a b", url: "https://u:pw-SECRET-3@h.example/x", secret: "rt-SECRET-4" }
  - { name: r, filter: a, url: "ftp://u:pw-SECRET-5@h.example/x" }
`)
	err := loadErr(t, LoadOptions{Path: path})
	wantAll(t, err, "nats: creds, user/password and token are mutually exclusive", "routes[1].url")
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks a secret:\n%s", err)
	}
}

func TestRedacted(t *testing.T) {
	c, _ := mustLoad(t, LoadOptions{Path: "testdata/full.yaml", Env: fullEnv})
	c.NATS.URL = "nats://user:hunter2@nats:4222"
	c.NATS.Token = "tok"
	c.Sources[0].API = &API{Base: "https://api.example", Key: "api-key"}
	r := c.Redacted()
	out := yamlString(t, &r)
	for _, secret := range []string{"heygen-secret-value", "did-token-value-1", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hunter2", "tok\n", "api-key"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted() output contains %q:\n%s", secret, out)
		}
	}
	if r.Sources[0].Secrets[0] != "[redacted]" || r.Routes[0].Secret != "[redacted]" || r.Sources[0].API.Key != "[redacted]" {
		t.Errorf("not redacted: %+v", r.Sources[0])
	}
	if r.NATS.Password != "" {
		t.Error("an empty secret became non-empty")
	}
	// The original is untouched.
	if c.Sources[0].Secrets[0] != "heygen-secret-value" || c.Sources[0].API.Key != "api-key" || c.NATS.URL != "nats://user:hunter2@nats:4222" {
		t.Error("Redacted modified the original")
	}
	if len(r.SecretRefs()) != 0 {
		t.Error("a redacted copy keeps secret references")
	}
}

func TestResolveSecretsNilEnv(t *testing.T) {
	t.Setenv("AVATARBUS_TEST_SECRET", "from-process")
	c := Default()
	c.NATS.Token = "${AVATARBUS_TEST_SECRET}"
	if err := c.ResolveSecrets(nil, nil); err != nil {
		t.Fatal(err)
	}
	if c.NATS.Token != "from-process" {
		t.Errorf("token = %q", c.NATS.Token)
	}
	if err := os.Unsetenv("AVATARBUS_TEST_SECRET"); err != nil {
		t.Fatal(err)
	}
	wantAll(t, c.ResolveSecrets(nil, nil), "nats.token: environment variable AVATARBUS_TEST_SECRET is not set")
}
