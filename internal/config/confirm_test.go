package config

import (
	"os"
	"path/filepath"
	"testing"
)

// writeConfig writes yaml to a temporary avatarbus.yaml and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "avatarbus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfirmFetchNeedsAnAPIKey(t *testing.T) {
	for _, api := range []string{"", "\n    api: {base: \"https://api.d-id.com\"}", "\n    api: {key: \"  \"}"} {
		path := writeConfig(t, `
sources:
  - name: did
    platform: did
    secrets: ["tok"]
    confirm: fetch`+api+"\n")
		err := loadErr(t, LoadOptions{Path: path})
		wantInvalid(t, err)
		wantAll(t, err, "sources[0].api.key: required with confirm: fetch")
	}
}

func TestConfirmFetchAPIKeyFromFileAndReload(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "did-api-key")
	if err := os.WriteFile(keyFile, []byte("key-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, `
sources:
  - name: did
    platform: did
    secrets: ["tok"]
    confirm: fetch
    api: {key: "@`+keyFile+`"}
`)
	c, _ := mustLoad(t, LoadOptions{Path: path})
	if got := c.Sources[0].API.Key; got != "key-one" {
		t.Fatalf("api.key = %q, want the file's content", got)
	}
	if err := os.WriteFile(keyFile, []byte("key-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	next := c.Clone()
	if err := next.ResolveSecrets([]string{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := next.Sources[0].API.Key; got != "key-two" {
		t.Fatalf("api.key after re-resolving = %q, want the file's new content", got)
	}
	if c.Sources[0].API.Key != "key-one" {
		t.Fatal("re-resolving a clone changed the original")
	}
}
