package metrics

import "github.com/prometheus/client_golang/prometheus"

// Build is what avatarbus_build_info labels: which binary is running. The caller reads it from the
// binary's build information (package buildinfo); metrics imports nothing of avatarbus.
type Build struct {
	Version   string // module version, or "(devel)"
	Commit    string // VCS revision (short, "-dirty" when modified), or "unknown"
	GoVersion string // go1.26.8
}

// BuildInfo registers avatarbus_build_info{version, commit, go_version}, a gauge that is always 1:
// the usual Prometheus way to tell which build each replica runs (join it on instance, or count
// the versions during a rollout). It returns the registry's error when it is already registered.
func (m *Metrics) BuildInfo(b Build) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; its labels say which avatarbus build is running (module version, VCS commit, Go version).",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "go_version": b.GoVersion},
	})
	g.Set(1)
	return m.reg.Register(g)
}
