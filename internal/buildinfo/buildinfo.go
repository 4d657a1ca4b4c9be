// Package buildinfo says which avatarbus this is: module version, VCS commit, dirty flag, build
// time and Go version, read from the build information the Go toolchain embeds in every binary
// (runtime/debug.ReadBuildInfo). Nothing is injected with -ldflags, so `go build`, `go install` and
// the Dockerfile all report the same thing.
//
// buildinfo imports nothing of avatarbus.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Devel is the version of a binary built from a working tree (go build, go run) rather than
// installed as a module at a version (go install ...@v1.2.3); it is what the toolchain reports.
const Devel = "(devel)"

// Unknown stands for a fact the build did not record: no VCS (a tarball, -buildvcs=false) or no
// build information at all.
const Unknown = "unknown"

// Info is what a binary knows of its own build.
type Info struct {
	// Version is the module version (v1.2.3, a pseudo-version), or Devel.
	Version string
	// Commit is the VCS revision, or Unknown.
	Commit string
	// Dirty is true when the working tree had uncommitted changes at build time.
	Dirty bool
	// Time is the commit time (vcs.time: the toolchain records no build time), or zero.
	Time time.Time
	// GoVersion is the toolchain that built the binary (go1.26.8).
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: Devel, Commit: Unknown, GoVersion: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from bi; Read uses it with the running binary's.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, Commit: Unknown, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = Devel // a test binary, or a main package outside any module
	}
	if in.GoVersion == "" {
		in.GoVersion = runtime.Version()
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				in.Commit = s.Value
			}
		case "vcs.modified":
			in.Dirty = s.Value == "true"
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				in.Time = t.UTC()
			}
		}
	}
	return in
}

// ShortCommit is the commit's first 12 characters (what `git log --oneline` would show, with
// room to stay unique), "-dirty" appended when the tree was modified.
func (in Info) ShortCommit() string {
	c := in.Commit
	if len(c) > 12 && c != Unknown {
		c = c[:12]
	}
	if in.Dirty {
		c += "-dirty"
	}
	return c
}

// String is the one line `avatarbus version` prints:
//
//	avatarbus v1.2.3 (commit 0123456789ab, 2026-12-07T04:50:07Z, go1.26.8)
//	avatarbus (devel) (commit 0123456789ab-dirty, 2026-12-07T04:50:07Z, go1.26.8)
//	avatarbus (devel) (commit unknown, go1.26.8)
func (in Info) String() string {
	parts := []string{"commit " + in.ShortCommit()}
	if !in.Time.IsZero() {
		parts = append(parts, in.Time.Format(time.RFC3339))
	}
	parts = append(parts, in.GoVersion)
	return fmt.Sprintf("avatarbus %s (%s)", in.Version, strings.Join(parts, ", "))
}
