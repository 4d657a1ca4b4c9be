package config

import "testing"

func TestTracingKeys(t *testing.T) {
	c, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tracing{Protocol: "grpc", SampleRatio: 1, ServiceName: "avatarbus"}); c.Tracing != want {
		t.Errorf("defaults %+v, want %+v (off)", c.Tracing, want)
	}
	c, err = loadYAML(t, "tracing: { enabled: true, endpoint: \"http://collector:4318\", protocol: http }\n",
		"AVATARBUS_TRACING_SAMPLE_RATIO=0.25", "AVATARBUS_TRACING_SERVICE_NAME=bus-eu")
	if err != nil {
		t.Fatal(err)
	}
	want := Tracing{Enabled: true, Endpoint: "http://collector:4318", Protocol: "http", SampleRatio: 0.25, ServiceName: "bus-eu"}
	if c.Tracing != want {
		t.Errorf("from file and env %+v, want %+v", c.Tracing, want)
	}
	for _, ok := range []string{
		"tracing: { endpoint: \"collector:4317\" }\n",
		"tracing: { endpoint: \"https://otel.example.com\", sample_ratio: 0 }\n",
		"tracing: { protocol: \"\" }\n", // grpc
	} {
		if _, err := loadYAML(t, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}

	tests := []struct {
		name, yaml string
		want       []string
	}{{
		name: "unknown protocol",
		yaml: "tracing: { protocol: thrift }\n",
		want: []string{`tracing.protocol: "thrift" is not one of grpc, http`},
	}, {
		name: "ratio above 1",
		yaml: "tracing: { sample_ratio: 1.5 }\n",
		want: []string{"tracing.sample_ratio: 1.5 must be between 0 and 1"},
	}, {
		name: "negative ratio",
		yaml: "tracing: { sample_ratio: -0.1 }\n",
		want: []string{"tracing.sample_ratio: -0.1 must be between 0 and 1"},
	}, {
		name: "endpoint without port",
		yaml: "tracing: { endpoint: collector }\n",
		want: []string{`tracing.endpoint: "collector" must be host:port or an absolute http or https URL`},
	}, {
		name: "endpoint of another scheme",
		yaml: "tracing: { endpoint: \"grpc://collector:4317\" }\n",
		want: []string{`tracing.endpoint: "grpc://collector:4317" must be host:port or an absolute http or https URL`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			wantInvalid(t, err)
			wantAll(t, err, tt.want...)
		})
	}
}
