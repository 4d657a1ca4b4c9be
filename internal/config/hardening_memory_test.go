package config

import (
	"testing"
	"time"
)

// TestBodyBudgetAndUnverifiedKeys: http.max_body_bytes_in_flight (0 = sized for the machine),
// http.body_wait and rate_limit.unverified are read from YAML and the environment, and default
// as documented.
func TestBodyBudgetAndUnverifiedKeys(t *testing.T) {
	c, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxBodyBytesInFlight != 0 || c.HTTP.BodyWait.Std() != time.Second {
		t.Fatalf("defaults: max_body_bytes_in_flight %s, body_wait %s; want 0 (sized for the machine) and 1s",
			c.HTTP.MaxBodyBytesInFlight, c.HTTP.BodyWait)
	}
	c, err = loadYAML(t, `
http: { max_body_bytes_in_flight: 512MiB }
sources:
  - name: acme
    platform: standardwebhooks
    secrets: ["whsec_x"]
    rate_limit: { rps: 4, burst: 8, unverified: { rps: 0.5, burst: 2 } }
`, "AVATARBUS_HTTP_BODY_WAIT=2s")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxBodyBytesInFlight != 512*MiB || c.HTTP.BodyWait.Std() != 2*time.Second {
		t.Errorf("http = %+v", c.HTTP)
	}
	if u := c.Sources[0].RateLimit.Unverified; u.RPS != 0.5 || u.Burst != 2 {
		t.Errorf("rate_limit.unverified = %+v", u)
	}
}

func TestBodyBudgetAndUnverifiedValidation(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{{
		name: "budget below 1MiB",
		yaml: "http: { max_body_bytes_in_flight: 512KiB }\n",
		want: []string{"http.max_body_bytes_in_flight: 512KiB is below 1MiB"},
	}, {
		name: "body wait out of range",
		yaml: "http: { body_wait: 0s }\n",
		want: []string{"http.body_wait: 0s is not in (0s, 10s]"},
	}, {
		name: "body wait too long",
		yaml: "http: { body_wait: 30s }\n",
		want: []string{"http.body_wait: 30s is not in (0s, 10s]"},
	}, {
		name: "negative unverified budget",
		yaml: `
sources:
  - name: acme
    platform: standardwebhooks
    secrets: ["whsec_x"]
    rate_limit: { rps: 4, burst: 8, unverified: { rps: -1, burst: -2 } }
`,
		want: []string{"sources[0].rate_limit.unverified.rps: must be > 0, or 0 for rps/4 (got -1)",
			"sources[0].rate_limit.unverified.burst: must be >= 1, or 0 for burst/4 (got -2)"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
		})
	}
}
