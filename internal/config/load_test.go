package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if len(c.Sources) != 0 || len(c.Routes) != 0 {
		t.Error("Default() has sources or routes")
	}
	checks := map[string]bool{
		"listen":                  c.Listen == ":8080",
		"admin_listen":            c.AdminListen == "127.0.0.1:9090",
		"nats.url":                c.NATS.URL == "",
		"nats.embedded.listen":    c.NATS.Embedded.Listen == "127.0.0.1:4222",
		"nats.embedded.store_dir": c.NATS.Embedded.StoreDir == "./data/jetstream",
		"nats.embedded.sync":      c.NATS.Embedded.SyncInterval == "1s",
		"nats.embedded.name":      c.NATS.Embedded.ServerName == "avatarbus",
		"nats.publish_timeout":    c.NATS.PublishTimeout.Std() == 1500*time.Millisecond,
		"nats.ping_interval":      c.NATS.PingInterval.Std() == 5*time.Second,
		"stream.name":             c.Stream.Name == "AVATAR",
		"stream.subject_prefix":   c.Stream.SubjectPrefix == "avatar",
		"stream.replicas":         c.Stream.Replicas == 1,
		"stream.max_age":          c.Stream.MaxAge.Std() == 720*time.Hour,
		"stream.duplicate_window": c.Stream.DuplicateWindow.Std() == 48*time.Hour,
		"stream.max_bytes":        c.Stream.MaxBytes == 0,
		"stream.attempts_max_age": c.Stream.AttemptsMaxAge.Std() == 7*24*time.Hour,
		"log.level":               c.Log.Level == "info",
		"log.format":              c.Log.Format == "",
	}
	for k, ok := range checks {
		if !ok {
			t.Errorf("Default(): %s is wrong", k)
		}
	}
}

func TestLoadFull(t *testing.T) {
	c, warnings := mustLoad(t, LoadOptions{Path: "testdata/full.yaml", Env: fullEnv})
	// full.yaml writes two secrets literally; each is named, not shown.
	want := []string{
		`sources[2].secrets[0]: a literal secret is written in the configuration file; use "${ENV_VAR}" or "@/path/to/file" so the file can be shared`,
		`routes[0].secret: a literal secret is written in the configuration file; use "${ENV_VAR}" or "@/path/to/file" so the file can be shared`,
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if len(c.Sources) != 3 || len(c.Routes) != 1 {
		t.Fatalf("got %d sources, %d routes", len(c.Sources), len(c.Routes))
	}
	heygen, did, acme := c.Sources[0], c.Sources[1], c.Sources[2]
	if got := heygen.Secrets; !reflect.DeepEqual(got, []string{"heygen-secret-value"}) {
		t.Errorf("heygen secrets = %q", got)
	}
	if got := did.Secrets; !reflect.DeepEqual(got, []string{"did-token-value-1"}) {
		t.Errorf("did secrets = %q", got)
	}
	if did.Verify.Scheme != "token" {
		t.Errorf("did verify.scheme = %q", did.Verify.Scheme)
	}
	if heygen.MaxBody != 0 || acme.MaxBody != MiB {
		t.Errorf("max_body = %v, %v; want 0 (unset: the platform's default, which serve knows) and 1MiB (explicit)", heygen.MaxBody, acme.MaxBody)
	}
	if heygen.Tolerance != 0 || acme.Tolerance.Std() != 5*time.Minute {
		t.Errorf("tolerance = %v, %v", heygen.Tolerance, acme.Tolerance)
	}
	wantEvents := map[string]string{"video.done": "avatar.video.completed", "credits.low": "avatar.account.credits_low"}
	if !reflect.DeepEqual(acme.Events, wantEvents) {
		t.Errorf("events = %v", acme.Events)
	}
	if c.Log.Format != "json" || c.Log.Level != "info" {
		t.Errorf("log = %+v", c.Log)
	}
	r := c.Routes[0]
	if r.Name != "crm" || r.Filter != "avatar.video.completed.*" || r.URL != "http://crm.internal/hooks/avatar" ||
		r.Timeout.Std() != 10*time.Second || r.MaxDeliveries != 10 || !reflect.DeepEqual(r.Backoff, DefaultBackoff()) {
		t.Errorf("route = %+v", r)
	}
	// Keys absent from the file keep their defaults.
	if c.NATS.PublishTimeout.Std() != 1500*time.Millisecond || c.NATS.Embedded.ServerName != "avatarbus" {
		t.Errorf("defaults lost: %+v", c.NATS)
	}
	wantRefs := map[string]string{
		"sources[0].secrets[0]": "${HEYGEN_WEBHOOK_SECRET}",
		"sources[1].secrets[0]": "${DID_WEBHOOK_TOKEN}",
	}
	if got := c.SecretRefs(); !reflect.DeepEqual(got, wantRefs) {
		t.Errorf("SecretRefs() = %v, want %v", got, wantRefs)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() on a loaded config = %v", err)
	}
}

func TestRouteDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	writeFile(t, path, "routes:\n  - {name: a, filter: avatar.>, url: https://x.example/h}\n")
	c, _ := mustLoad(t, LoadOptions{Path: path})
	r := c.Routes[0]
	if r.Timeout != DefaultRouteTimeout || r.MaxDeliveries != DefaultMaxDeliveries || !reflect.DeepEqual(r.Backoff, DefaultBackoff()) {
		t.Errorf("route defaults not applied: %+v", r)
	}
}

