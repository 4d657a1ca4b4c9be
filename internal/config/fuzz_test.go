package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "~", "[]", "listen: [a, {b: c}]", "sources: [{}]", "sources: [~]", "routes: [{backoff: ~}]",
		"a: &a [*a]", "<<: {listen: ':1'}", "<<: [{listen: ':1'}, 3]", "? [a]\n: b", "sources: [{rate_limit: 3}]",
		"stream: {max_bytes: 1e9}", "nats: {publish_timeout: .inf}", "---\n---\n", "sources: [{events: {? [x] : y}}]",
	} {
		f.Add([]byte(s))
	}
	opts := LoadOptions{
		Env:      []string{"AVATARBUS_SOURCES_0_TOLERANCE=1s", "AVATARBUS_ROUTES_0_BACKOFF=1s", "HEYGEN_WEBHOOK_SECRET=x", "DID_WEBHOOK_TOKEN=y"},
		Flags:    map[string]string{"sources[1].max_body": "2MiB"},
		ReadFile: func(string) ([]byte, error) { return nil, errors.New("no files in fuzzing") },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := load("fuzz.yaml", data, opts)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded config does not validate: %v", err)
		}
		r := c.Redacted()
		_ = r.Warnings()
	})
}
