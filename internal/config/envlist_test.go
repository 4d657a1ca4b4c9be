package config

import (
	"reflect"
	"testing"
	"time"
)

// A secret may hold a comma: the environment splits a secrets list only where it is written as a
// flow sequence (a JSON array), never on a comma inside a value.
func TestEnvSecretsListForms(t *testing.T) {
	tests := []struct {
		name, value string
		want        []string
	}{
		{"one value with a comma is one secret", "tok,en", []string{"tok,en"}},
		{"spaces and commas kept verbatim", " a, b ", []string{" a, b "}},
		{"JSON array", `["tok,en","other"]`, []string{"tok,en", "other"}},
		{"YAML flow sequence", "[one, two]", []string{"one", "two"}},
		{"a reference", "${HEYGEN_WEBHOOK_SECRET}", []string{"heygen-secret-value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, via := range []string{"env", "flag"} {
				opts := LoadOptions{Path: "testdata/full.yaml", Env: fullEnv}
				if via == "env" {
					opts.Env = append([]string{"AVATARBUS_SOURCES_0_SECRETS=" + tt.value}, fullEnv...)
				} else {
					opts.Flags = map[string]string{"sources[0].secrets": tt.value}
				}
				c, _ := mustLoad(t, opts)
				if got := c.Sources[0].Secrets; !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: secrets = %q, want %q", via, got, tt.want)
				}
			}
		})
	}
}

// Durations cannot hold a comma, so a backoff list still takes comma-separated items.
func TestEnvDurationListSplitsOnCommas(t *testing.T) {
	for _, v := range []string{"1s,1m", "[1s, 1m]"} {
		c, _ := mustLoad(t, LoadOptions{Path: "testdata/full.yaml", Env: append([]string{"AVATARBUS_ROUTES_0_BACKOFF=" + v}, fullEnv...)})
		if want := []Duration{Duration(time.Second), Duration(time.Minute)}; !reflect.DeepEqual(c.Routes[0].Backoff, want) {
			t.Errorf("%q: backoff = %v, want %v", v, c.Routes[0].Backoff, want)
		}
	}
}
