package config

import "testing"

// TestOffloadKeys: offload_above reads like max_body from the file and the environment, both stay
// 0 when unset (the platform's default, resolved by serve), and both are capped at 256MiB.
func TestOffloadKeys(t *testing.T) {
	const src = `
sources:
  - name: eleven
    platform: elevenlabs
    secrets: ["wsec_x"]
  - name: acme
    platform: standardwebhooks
    secrets: ["whsec_x"]
    max_body: 200MiB
    offload_above: 2MiB
`
	c, err := loadYAML(t, src, "AVATARBUS_SOURCES_0_OFFLOAD_ABOVE=1MiB")
	if err != nil {
		t.Fatal(err)
	}
	eleven, acme := c.Sources[0], c.Sources[1]
	if eleven.MaxBody != 0 || eleven.OffloadAbove != MiB {
		t.Errorf("eleven: max_body %v offload_above %v; want 0 (platform default) and 1MiB (env)", eleven.MaxBody, eleven.OffloadAbove)
	}
	if acme.MaxBody != 200*MiB || acme.OffloadAbove != 2*MiB {
		t.Errorf("acme: max_body %v offload_above %v; want 200MiB and 2MiB", acme.MaxBody, acme.OffloadAbove)
	}
	if got := c.ObjectsBucket(); got != "AVATAR_OBJECTS" {
		t.Errorf("ObjectsBucket() = %q", got)
	}

	tests := []struct {
		name, yaml string
		want       []string
	}{{
		name: "over the cap",
		yaml: `{ max_body: 257MiB, offload_above: 300MiB }`,
		want: []string{"sources[0].max_body: 257MiB exceeds the limit of 256MiB", "sources[0].offload_above: 300MiB exceeds the limit of 256MiB"},
	}, {
		name: "negative",
		yaml: `{ offload_above: -1 }`,
		want: []string{`sources[0].offload_above: "-1": size must not be negative`},
	}, {
		name: "unknown key",
		yaml: `{ offload_abov: 1MiB }`,
		want: []string{`sources[0].offload_abov: unknown key (did you mean "offload_above"?)`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "sources:\n  - name: a\n    platform: hmac\n    secrets: [x]\n    <<: " + tt.yaml + "\n"
			_, err := loadYAML(t, y)
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
		})
	}
	// A config built in code is checked the same way.
	cfg := Default()
	cfg.Sources = []Source{{Name: "a", Platform: "hmac", Secrets: []string{"x"}, MaxBody: -1, OffloadAbove: -2}}
	cfg.ApplyDefaults()
	err = cfg.Validate()
	wantAll(t, err, "sources[0].max_body: must be >= 0 (got -1)", "sources[0].offload_above: must be >= 0 (got -2)")
}
