package config

import (
	"path/filepath"
	"testing"
	"time"
)

// loadYAML writes yaml to a temporary file and loads it with env.
func loadYAML(t *testing.T, yaml string, env ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "avatarbus.yaml")
	writeFile(t, path, yaml)
	if env == nil {
		env = []string{}
	}
	c, _, err := Load(LoadOptions{Path: path, Env: env})
	return c, err
}

func TestQuarantineAndHTTPDefaults(t *testing.T) {
	c := Default()
	q, h := c.Quarantine, c.HTTP
	if !q.Enabled || q.Stream != "" || q.MaxAge.Std() != 72*time.Hour || q.MaxBytes != 256*MiB || q.Replicas != 0 {
		t.Errorf("quarantine defaults = %+v", q)
	}
	if c.QuarantineStream() != "AVATAR_QUARANTINE" || c.QuarantineReplicas() != 1 {
		t.Errorf("derived quarantine stream %q replicas %d", c.QuarantineStream(), c.QuarantineReplicas())
	}
	if h.ReadHeaderTimeout.Std() != 5*time.Second || h.ReadTimeout.Std() != 30*time.Second ||
		h.WriteTimeout.Std() != 30*time.Second || h.IdleTimeout.Std() != 120*time.Second || h.MaxHeaderBytes != 64*KiB {
		t.Errorf("http defaults = %+v", h)
	}
}

func TestQuarantineAndHTTPFromFileAndEnv(t *testing.T) {
	c, err := loadYAML(t, `
nats: { url: "nats://a:4222" }
stream: { name: EVENTS, replicas: 3 }
quarantine: { max_age: 24h, max_bytes: 64MiB }
http: { read_header_timeout: 2s, idle_timeout: 30s, max_header_bytes: 16KiB }
`, "AVATARBUS_HTTP_READ_TIMEOUT=10s")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Quarantine.Enabled {
		t.Error("a quarantine block without enabled turned quarantine off")
	}
	if c.QuarantineStream() != "EVENTS_QUARANTINE" || c.QuarantineReplicas() != 3 {
		t.Errorf("derived stream %q replicas %d, want EVENTS_QUARANTINE and stream.replicas", c.QuarantineStream(), c.QuarantineReplicas())
	}
	if c.Quarantine.MaxAge.Std() != 24*time.Hour || c.Quarantine.MaxBytes != 64*MiB {
		t.Errorf("quarantine = %+v", c.Quarantine)
	}
	h := c.HTTP
	if h.ReadHeaderTimeout.Std() != 2*time.Second || h.ReadTimeout.Std() != 10*time.Second ||
		h.WriteTimeout.Std() != 30*time.Second || h.IdleTimeout.Std() != 30*time.Second || h.MaxHeaderBytes != 16*KiB {
		t.Errorf("http = %+v", h)
	}

	c, err = loadYAML(t, "quarantine: { stream: REFUSED, replicas: 1 }\n", "AVATARBUS_QUARANTINE_ENABLED=false")
	if err != nil {
		t.Fatal(err)
	}
	if c.Quarantine.Enabled || c.QuarantineStream() != "REFUSED" {
		t.Errorf("quarantine = %+v", c.Quarantine)
	}
}

func TestOpsKeysValidation(t *testing.T) {
	source := func(rateLimit string) string {
		return `
sources:
  - name: acme
    platform: standardwebhooks
    secrets: ["whsec_x"]
    rate_limit: ` + rateLimit + "\n"
	}
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{{
		name: "negative rps",
		yaml: source("{ rps: -1, burst: 5 }"),
		want: []string{"sources[0].rate_limit.rps: must be > 0 (got -1)"},
	}, {
		name: "zero burst with rps",
		yaml: source("{ rps: 10 }"),
		want: []string{"sources[0].rate_limit.burst: must be >= 1 (got 0)"},
	}, {
		name: "empty rate limit",
		yaml: source("{}"),
		want: []string{"sources[0].rate_limit.rps: must be > 0 (got 0)", "sources[0].rate_limit.burst: must be >= 1 (got 0)"},
	}, {
		name: "unknown keys",
		yaml: source("{ rsp: 10, burst: 5 }") + `
quarantine: { max_agee: 1h }
http: { read_header_timout: 1s }
`,
		want: []string{
			`sources[0].rate_limit.rsp: unknown key (did you mean "rps"?)`,
			`quarantine.max_agee: unknown key (did you mean "max_age"?)`,
			`http.read_header_timout: unknown key (did you mean "read_header_timeout"?)`,
		},
	}, {
		name: "quarantine limits",
		yaml: "quarantine: { max_age: 0s, max_bytes: 0, replicas: 3 }\n",
		want: []string{
			"quarantine.max_age: must be > 0 (got 0s)",
			"quarantine.max_bytes: must be > 0 (got 0)",
			"quarantine.replicas: 3 needs a NATS cluster (nats.url)",
		},
	}, {
		name: "quarantine replicas out of range",
		yaml: "nats: { url: nats://a:4222 }\nquarantine: { replicas: -1 }\n",
		want: []string{"quarantine.replicas: -1 is not in 0..5"},
	}, {
		name: "quarantine stream is the event stream",
		yaml: "quarantine: { stream: AVATAR }\n",
		want: []string{`quarantine.stream: "AVATAR" is stream.name`},
	}, {
		name: "quarantine stream name",
		yaml: "quarantine: { stream: bad.name }\n",
		want: []string{`quarantine.stream: "bad.name" must match`},
	}, {
		name: "prefix collides with the quarantine",
		yaml: "stream: { subject_prefix: quarantine }\n",
		want: []string{`stream.subject_prefix: "quarantine" collides with the quarantine's subjects`},
	}, {
		name: "http timeouts",
		yaml: "http: { read_header_timeout: 0s, idle_timeout: -1s, max_header_bytes: 100 }\n",
		want: []string{
			"http.read_header_timeout: must be > 0 (got 0s)",
			"http.idle_timeout: must be > 0 (got -1s)",
			"http.max_header_bytes: 100B is not in 1KiB..1MiB",
		},
	}, {
		name: "header timeout beyond read timeout",
		yaml: "http: { read_header_timeout: 40s, read_timeout: 30s }\n",
		want: []string{"http.read_header_timeout: 40s exceeds http.read_timeout 30s"},
	}, {
		name: "write timeout within publish timeout",
		yaml: "nats: { publish_timeout: 2s }\nhttp: { write_timeout: 2s }\n",
		want: []string{"http.write_timeout: 2s must exceed nats.publish_timeout 2s"},
	}, {
		name: "bad value from the environment",
		env:  []string{"AVATARBUS_HTTP_IDLE_TIMEOUT=forever"},
		want: []string{`AVATARBUS_HTTP_IDLE_TIMEOUT (http.idle_timeout): "forever": invalid duration`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml+"\n", tt.env...)
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
		})
	}
}

func TestDisabledQuarantineIsNotChecked(t *testing.T) {
	c, err := loadYAML(t, "stream: { subject_prefix: quarantine }\nquarantine: { enabled: false, max_bytes: 0 }\n")
	if err != nil {
		t.Fatalf("a disabled quarantine's keys must not be checked: %v", err)
	}
	if c.Quarantine.Enabled {
		t.Error("enabled: false ignored")
	}
}
