package config

import (
	"testing"
	"time"
)

func TestConnectionCapAndStorageExitKeys(t *testing.T) {
	c, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxConnections != 0 || c.HTTP.PressureIdleTimeout.Std() != time.Second || c.NATS.StorageFailureExit.Std() != 2*time.Minute {
		t.Errorf("defaults: max_connections %d, pressure_idle_timeout %s, storage_failure_exit %s; want 0 (derived), 1s, 2m",
			c.HTTP.MaxConnections, c.HTTP.PressureIdleTimeout, c.NATS.StorageFailureExit)
	}
	c, err = loadYAML(t, "http: { max_connections: 900, pressure_idle_timeout: 3s }\nnats: { storage_failure_exit: 0s }\n",
		"AVATARBUS_HTTP_MAX_CONNECTIONS=1200")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxConnections != 1200 || c.HTTP.PressureIdleTimeout.Std() != 3*time.Second || c.NATS.StorageFailureExit != 0 {
		t.Errorf("from file and env: max_connections %d, pressure_idle_timeout %s, storage_failure_exit %s; want 1200, 3s, 0s",
			c.HTTP.MaxConnections, c.HTTP.PressureIdleTimeout, c.NATS.StorageFailureExit)
	}

	tests := []struct {
		name, yaml string
		want       []string
	}{{
		name: "negative cap",
		yaml: "http: { max_connections: -1 }\n",
		want: []string{"http.max_connections: must be >= 0, 0 deriving it from the file limit (got -1)"},
	}, {
		name: "pressure idle timeout zero",
		yaml: "http: { pressure_idle_timeout: 0s }\n",
		want: []string{"http.pressure_idle_timeout: must be > 0 and <= http.idle_timeout 2m (got 0s)"},
	}, {
		name: "pressure idle timeout beyond idle timeout",
		yaml: "http: { idle_timeout: 5s, pressure_idle_timeout: 6s }\n",
		want: []string{"http.pressure_idle_timeout: must be > 0 and <= http.idle_timeout 5s (got 6s)"},
	}, {
		name: "storage failure exit too short",
		yaml: "nats: { storage_failure_exit: 2s }\n",
		want: []string{"nats.storage_failure_exit: must be 0 (never exit) or >= 10s (got 2s)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
		})
	}
}
