package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAttackSmoke builds avatarbus and runs the cheapest attack (config-warnings: one serve that
// exits after its start-up warnings), so the program keeps building and running. The whole table
// is `make attack`.
func TestAttackSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds avatarbus")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	statSources(t, root)
	bin, err := buildBinary(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := run(ctx, bin, []string{"config-warnings"}, options{timeout: 30 * time.Second}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !rows[0].ok || !strings.HasPrefix(rows[0].observed, "5/5 warned") {
		t.Fatalf("rows = %+v", rows)
	}
	var b strings.Builder
	printTable(&b, rows)
	if !strings.Contains(b.String(), "| config-warnings | ") || !strings.HasSuffix(b.String(), "| ok |\n") {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := run(ctx, bin, []string{"no-such-attack"}, options{}, io.Discard); err == nil {
		t.Error("an unknown attack name was accepted")
	}
}

// statSources stats every Go source and go.mod/go.sum of the module, so that go test's cache (which
// sees the files a test opens, not those `go build` reads) reruns this test when avatarbus changes.
func statSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			_, err = os.Stat(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
