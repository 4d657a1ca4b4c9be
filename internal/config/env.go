package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the name of every environment override.
const EnvPrefix = "AVATARBUS_"

// key is one overridable leaf of a Config, found by walkKeys.
type key struct {
	path string               // dotted path as in messages: "sources[0].secrets"
	flag string               // dotted path with dotted indices: "sources.0.secrets"
	env  string               // environment variable: "AVATARBUS_SOURCES_0_SECRETS"
	get  func() reflect.Value // the addressable field; allocates nil pointers on the way
}

// segment is one step of a key's path: a field name, or an index if idx >= 0.
type segment struct {
	name string
	idx  int
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// isStructLike reports whether t is walked into rather than set as a whole.
func isStructLike(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Pointer, reflect.Slice:
		e := t.Elem()
		return e.Kind() == reflect.Struct && !reflect.PointerTo(e).Implements(unmarshalerType)
	}
	return false
}

// yamlFields lists the YAML-visible fields of struct type t: name and index.
func yamlFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if name := yamlName(f); name == "-" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// yamlName is the YAML key of field f.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

// walkKeys lists every overridable leaf of c: one walker over the yaml tags
// for both environment variables and flags. Slices of structs contribute
// the elements that exist in c; nil pointers to structs contribute their
// fields, allocated on first write.
func walkKeys(c *Config) []key {
	var keys []key
	root := reflect.ValueOf(c).Elem()
	walk(root, func() reflect.Value { return root }, nil, &keys)
	return keys
}

// walk visits cur (which may be invalid below a nil pointer); get returns
// the addressable value, allocating pointers as needed.
func walk(cur reflect.Value, get func() reflect.Value, segs []segment, keys *[]key) {
	t := cur.Type()
	switch {
	case !isStructLike(t):
		*keys = append(*keys, newKey(segs, get))
	case t.Kind() == reflect.Struct:
		for _, f := range yamlFields(t) {
			f := f
			s := append(segs[:len(segs):len(segs)], segment{name: yamlName(f), idx: -1})
			walk(cur.FieldByIndex(f.Index), func() reflect.Value { return get().FieldByIndex(f.Index) }, s, keys)
		}
	case t.Kind() == reflect.Pointer:
		var elem reflect.Value
		if cur.IsNil() {
			elem = reflect.New(t.Elem()).Elem() // a stand-in to walk the type
		} else {
			elem = cur.Elem()
		}
		walk(elem, func() reflect.Value {
			p := get()
			if p.IsNil() {
				p.Set(reflect.New(t.Elem()))
			}
			return p.Elem()
		}, segs, keys)
	case t.Kind() == reflect.Slice:
		for i := 0; i < cur.Len(); i++ {
			i := i
			s := append(segs[:len(segs):len(segs)], segment{idx: i})
			walk(cur.Index(i), func() reflect.Value { return get().Index(i) }, s, keys)
		}
	}
}

// newKey names a leaf in its three spellings.
func newKey(segs []segment, get func() reflect.Value) key {
	var path, flag, env strings.Builder
	env.WriteString(EnvPrefix)
	for i, s := range segs {
		if s.idx >= 0 {
			fmt.Fprintf(&path, "[%d]", s.idx)
		} else {
			if i > 0 {
				path.WriteByte('.')
			}
			path.WriteString(s.name)
		}
		if i > 0 {
			flag.WriteByte('.')
			env.WriteByte('_')
		}
		if s.idx >= 0 {
			flag.WriteString(strconv.Itoa(s.idx))
			env.WriteString(strconv.Itoa(s.idx))
		} else {
			flag.WriteString(s.name)
			env.WriteString(strings.ToUpper(s.name))
		}
	}
	return key{path: path.String(), flag: flag.String(), env: env.String(), get: get}
}

