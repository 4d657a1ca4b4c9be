package main

import (
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/platform"
)

func TestBuildSourcesWiresConfirm(t *testing.T) {
	load := func(yaml string) *config.Config {
		t.Helper()
		cfg, _, err := config.Load(config.LoadOptions{Path: writeConfigFile(t, yaml), Env: []string{"DID_API_KEY=did-key"}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := load(`sources:
  - name: did
    platform: did
    secrets: ["tok"]
    confirm: fetch
    api: {key: "${DID_API_KEY}", base: "http://127.0.0.1:1"}
  - name: tavus
    platform: tavus
    secrets: ["tok"]
`)
	sources, err := buildSources(cfg, platform.Default())
	if err != nil {
		t.Fatal(err)
	}
	if sources[0].Confirmer == nil || sources[1].Confirmer != nil {
		t.Fatalf("confirmers: did %v, tavus %v; want only did's", sources[0].Confirmer, sources[1].Confirmer)
	}

	cfg = load(`sources:
  - name: heygen-jobs
    platform: heygen
    verify: {scheme: token}
    secrets: ["tok"]
    confirm: fetch
    api: {key: "k"}
  - name: synthesia
    platform: synthesia
    secrets: ["whsec"]
    confirm: fetch
    api: {key: "k"}
`)
	_, err = buildSources(cfg, platform.Default())
	if err == nil || !strings.Contains(err.Error(), "sources[1] (synthesia).confirm") || !strings.Contains(err.Error(), "[did heygen tavus]") {
		t.Fatalf("confirm on synthesia: %v", err)
	}
	if strings.Contains(err.Error(), "heygen-jobs") {
		t.Fatalf("confirm on heygen refused: %v", err)
	}
}