func TestInvalidFiles(t *testing.T) {
	tests := []struct {
		file    string
		want    []string
		notWant []string
	}{{
		file: "invalid_values.yaml",
		want: []string{
			`listen: missing port in address ":x"`,
			`admin_listen: missing port in address "localhost"`,
			`nats.url: "http://nats.example:4222": scheme must be nats, tls, ws or wss`,
			`nats.embedded.sync_interval: "sometimes"`,
			`nats.embedded.server_name: "two words" must not contain whitespace`,
			`nats.tls: cert and key must be set together`,
			`nats.publish_timeout: 30s exceeds the limit of 10s`,
			`nats.ping_interval: must be between 100ms and 10m (got 10ms)`,
			`stream.name: "AV.ATAR" must match [A-Za-z0-9_-]+`,
			`stream.subject_prefix: "avatar.events" must be one subject token`,
			`stream.replicas: 7 is not in 1..5`,
			`stream.duplicate_window: 2000h exceeds stream.max_age 720h`,
			`stream.attempts_max_age: must be > 0 (got -1h`,
			`sources[0].secrets: a source needs at least one secret unless verify.scheme is none`,
			`sources[1].name: duplicate of sources[0]`,
			`sources[1].secrets[1]: empty secret`,
			`sources[2].name: "Bad Name" must match ^[a-z0-9][a-z0-9_-]{0,62}$`,
			`sources[2].verify.scheme: "rot13" is not one of elevenlabs, hmac, none, standardwebhooks, synthesia, token`,
			`sources[2].verify.algorithm: "md5" is not one of sha256, sha512`,
			`sources[2].verify.encoding: "base32" is not one of hex, base64`,
			`sources[2].verify.content: "everything" is not one of body, timestamp.body, id.timestamp.body`,
			`sources[2].verify.header: "X Signature" is not a valid HTTP header name`,
			`sources[2].confirm: "always" must be "" or "fetch"`,
			`sources[2].events["video.done"]: "video.completed" must start with "avatar."`,
			`sources[2].rate_limit.rps: must be > 0`,
			`sources[2].rate_limit.burst: must be >= 1`,
			`sources[2].api.base: "ftp://api.example" must be an absolute http or https URL`,
			`sources[3].name: required`,
			`sources[3].platform: required`,
			`log.level: "loud" is not one of trace, debug, info, warn, error`,
			`log.format: "xml" is not one of json, console`,
			`routes[0].filter: required`,
			`routes[0].url: "crm.internal/hooks" must be an absolute http or https URL`,
			`routes[0].timeout: must be > 0`,
			`routes[0].backoff[1]: must be > 0`,
			`routes[0].max_deliveries: must be >= 1`,
			`routes[1].name: duplicate of routes[0]`,
			`routes[1].filter: "avatar.>.x" may use '>' only as the last token`,
		},
		notWant: []string{"sources[1].secrets:", "routes[1].url", "routes[1].timeout"},
	}, {
		file: "invalid_window.yaml",
		want: []string{
			`stream.duplicate_window: 1m is shorter than sources[0].tolerance 5m`,
			`sources[1].tolerance: must be >= 0 (got -1s)`,
		},
		notWant: []string{"sources[1].secrets"},
	}, {
		file: "invalid_keys.yaml",
		want: []string{
			`invalid_keys.yaml: line 1: listn: unknown key (did you mean "listen"?)`,
			`invalid_keys.yaml: line 3: nats.embeded: unknown key (did you mean "embedded"?)`,
			`invalid_keys.yaml: line 9: sources[0].secret: unknown key (did you mean "secrets"?)`,
			`invalid_keys.yaml: line 10: sources[0].verify.hedaer: unknown key (did you mean "header"?)`,
			`invalid_keys.yaml: line 13: stream.name: duplicate key (first set on line 12)`,
		},
		notWant: []string{"not found in type"},
	}, {
		file: "invalid_types.yaml",
		want: []string{
			`line 2: nats.publish_timeout: "soon": invalid duration`,
			`line 4: stream.replicas: cannot unmarshal !!str ` + "`many`" + ` into int`,
			`line 5: stream.max_bytes: "1 MiBB": unknown unit`,
			`line 6: stream.max_age: expected a duration`,
			`line 10: sources[0].secrets: cannot unmarshal !!str`,
			`line 11: sources[0].max_body: "-5MiB": size must not be negative`,
			`line 12: sources[0].tolerance: "5 minutes": invalid duration`,
			`line 13: sources[0].rate_limit.rps: cannot unmarshal !!str ` + "`fast`",
			`line 15: routes: expected a list, got a mapping`,
		},
		// Only the cause is reported, not what follows from the default left in place.
		notWant: []string{"sources[0].secrets: a source needs at least one secret"},
	}, {
		file: "invalid_syntax.yaml",
		want: []string{`invalid_syntax.yaml: line 2: did not find expected`},
	}, {
		file: "invalid_toplevel.yaml",
		want: []string{`invalid_toplevel.yaml: line 1: top level: expected a mapping, got a list`},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := loadErr(t, LoadOptions{Path: filepath.Join("testdata", tt.file)})
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
			wantNone(t, err, tt.notWant...)
			// Every problem is reported once.
			seen := map[string]bool{}
			for _, line := range strings.Split(err.Error(), "\n")[1:] {
				if seen[line] {
					t.Errorf("problem reported twice: %s", line)
				}
				seen[line] = true
			}
		})
	}
}

