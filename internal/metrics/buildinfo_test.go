package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    Build
		want string
	}{
		{"release", Build{Version: "v1.2.3", Commit: "98af900c0c29", GoVersion: "go1.26.8"},
			`avatarbus_build_info{commit="98af900c0c29",go_version="go1.26.8",version="v1.2.3"} 1`},
		{"checkout", Build{Version: "(devel)", Commit: "unknown", GoVersion: "go1.26.8"},
			`avatarbus_build_info{commit="unknown",go_version="go1.26.8",version="(devel)"} 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := New(reg)
			if err := m.BuildInfo(tt.b); err != nil {
				t.Fatal(err)
			}
			want := "# HELP avatarbus_build_info Always 1; its labels say which avatarbus build is running (module version, VCS commit, Go version).\n" +
				"# TYPE avatarbus_build_info gauge\n" + tt.want + "\n"
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "avatarbus_build_info"); err != nil {
				t.Error(err)
			}
			// Registered once per registry: a second registration is a wiring bug, reported.
			if err := m.BuildInfo(tt.b); err == nil {
				t.Error("second BuildInfo: no error")
			}
		})
	}
}
