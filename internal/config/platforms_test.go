package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/platform"
)

func TestCheckPlatforms(t *testing.T) {
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ok := Source{Name: "acme", Platform: "standardwebhooks", Secrets: []string{whsec}}
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings of the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"unknown platform", func(c *Config) { c.Sources[0].Platform = "nope" }, []string{`sources[0] (acme).platform: unknown platform "nope"`}},
		{"name not a token", func(c *Config) { c.Sources[0].Name = "a.b" }, []string{"sources[0] (a.b).name"}},
		{"unknown canonical type", func(c *Config) { c.Sources[0].Events = map[string]string{"x": "avatar.nope"} },
			[]string{`sources[0] (acme).events["x"]: "avatar.nope" is not a canonical type`}},
		{"verifier cannot be built", func(c *Config) { c.Sources[0].Secrets = []string{"not-base64!"} }, []string{"sources[0] (acme).verify"}},
		{"window shorter than tolerance", func(c *Config) {
			c.Stream.DuplicateWindow = Duration(time.Minute)
			c.Sources[0].Tolerance = Duration(10 * time.Minute)
		}, []string{"stream.duplicate_window 1m0s is shorter than the signature tolerance 10m0s"}},
		{"every problem at once", func(c *Config) {
			c.Sources = append(c.Sources, Source{Name: "b", Platform: "nope"})
			c.Sources[0].Events = map[string]string{"x": "avatar.nope"}
		}, []string{"sources[1] (b).platform", "sources[0] (acme).events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Sources = []Source{ok}
			c.Sources[0].Secrets = []string{whsec}
			tt.edit(&c)
			err := c.CheckPlatforms(platform.Default())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckPlatforms: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckPlatforms: %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestVerifyConfigMergesOverPreset(t *testing.T) {
	p, _ := platform.Default().Lookup("heygen")
	def := p.DefaultVerify()
	s := Source{Secrets: []string{"s"}, Tolerance: Duration(time.Minute), Verify: Verify{Header: "X-Other"}}
	vc := s.VerifyConfig(p)
	if vc.Scheme != def.Scheme || vc.Header != "X-Other" || vc.Tolerance != time.Minute || len(vc.Secrets) != 1 {
		t.Errorf("merged %+v over %+v", vc, def)
	}
	s.Verify = Verify{Scheme: "token"}
	if def.Scheme != "token" {
		if vc := s.VerifyConfig(p); vc.Scheme != "token" || vc.Header == def.Header && def.Header != "" {
			t.Errorf("another scheme kept the preset's settings: %+v", vc)
		}
	}
}
