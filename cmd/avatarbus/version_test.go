package main

import (
	"regexp"
	"testing"
)

// TestVersion: `version` and `--version` print the same one line, with the version, the commit and
// the Go version (a test binary has no module version: "(devel)").
func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^avatarbus (\(devel\)|v\S+) \(commit ([0-9a-f]{1,12}(-dirty)?|unknown)(, \S+)?, go\S+\)\n$`)
	var outs []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := runCLI(t, "", args...)
		if res.err != nil {
			t.Fatalf("%v: %v", args, res.err)
		}
		if !line.MatchString(res.stdout) {
			t.Errorf("%v printed %q", args, res.stdout)
		}
		outs = append(outs, res.stdout)
	}
	if outs[0] != outs[1] {
		t.Errorf("version %q and --version %q differ", outs[0], outs[1])
	}
	if res := runCLI(t, "", "version", "extra"); res.err == nil {
		t.Error("version with an argument: no error")
	}
}
