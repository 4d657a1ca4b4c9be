package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		err  string
	}{
		{in: "0", want: 0},
		{in: "1048576", want: MiB},
		{in: "1MiB", want: MiB},
		{in: "1mib", want: MiB},
		{in: "1 MiB", want: MiB},
		{in: "512KiB", want: 512 * KiB},
		{in: "50KB", want: 50_000},
		{in: "50kb", want: 50_000},
		{in: "2GiB", want: 2 * GiB},
		{in: "1GB", want: 1_000_000_000},
		{in: "1TiB", want: TiB},
		{in: "64Mi", want: 64 * MiB},
		{in: "10k", want: 10_000},
		{in: "100B", want: 100},
		{in: "1.5MiB", want: 3 * MiB / 2},
		{in: " 7 ", want: 7},
		{in: "1 MiBB", err: `"1 MiBB": unknown unit "MiBB"`},
		{in: "1XB", err: "unknown unit"},
		{in: "MiB", err: "invalid size"},
		{in: "", err: "empty size"},
		{in: "-1", err: "must not be negative"},
		{in: "1.5B", err: "not a whole number of bytes"},
		{in: "1..5MiB", err: "invalid number"},
		{in: "1.MiB", err: "invalid number"},
		{in: "99999999999TiB", err: "out of range"},
		{in: "9223372036854775808", err: "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSize(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	for s, want := range map[Size]string{
		0: "0", MiB: "1MiB", 512 * KiB: "512KiB", 50_000: "50KB", 2 * GiB: "2GiB",
		1000 * KiB: "1000KiB", 1_000_000: "1MB", 123: "123B", 64 * MiB: "64MiB",
	} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
		back, err := ParseSize(want)
		if err != nil || back != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", want, back, err, int64(s))
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "720h", want: 720 * time.Hour},
		{in: "5m", want: 5 * time.Minute},
		{in: "1500ms", want: 1500 * time.Millisecond},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "30", want: 30 * time.Second},
		{in: "0", want: 0},
		{in: "-5s", want: -5 * time.Second},
		{in: "soon", err: `"soon": invalid duration`},
		{in: "1.5", err: "invalid duration"},
		{in: "", err: "empty duration"},
		{in: "99999999999999", err: "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDuration(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.Std() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 720 * time.Hour: "720h", 2000 * time.Hour: "2000h", time.Minute: "1m", 90 * time.Minute: "1h30m",
		90 * time.Second: "1m30s", 1500 * time.Millisecond: "1.5s", time.Hour + time.Second: "1h0m1s", -time.Hour: "-1h",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	type doc struct {
		D  Duration   `yaml:"d"`
		I  Duration   `yaml:"i"`
		S  Size       `yaml:"s"`
		N  Size       `yaml:"m"`
		Z  Size       `yaml:"z"`
		DL []Duration `yaml:"dl"`
	}
	var v doc
	if err := yaml.Unmarshal([]byte("d: 1500ms\ni: 30\ns: 512 KiB\nm: 1048576\nz: 0\ndl: [5s, 2m]\n"), &v); err != nil {
		t.Fatal(err)
	}
	want := doc{D: Duration(1500 * time.Millisecond), I: Duration(30 * time.Second), S: 512 * KiB, N: MiB, DL: []Duration{Duration(5 * time.Second), Duration(2 * time.Minute)}}
	if v.D != want.D || v.I != want.I || v.S != want.S || v.N != want.N || v.Z != 0 || len(v.DL) != 2 || v.DL[1] != want.DL[1] {
		t.Errorf("decoded %+v", v)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, w := string(out), "d: 1.5s\ni: 30s\ns: 512KiB\nm: 1MiB\nz: 0\ndl:\n    - 5s\n    - 2m\n"; got != w {
		t.Errorf("marshalled:\n%s\nwant:\n%s", got, w)
	}
	var back doc
	if err := yaml.Unmarshal(out, &back); err != nil || back.S != v.S || back.D != v.D {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	err = yaml.Unmarshal([]byte("d: [1]\ns: 2 parsecs\n"), &v)
	if err == nil || !strings.Contains(err.Error(), "line 1: expected a duration") || !strings.Contains(err.Error(), `line 2: "2 parsecs": unknown unit`) {
		t.Errorf("errors = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	c := Default()
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Default().Warnings() = %q", w)
	}
	c.Sources = []Source{
		{Name: "heygen", Platform: "heygen", Secrets: []string{"s"}},
		{Name: "acme", Platform: "hmac", Verify: Verify{Scheme: "none"}},
	}
	c.NATS.TLS.InsecureSkipVerify = true
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("scheme none without secrets must be valid: %v", err)
	}
	w := c.Warnings()
	if len(w) != 2 || w[0] != "sources[1] (acme): verification is off (verify.scheme: none); anyone can post events" {
		t.Errorf("Warnings() = %q", w)
	}
}

func TestReplicasNeedCluster(t *testing.T) {
	c := Default()
	c.Stream.Replicas = 3
	wantAll(t, c.Validate(), "stream.replicas: 3 needs a NATS cluster")
	c.NATS.URL = "nats://a:4222,nats://b:4222"
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func yamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