func TestWindowWarning(t *testing.T) {
	_, warnings, _ := Load(LoadOptions{Path: "testdata/invalid_window.yaml", Env: []string{}})
	if !hasWarning(warnings, "sources[1] (open): verification is off (verify.scheme: none); anyone can post events") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestStrictDecodeAcceptsMergeKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, `
x-route: &route
  filter: avatar.>
  timeout: 3s
routes:
  - <<: *route
    name: a
    url: https://a.example/
`)
	// x-route is not a key of Config: strict decoding rejects it.
	err := loadErr(t, LoadOptions{Path: path})
	wantAll(t, err, `line 2: x-route: unknown key`)
	wantNone(t, err, "routes[0]")
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, `
routes:
  - &base
    name: a
    filter: avatar.>
    url: https://a.example/
    timeout: 3s
  - <<: *base
    name: b
    bogus: 1
`)
	err := loadErr(t, LoadOptions{Path: path})
	wantAll(t, err, "line 10: routes[1].bogus: unknown key")
	writeFile(t, path, `
routes:
  - &base
    name: a
    filter: avatar.>
    url: https://a.example/
    timeout: 3s
  - <<: *base
    name: b
`)
	c, _ := mustLoad(t, LoadOptions{Path: path})
	if c.Routes[1].Name != "b" || c.Routes[1].Timeout.Std() != 3*time.Second || c.Routes[1].URL != "https://a.example/" {
		t.Errorf("merged route = %+v", c.Routes[1])
	}
}

func TestMultipleDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, "listen: \":1\"\n---\nlisten: \":2\"\n")
	err := loadErr(t, LoadOptions{Path: path})
	wantInvalid(t, err)
	wantAll(t, err, "only one YAML document is allowed")
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, "# nothing here\n")
	c, _ := mustLoad(t, LoadOptions{Path: path})
	if c.Listen != ":8080" {
		t.Errorf("listen = %q", c.Listen)
	}
}

func TestMissingFile(t *testing.T) {
	_, _, err := Load(LoadOptions{Path: filepath.Join(t.TempDir(), "nope.yaml"), Env: []string{}})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestDefaultPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// No avatarbus.yaml: defaults.
	c, _ := mustLoad(t, LoadOptions{})
	if c.Listen != ":8080" {
		t.Errorf("listen = %q", c.Listen)
	}
	writeFile(t, filepath.Join(dir, DefaultPath), "listen: \":7070\"\n")
	c, _ = mustLoad(t, LoadOptions{})
	if c.Listen != ":7070" {
		t.Errorf("avatarbus.yaml not read: listen = %q", c.Listen)
	}
}

func TestErrorsAreIndividuallyReachable(t *testing.T) {
	c := Default()
	c.Listen = ""
	c.Log.Level = "loud"
	err := c.Validate()
	wantInvalid(t, err)
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) {
		t.Fatal("Validate error does not unwrap to a list")
	}
	if !strings.HasPrefix(err.Error(), "invalid configuration (2 problems):\n") {
		t.Errorf("error = %q", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
