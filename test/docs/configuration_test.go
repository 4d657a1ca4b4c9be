package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/internal/config"
)

// configKey is one leaf of the configuration: its documented name (`sources[].verify.scheme`)
// and its default as the config package writes it.
type configKey struct {
	name  string
	value reflect.Value
}

// configKeys walks a config value by its yaml tags: nested structs and pointers to structs are
// followed, a slice of structs is walked through its first element as `name[].x`, and anything
// else (scalars, maps, lists of scalars) is a leaf.
func configKeys(prefix string, v reflect.Value) []configKey {
	var keys []configKey
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + tag
		fv := v.Field(i)
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct:
			keys = append(keys, configKeys(name+".", fv)...)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			if fv.IsNil() {
				fv = reflect.New(ft.Elem())
			}
			keys = append(keys, configKeys(name+".", fv.Elem())...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			if fv.Len() == 0 {
				panic("configKeys: give " + name + " one element to walk")
			}
			keys = append(keys, configKeys(name+"[].", fv.Index(0))...)
		default:
			keys = append(keys, configKey{name: name, value: fv})
		}
	}
	return keys
}

// defaultConfig is config.Default() with one source and one route whose list-item defaults
// ApplyDefaults filled in, so that every key has the default the package gives it.
func defaultConfig() config.Config {
	c := config.Default()
	c.Sources = []config.Source{{}}
	c.Routes = []config.Route{{}}
	c.ApplyDefaults()
	return c
}

// formatDefault writes a default the way docs/configuration.md shows it; zero is "" for the
// values whose zero means "not set" (strings, lists, maps).
func formatDefault(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Slice {
		return s.String()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return fmt.Sprint(v.Interface())
	case reflect.Slice:
		if v.Len() == 0 {
			return ""
		}
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = formatDefault(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
	}
	panic(fmt.Sprintf("formatDefault: no format for %s", v.Type()))
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// referenceRows reads the table under "## Reference" in docs/configuration.md: key → default cell.
func referenceRows(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Reference\n")
	if !ok {
		t.Fatal(`docs/configuration.md has no "## Reference" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 3 {
			t.Errorf("docs/configuration.md: row %q: want | key | default | meaning |", line)
			continue
		}
		key := strings.Trim(strings.TrimPrefix(cells[0], "| "), "`")
		if _, dup := rows[key]; dup {
			t.Errorf("docs/configuration.md: %s documented twice", key)
		}
		rows[key] = cells[1]
	}
	return rows
}

// checkDefault says what is wrong with a documented default cell, or "".
// A set default must be the cell's first code span, exactly as the package writes it. An unset
// string, list or map must be described, not given a value: the cell starts with "empty",
// "none" or "required" (and may say what takes its place, e.g. "empty: the preset's").
func checkDefault(want, cell string) string {
	if want == "" {
		for _, w := range []string{"empty", "none", "required"} {
			if strings.HasPrefix(cell, w) {
				return ""
			}
		}
		return fmt.Sprintf("default %q: an unset key's default starts with empty, none or required", cell)
	}
	m := codeSpan.FindStringSubmatch(cell)
	if m == nil || m[1] != want {
		return fmt.Sprintf("default %q, want it to start with `%s` (config.Default / ApplyDefaults)", cell, want)
	}
	return ""
}

func TestConfigurationReference(t *testing.T) {
	c := defaultConfig()
	keys := configKeys("", reflect.ValueOf(c))
	if len(keys) < 60 {
		t.Fatalf("only %d config keys found: is the walk broken?", len(keys))
	}
	rows := referenceRows(t)
	known := map[string]bool{}
	for _, k := range keys {
		known[k.name] = true
		cell, ok := rows[k.name]
		if !ok {
			t.Errorf("docs/configuration.md: no row for config key %s (default %q)", k.name, formatDefault(k.value))
			continue
		}
		if msg := checkDefault(formatDefault(k.value), cell); msg != "" {
			t.Errorf("docs/configuration.md: %s: %s", k.name, msg)
		}
	}
	for key := range rows {
		if !known[key] {
			t.Errorf("docs/configuration.md documents %s, which is no key of internal/config.Config", key)
		}
	}
}

func TestConfigKeysWalk(t *testing.T) {
	keys := map[string]string{}
	for _, k := range configKeys("", reflect.ValueOf(defaultConfig())) {
		keys[k.name] = formatDefault(k.value)
	}
	for name, want := range map[string]string{
		"listen":                              ":8080",
		"nats.publish_timeout":                "1.5s",
		"nats.embedded.auth":                  "true",
		"stream.max_bytes":                    "0",
		"quarantine.max_bytes":                "256MiB",
		"sources[].verify.scheme":             "",
		"sources[].rate_limit.unverified.rps": "0",
		"sources[].api.key":                   "",
		"sources[].events":                    "",
		"routes[].backoff":                    "[5s, 30s, 2m, 10m, 30m]",
		"routes[].max_deliveries":             "10",
	} {
		got, ok := keys[name]
		if !ok {
			t.Errorf("key %s not found", name)
		} else if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, tc := range []struct{ want, cell, problem string }{
		{"1s", "`1s`", ""},
		{"1s", "`2s`", "want"},
		{"", "empty: the preset's", ""},
		{"", "`x`", "starts with empty"},
		{"0", "`0`: derived", ""},
	} {
		got := checkDefault(tc.want, tc.cell)
		if (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
			t.Errorf("checkDefault(%q, %q) = %q, want a problem containing %q", tc.want, tc.cell, got, tc.problem)
		}
	}
}
