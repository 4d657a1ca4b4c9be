package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var updateCLI = flag.Bool("update-cli", false, "rewrite docs/cli.md from the cobra tree")

// TestCLIReferenceIsCurrent regenerates docs/cli.md in memory and compares it with the committed
// file; `go generate ./cmd/avatarbus` (this test with -update-cli) rewrites it.
func TestCLIReferenceIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCLIReference(&buf, newRootCommand()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## avatarbus serve\n", "## avatarbus dlq redrive\n", "--config"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("generated reference lacks %q", want)
		}
	}
	if *updateCLI {
		if err := os.WriteFile(cliReferencePath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(cliReferencePath)
	if err != nil {
		t.Fatalf("%v: run go generate ./cmd/avatarbus", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("docs/cli.md is stale: run go generate ./cmd/avatarbus and commit it")
	}
}
