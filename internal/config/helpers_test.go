package config

import (
	"errors"
	"strings"
	"testing"
)

// fullEnv is the environment testdata/full.yaml needs.
var fullEnv = []string{
	"HEYGEN_WEBHOOK_SECRET=heygen-secret-value",
	"DID_WEBHOOK_TOKEN=did-token-value-1",
}

// mustLoad loads opts and fails the test on error.
func mustLoad(t *testing.T, opts LoadOptions) (*Config, []string) {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{}
	}
	c, warnings, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c == nil {
		t.Fatal("Load returned a nil config without an error")
	}
	return c, warnings
}

// loadErr loads opts and returns the error, failing if there is none.
func loadErr(t *testing.T, opts LoadOptions) error {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{}
	}
	c, _, err := Load(opts)
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	if c != nil {
		t.Error("Load returned a config with its error")
	}
	return err
}

// wantAll fails unless err's message contains every substring.
func wantAll(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	msg := err.Error()
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("error does not contain %q; error:\n%s", s, msg)
		}
	}
}

// wantNone fails if err's message contains any of the substrings.
func wantNone(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range subs {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains %q; error:\n%s", s, err)
		}
	}
}

// wantInvalid fails unless err wraps ErrInvalid.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false; err: %v", err)
	}
}

// hasWarning reports whether some warning contains sub.
func hasWarning(warnings []string, sub string) bool {
	for _, w := range warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// withoutHardening drops the warnings about literal and short secrets, which TestHardeningWarnings
// tests, so a test about other warnings can count its own.
func withoutHardening(warnings []string) []string {
	var out []string
	for _, w := range warnings {
		if !strings.Contains(w, "a literal secret is written") && !strings.Contains(w, "shorter than 16") {
			out = append(out, w)
		}
	}
	return out
}
