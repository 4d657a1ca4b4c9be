package platform_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/platform"
)

func TestSampleWith(t *testing.T) {
	base := platform.Sample{Event: "e", Body: []byte(`{"a":{"b":1},"s":"x"}`)}
	tests := []struct {
		name    string
		sets    []string
		want    string // JSON
		wantErr string
	}{
		{name: "nothing", want: `{"a":{"b":1},"s":"x"}`},
		{name: "number", sets: []string{"a.b=2.5"}, want: `{"a":{"b":2.5},"s":"x"}`},
		{name: "string when not JSON", sets: []string{"s=hello world"}, want: `{"a":{"b":1},"s":"hello world"}`},
		{name: "creates objects", sets: []string{"c.d.e=true"}, want: `{"a":{"b":1},"c":{"d":{"e":true}},"s":"x"}`},
		{name: "replaces a scalar on the way", sets: []string{"s.t=1"}, want: `{"a":{"b":1},"s":{"t":1}}`},
		{name: "JSON object value", sets: []string{`a={"z":null}`}, want: `{"a":{"z":null},"s":"x"}`},
		{name: "later wins", sets: []string{"s=1", "s=2"}, want: `{"a":{"b":1},"s":2}`},
		{name: "no =", sets: []string{"a.b"}, wantErr: "want path=value"},
		{name: "empty path", sets: []string{"=1"}, wantErr: "want path=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.With(tt.sets...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("With(%q) error = %v, want %q", tt.sets, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotDoc, wantDoc any
			if err := json.Unmarshal(got.Body, &gotDoc); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tt.want), &wantDoc)
			if !reflect.DeepEqual(gotDoc, wantDoc) || got.Event != "e" {
				t.Fatalf("With(%q) = %s, want %s", tt.sets, got.Body, tt.want)
			}
		})
	}
	if string(base.Body) != `{"a":{"b":1},"s":"x"}` {
		t.Fatalf("With changed the original sample: %s", base.Body)
	}
	if _, err := (platform.Sample{Body: []byte(`[1]`)}).With("a=1"); err == nil {
		t.Fatal("a sample that is not an object was accepted")
	}
}