// setValue parses s into v with the YAML decoder, so every type reads the
// same as in the file. Strings are taken verbatim; lists take a YAML flow
// sequence (a JSON array is one: ["tok,en","other"]); otherwise a list of
// strings takes s as its one item, since a string (a secret) may hold a
// comma, and other lists (durations) take comma-separated items, which
// cannot hold one. Maps take a YAML flow mapping.
func setValue(v reflect.Value, s string) error {
	t := v.Type()
	switch {
	case t.Kind() == reflect.String && !reflect.PointerTo(t).Implements(unmarshalerType):
		v.SetString(s)
		return nil
	case t.Kind() == reflect.Slice && !reflect.PointerTo(t).Implements(unmarshalerType):
		trimmed := strings.TrimSpace(s)
		if strings.HasPrefix(trimmed, "[") {
			return decodeInto(v, trimmed)
		}
		if trimmed == "" {
			v.Set(reflect.Zero(t))
			return nil
		}
		if t.Elem().Kind() == reflect.String {
			// Verbatim, like a string key: "tok,en" is one secret, never "tok" and "en".
			out := reflect.MakeSlice(t, 1, 1)
			out.Index(0).SetString(s)
			v.Set(out)
			return nil
		}
		parts := strings.Split(s, ",")
		out := reflect.MakeSlice(t, len(parts), len(parts))
		var errs []error
		for i, p := range parts {
			if err := setValue(out.Index(i), strings.TrimSpace(p)); err != nil {
				errs = append(errs, fmt.Errorf("item %d: %w", i, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		v.Set(out)
		return nil
	case t.Kind() == reflect.Map:
		if strings.TrimSpace(s) == "" {
			v.Set(reflect.Zero(t))
			return nil
		}
		return decodeInto(v, s)
	}
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty value")
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	tmp := reflect.New(t)
	if err := n.Decode(tmp.Interface()); err != nil {
		return errors.New(yamlMessage(err))
	}
	if n.ShortTag() == "!!null" {
		return fmt.Errorf("%q is not a valid %s", s, typeName(t))
	}
	v.Set(tmp.Elem())
	return nil
}

// decodeInto decodes YAML text s into a fresh value of v's type and stores it.
func decodeInto(v reflect.Value, s string) error {
	tmp := reflect.New(v.Type())
	if err := yaml.Unmarshal([]byte(s), tmp.Interface()); err != nil {
		return errors.New(yamlMessage(err))
	}
	v.Set(tmp.Elem())
	return nil
}

// lineRE matches the "line N: " prefix of YAML decoder messages.
var lineRE = regexp.MustCompile(`^line (\d+): `)

// yamlMessage flattens a YAML error into one line without line numbers
// (which mean nothing for a single value).
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = lineRE.ReplaceAllString(m, "")
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// typeName names a field type for messages.
func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "duration"
	case reflect.TypeFor[Size]():
		return "size"
	}
	return t.Kind().String()
}

// indexedEnvRE matches an environment override of a list element.
var indexedEnvRE = regexp.MustCompile(`^` + EnvPrefix + `([A-Z]+)_(\d+)_`)

// applyEnv applies AVATARBUS_* overrides from env to c. Bad values are
// errors; variables that match no key are returned as unmatched.
func applyEnv(c *Config, keys []key, env map[string]string) (unmatched []string, errs []error) {
	byEnv := make(map[string]key, len(keys))
	for _, k := range keys {
		byEnv[k.env] = k
	}
	names := make([]string, 0, len(env))
	for name := range env {
		if strings.HasPrefix(name, EnvPrefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		k, ok := byEnv[name]
		if !ok {
			unmatched = append(unmatched, name)
			continue
		}
		if err := setValue(k.get(), env[name]); err != nil {
			errs = append(errs, &problem{path: k.path, msg: fmt.Sprintf("environment variable %s (%s): %v", name, k.path, err)})
		}
	}
	return unmatched, errs
}

// envWarning explains why an AVATARBUS_ variable was ignored.
func envWarning(c *Config, name string) string {
	if m := indexedEnvRE.FindStringSubmatch(name); m != nil {
		list := strings.ToLower(m[1])
		n := -1
		switch list {
		case "sources":
			n = len(c.Sources)
		case "routes":
			n = len(c.Routes)
		}
		if i, err := strconv.Atoi(m[2]); err == nil && n >= 0 && i >= n {
			return fmt.Sprintf("environment variable %s ignored: there is no %s[%d] (the configuration has %d); the environment can override list items but not add them", name, list, i, n)
		}
	}
	return fmt.Sprintf("environment variable %s matches no configuration key; ignored", name)
}

// flagIndexRE matches "[n]" in a flag key.
var flagIndexRE = regexp.MustCompile(`\[(\d+)\]`)

// applyFlags applies dotted-key overrides; an unknown key is an error.
func applyFlags(keys []key, flags map[string]string) []error {
	byFlag := make(map[string]key, len(keys))
	for _, k := range keys {
		byFlag[k.flag] = k
	}
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		norm := strings.ToLower(flagIndexRE.ReplaceAllString(strings.TrimSpace(name), ".$1"))
		k, ok := byFlag[norm]
		if !ok {
			errs = append(errs, fmt.Errorf("flag %q: no such configuration key (or list item)", name))
			continue
		}
		if err := setValue(k.get(), flags[name]); err != nil {
			errs = append(errs, &problem{path: k.path, msg: fmt.Sprintf("flag %q (%s): %v", name, k.path, err)})
		}
	}
	return errs
}
