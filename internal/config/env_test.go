package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	env := append([]string{
		"AVATARBUS_LISTEN=:9000",
		"AVATARBUS_NATS_URL=nats://nats.internal:4222",
		"AVATARBUS_NATS_EMBEDDED_STORE_DIR=/var/lib/avatarbus",
		"AVATARBUS_NATS_TLS_INSECURE_SKIP_VERIFY=true",
		"AVATARBUS_STREAM_DUPLICATE_WINDOW=2h",
		"AVATARBUS_STREAM_REPLICAS=3",
		"AVATARBUS_STREAM_MAX_BYTES=2GiB",
		"AVATARBUS_LOG_LEVEL=debug",
		"AVATARBUS_SOURCES_0_SECRETS=[one, two ,three]",
		"AVATARBUS_SOURCES_1_TOLERANCE=90",
		"AVATARBUS_SOURCES_0_VERIFY_HEADER=X-Sig",
		"AVATARBUS_SOURCES_2_RATE_LIMIT_RPS=2.5",
		"AVATARBUS_SOURCES_2_RATE_LIMIT_BURST=10",
		"AVATARBUS_SOURCES_2_EVENTS={a: avatar.a}",
		"AVATARBUS_ROUTES_0_BACKOFF=1s,1m",
		"AVATARBUS_ROUTES_0_URL=https://other.example/x",
	}, fullEnv...)
	c, warnings := mustLoad(t, LoadOptions{Path: "testdata/full.yaml", Env: env})
	got := map[string]any{
		"listen":            c.Listen,
		"nats.url":          c.NATS.URL,
		"store_dir":         c.NATS.Embedded.StoreDir,
		"insecure":          c.NATS.TLS.InsecureSkipVerify,
		"duplicate_window":  c.Stream.DuplicateWindow.Std(),
		"replicas":          c.Stream.Replicas,
		"max_bytes":         c.Stream.MaxBytes,
		"log.level":         c.Log.Level,
		"sources0.secrets":  c.Sources[0].Secrets,
		"sources1.tol":      c.Sources[1].Tolerance.Std(),
		"sources0.header":   c.Sources[0].Verify.Header,
		"sources2.rl":       *c.Sources[2].RateLimit,
		"sources2.events":   c.Sources[2].Events,
		"routes0.backoff":   c.Routes[0].Backoff,
		"routes0.url":       c.Routes[0].URL,
		"sources1.secrets0": c.Sources[1].Secrets[0],
	}
	want := map[string]any{
		"listen":            ":9000",
		"nats.url":          "nats://nats.internal:4222",
		"store_dir":         "/var/lib/avatarbus",
		"insecure":          true,
		"duplicate_window":  2 * time.Hour,
		"replicas":          3,
		"max_bytes":         2 * GiB,
		"log.level":         "debug",
		"sources0.secrets":  []string{"one", "two", "three"},
		"sources1.tol":      90 * time.Second,
		"sources0.header":   "X-Sig",
		"sources2.rl":       RateLimit{RPS: 2.5, Burst: 10},
		"sources2.events":   map[string]string{"a": "avatar.a"},
		"routes0.backoff":   []Duration{Duration(time.Second), Duration(time.Minute)},
		"routes0.url":       "https://other.example/x",
		"sources1.secrets0": "did-token-value-1",
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if !hasWarning(warnings, "nats.tls.insecure_skip_verify") || len(withoutHardening(warnings)) != 1 {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestEnvBadValues(t *testing.T) {
	err := loadErr(t, LoadOptions{Path: "testdata/full.yaml", Env: append([]string{
		"AVATARBUS_STREAM_REPLICAS=three",
		"AVATARBUS_STREAM_MAX_AGE=forever",
		"AVATARBUS_SOURCES_2_MAX_BODY=1 MiBB",
		"AVATARBUS_NATS_TLS_INSECURE_SKIP_VERIFY=maybe",
		"AVATARBUS_ROUTES_0_BACKOFF=1s,soon",
		"AVATARBUS_ROUTES_0_MAX_DELIVERIES=",
	}, fullEnv...)})
	wantInvalid(t, err)
	wantAll(t, err,
		"environment variable AVATARBUS_STREAM_REPLICAS (stream.replicas): cannot unmarshal !!str `three` into int",
		`environment variable AVATARBUS_STREAM_MAX_AGE (stream.max_age): "forever": invalid duration`,
		`environment variable AVATARBUS_SOURCES_2_MAX_BODY (sources[2].max_body): "1 MiBB": unknown unit`,
		`environment variable AVATARBUS_NATS_TLS_INSECURE_SKIP_VERIFY (nats.tls.insecure_skip_verify): cannot unmarshal`,
		`environment variable AVATARBUS_ROUTES_0_BACKOFF (routes[0].backoff): item 1: "soon": invalid duration`,
		`environment variable AVATARBUS_ROUTES_0_MAX_DELIVERIES (routes[0].max_deliveries): empty value`,
	)
}

func TestEnvWarnings(t *testing.T) {
	env := []string{
		"AVATARBUS_LISTN=:1",                           // typo: matches nothing
		"AVATARBUS_SOURCES_5_SECRETS=x",                // there is no sources[5]
		"AVATARBUS_HEYGEN_SECRET=s3cr3t-s3cr3t-s3cr3t", // the user's own, referenced below
		"AVATARBUS_SOURCES_0_RATE_LIMIT_RPS=1",         // a key under a nil pointer
		"AVATARBUS_SOURCES_0_RATE_LIMIT_BURST=1",
		"DID_WEBHOOK_TOKEN=a-token-of-32-bytes-0123456789ab",
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, `
sources:
  - name: heygen
    platform: heygen
    secrets: ["${AVATARBUS_HEYGEN_SECRET}"]
  - name: did
    platform: did
    secrets: ["${DID_WEBHOOK_TOKEN}"]
`)
	c, warnings := mustLoad(t, LoadOptions{Path: path, Env: env})
	if !hasWarning(warnings, "environment variable AVATARBUS_LISTN matches no configuration key; ignored") {
		t.Errorf("no warning for AVATARBUS_LISTN: %q", warnings)
	}
	if !hasWarning(warnings, "environment variable AVATARBUS_SOURCES_5_SECRETS ignored: there is no sources[5] (the configuration has 2)") {
		t.Errorf("no warning for AVATARBUS_SOURCES_5_SECRETS: %q", warnings)
	}
	if hasWarning(warnings, "AVATARBUS_HEYGEN_SECRET") {
		t.Errorf("warned about a referenced variable: %q", warnings)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q, want 2", warnings)
	}
	if c.Sources[0].Secrets[0] != "s3cr3t-s3cr3t-s3cr3t" {
		t.Error("referenced AVATARBUS_ variable not resolved")
	}
	if c.Sources[0].RateLimit == nil || *c.Sources[0].RateLimit != (RateLimit{RPS: 1, Burst: 1}) {
		t.Errorf("rate_limit = %+v", c.Sources[0].RateLimit)
	}
	if c.Sources[1].RateLimit != nil {
		t.Error("rate_limit allocated for a source the environment did not mention")
	}
}

func TestFlagOverrides(t *testing.T) {
	c, _ := mustLoad(t, LoadOptions{
		Path: "testdata/full.yaml",
		Env:  fullEnv,
		Flags: map[string]string{
			"listen":                  ":9000",
			"nats.url":                "nats://n1:4222,nats://n2:4222",
			"nats.embedded.store_dir": "/tmp/x",
			"log.level":               "debug",
			"sources[2].tolerance":    "10m",
			"sources.0.secrets":       `["a","b"]`,
			"routes[0].timeout":       "3s",
		},
	})
	if c.Listen != ":9000" || c.NATS.URL != "nats://n1:4222,nats://n2:4222" || c.NATS.Embedded.StoreDir != "/tmp/x" ||
		c.Log.Level != "debug" || c.Sources[2].Tolerance.Std() != 10*time.Minute ||
		!reflect.DeepEqual(c.Sources[0].Secrets, []string{"a", "b"}) || c.Routes[0].Timeout.Std() != 3*time.Second {
		t.Errorf("flags not applied: %+v", c)
	}
}

func TestFlagErrors(t *testing.T) {
	err := loadErr(t, LoadOptions{
		Path: "testdata/full.yaml",
		Env:  fullEnv,
		Flags: map[string]string{
			"nats.ulr":             "x",
			"sources[9].tolerance": "1s",
			"stream.replicas":      "lots",
		},
	})
	wantInvalid(t, err)
	wantAll(t, err,
		`flag "nats.ulr": no such configuration key`,
		`flag "sources[9].tolerance": no such configuration key`,
		"flag \"stream.replicas\" (stream.replicas): cannot unmarshal !!str `lots` into int",
	)
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, "listen: \":1001\"\nadmin_listen: \"127.0.0.1:1002\"\nlog: {level: warn}\n")
	env := []string{"AVATARBUS_LISTEN=:2001", "AVATARBUS_ADMIN_LISTEN=127.0.0.1:2002", "AVATARBUS_NATS_EMBEDDED_SERVER_NAME=env"}
	flags := map[string]string{"listen": ":3001"}
	c, _ := mustLoad(t, LoadOptions{Path: path, Env: env, Flags: flags})
	for _, tt := range []struct{ name, got, want string }{
		{"flag > env > file > default", c.Listen, ":3001"},
		{"env > file > default", c.AdminListen, "127.0.0.1:2002"},
		{"env > default", c.NATS.Embedded.ServerName, "env"},
		{"file > default", c.Log.Level, "warn"},
		{"default", c.Stream.Name, "AVATAR"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestEnvNilMeansProcessEnvironment(t *testing.T) {
	t.Setenv("AVATARBUS_LISTEN", ":4321")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), "")
	c, _, err := Load(LoadOptions{Path: filepath.Join(dir, "c.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":4321" {
		t.Errorf("listen = %q, want the process environment's", c.Listen)
	}
}

func TestWalkKeysNames(t *testing.T) {
	c := Default()
	c.Sources = []Source{{}}
	keys := walkKeys(&c)
	byEnv := map[string]key{}
	for _, k := range keys {
		byEnv[k.env] = k
	}
	for env, path := range map[string]string{
		"AVATARBUS_LISTEN":                        "listen",
		"AVATARBUS_NATS_EMBEDDED_STORE_DIR":       "nats.embedded.store_dir",
		"AVATARBUS_STREAM_DUPLICATE_WINDOW":       "stream.duplicate_window",
		"AVATARBUS_SOURCES_0_VERIFY_HEADER":       "sources[0].verify.header",
		"AVATARBUS_SOURCES_0_API_KEY":             "sources[0].api.key",
		"AVATARBUS_SOURCES_0_SECRETS":             "sources[0].secrets",
		"AVATARBUS_NATS_TLS_INSECURE_SKIP_VERIFY": "nats.tls.insecure_skip_verify",
	} {
		if k, ok := byEnv[env]; !ok || k.path != path {
			t.Errorf("%s: got %+v, want path %s", env, k.path, path)
		}
	}
	if _, ok := byEnv["AVATARBUS_SOURCES_1_NAME"]; ok {
		t.Error("keys for a source that does not exist")
	}
	if c.Sources[0].API != nil {
		t.Error("walking allocated a nil pointer")
	}
}
