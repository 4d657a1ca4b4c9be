package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	const rev = "98af900c1f0e2d3c4b5a69788796a5b4c3d2e1f0"
	tests := []struct {
		name       string
		bi         debug.BuildInfo
		want       Info
		wantString string
	}{
		{
			name: "go install at a version",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-07T04:50:07Z"}, {Key: "vcs.modified", Value: "false"},
			}},
			want:       Info{Version: "v1.2.3", Commit: rev, Time: time.Date(2026, 12, 7, 4, 50, 7, 0, time.UTC), GoVersion: "go1.26.8"},
			wantString: "avatarbus v1.2.3 (commit 98af900c1f0e, 2026-12-07T04:50:07Z, go1.26.8)",
		},
		{
			name: "go build in a modified checkout",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: Devel}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-07T04:50:07+01:00"}, {Key: "vcs.modified", Value: "true"},
			}},
			want:       Info{Version: Devel, Commit: rev, Dirty: true, Time: time.Date(2026, 12, 7, 3, 50, 7, 0, time.UTC), GoVersion: "go1.26.8"},
			wantString: "avatarbus (devel) (commit 98af900c1f0e-dirty, 2026-12-07T03:50:07Z, go1.26.8)",
		},
		{
			name:       "no VCS stamp (go run of a file, -buildvcs=false)",
			bi:         debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: Devel}},
			want:       Info{Version: Devel, Commit: Unknown, GoVersion: "go1.26.8"},
			wantString: "avatarbus (devel) (commit unknown, go1.26.8)",
		},
		{
			name:       "no main module version, no Go version",
			bi:         debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.time", Value: "garbage"}}},
			want:       Info{Version: Devel, Commit: Unknown, GoVersion: runtime.Version()},
			wantString: "avatarbus (devel) (commit unknown, " + runtime.Version() + ")",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromBuildInfo(&tt.bi)
			if got != tt.want {
				t.Errorf("FromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.wantString {
				t.Errorf("String = %q, want %q", s, tt.wantString)
			}
		})
	}
}

// TestRead: the test binary has build information; its version is never empty.
func TestRead(t *testing.T) {
	t.Parallel()
	in := Read()
	if in.Version == "" || in.Commit == "" || in.GoVersion == "" {
		t.Errorf("Read() = %+v: empty field", in)
	}
}
