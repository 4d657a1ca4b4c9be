package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadOptions tells Load where its layers come from.
type LoadOptions struct {
	// Path is the configuration file; "" means DefaultPath in the working
	// directory if it exists, else no file.
	Path string
	// Env is the environment as os.Environ gives it ("K=V"); nil means
	// os.Environ().
	Env []string
	// Flags maps dotted keys ("listen", "nats.url", "sources[0].tolerance")
	// to values set by command-line flags; applied last.
	Flags map[string]string
	// ReadFile reads files named by "@path" secret references; nil means
	// os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Load builds the configuration from Default(), the file, the environment
// and the flags, resolves secret references, applies per-item defaults and
// validates the result.
//
// It returns the configuration, warnings (to be logged even on error), and
// an error. An unreadable file is returned as the read error (so
// errors.Is(err, fs.ErrNotExist) works); every other problem — in the file,
// the environment, the flags, the secret references or the values — is
// reported at once, in an error wrapping ErrInvalid. The configuration is
// nil when the error is not.
func Load(opts LoadOptions) (*Config, []string, error) {
	path := opts.Path
	if path == "" {
		if st, err := os.Stat(DefaultPath); err == nil && !st.IsDir() {
			path = DefaultPath
		}
	}
	var data []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		data = b
	}
	return load(path, data, opts)
}

// load is Load after the file has been read; name is "" for no file.
func load(name string, data []byte, opts LoadOptions) (*Config, []string, error) {
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	lookup := envLookup(env)
	cfg := Default()
	var problems []error
	if name != "" {
		errs, fatal := decodeFile(&cfg, name, data)
		problems = append(problems, errs...)
		if fatal {
			return nil, nil, invalid(problems)
		}
	}

	fromFile := yamlLiterals(&cfg)
	keys := walkKeys(&cfg)
	unmatched, errs := applyEnv(&cfg, keys, lookup)
	problems = append(problems, errs...)
	problems = append(problems, applyFlags(keys, opts.Flags)...)

	// Variables named by ${...} references are the user's own, whatever
	// their names: no "matches no key" warning for them.
	referenced := make(map[string]bool)
	for _, s := range cfg.secretSlots() {
		ref := *s.p
		if old, ok := cfg.refs[s.path]; ok && old.resolved == ref {
			ref = old.ref
		}
		if m := envRefRE.FindStringSubmatch(ref); m != nil {
			referenced[m[1]] = true
		}
	}
	problems = append(problems, cfg.resolveSecrets(lookup, opts.ReadFile)...)
	cfg.ApplyDefaults()
	// A value that could not be read keeps its previous value; do not
	// report what follows from that, only the cause.
	var unread []string
	for _, p := range problems {
		var pr *problem
		if errors.As(p, &pr) && pr.path != "" {
			unread = append(unread, pr.path)
		}
	}
	for _, p := range cfg.problems() {
		var pr *problem
		if errors.As(p, &pr) && within(pr.path, unread) {
			continue
		}
		problems = append(problems, p)
	}

	var warnings []string
	for _, n := range unmatched {
		if !referenced[n] {
			warnings = append(warnings, envWarning(&cfg, n))
		}
	}
	warnings = append(warnings, cfg.Warnings()...)
	warnings = append(warnings, hardeningWarnings(&cfg, fromFile)...)
	if len(problems) > 0 {
		return nil, warnings, invalid(problems)
	}
	return &cfg, warnings, nil
}

// within reports whether path is one of roots or below one of them.
func within(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// decodeFile decodes the YAML file into cfg strictly. Every problem is
// returned with its line and dotted path; fatal means the file could not be
// parsed at all.
func decodeFile(cfg *Config, name string, data []byte) (errs []error, fatal bool) {
	// Parse every document first: syntax errors stop here.
	var docs []*yaml.Node
	nd := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := nd.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return []error{fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))}, true
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		return nil, false
	}
	if len(docs) > 1 {
		errs = append(errs, fmt.Errorf("%s: line %d: only one YAML document is allowed", name, docs[1].Line))
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || err == io.EOF {
		return errs, false
	}

	// The decoder's messages carry lines but not paths ("line 7: field
	// listn not found in type config.Config"); walk the document to say
	// which key is wrong. Keep any decoder message the walk did not cover.
	var diags []diag
	diagnose(docs[0], reflect.TypeFor[Config](), "", &diags)
	covered := make(map[int]bool)
	for _, d := range diags {
		covered[d.line] = true
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, m := range te.Errors {
			line := 0
			if sm := lineRE.FindStringSubmatch(m); sm != nil {
				line, _ = strconv.Atoi(sm[1])
			}
			if !covered[line] {
				diags = append(diags, diag{line: line, msg: lineRE.ReplaceAllString(m, "")})
			}
		}
	} else if len(diags) == 0 {
		diags = append(diags, diag{msg: strings.TrimPrefix(err.Error(), "yaml: ")})
	}
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].line < diags[j].line })
	seen := make(map[string]bool)
	for _, d := range diags {
		msg := fmt.Sprintf("%s: %s", name, d.msg)
		if d.line > 0 {
			msg = fmt.Sprintf("%s: line %d: %s", name, d.line, d.msg)
		}
		if !seen[msg] {
			seen[msg] = true
			errs = append(errs, &problem{path: d.bad, msg: msg})
		}
	}
	return errs, false
}

// diag is one problem found in the file.
type diag struct {
	line int
	msg  string
	bad  string // dotted path of a value that did not decode, if any
}

// deref follows aliases and enters documents.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 100; i++ {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// isNull reports whether n is an explicit or implicit YAML null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// joinPath appends a key to a dotted path.
func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// diagnose walks node n, which should decode into type t, and records every
// problem with its line and dotted path: unknown and duplicate keys, wrong
// shapes, and values that do not decode.
func diagnose(n *yaml.Node, t reflect.Type, path string, out *[]diag) {
	n = deref(n)
	if n == nil {
		return
	}
	where := path
	if where == "" {
		where = "top level"
	}
	if !isStructLike(t) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				*out = append(*out, diag{line: n.Line, msg: where + ": " + strings.TrimPrefix(err.Error(), "yaml: "), bad: path})
				return
			}
			for _, m := range te.Errors {
				line := n.Line
				if sm := lineRE.FindStringSubmatch(m); sm != nil {
					line, _ = strconv.Atoi(sm[1])
				}
				*out = append(*out, diag{line: line, msg: where + ": " + lineRE.ReplaceAllString(m, ""), bad: path})
			}
		}
		return
	}
	if isNull(n) {
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		diagnose(n, t.Elem(), path, out)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*out = append(*out, diag{line: n.Line, msg: fmt.Sprintf("%s: expected a list, got a %s", where, kindName(n)), bad: path})
			return
		}
		for i, c := range n.Content {
			diagnose(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			*out = append(*out, diag{line: n.Line, msg: fmt.Sprintf("%s: expected a mapping, got a %s", where, kindName(n)), bad: path})
			return
		}
		fields := make(map[string]reflect.StructField)
		var names []string
		for _, f := range yamlFields(t) {
			fields[yamlName(f)] = f
			names = append(names, yamlName(f))
		}
		seen := make(map[string]int)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				diagnoseMerge(v, t, path, out)
				continue
			}
			kd := deref(k)
			if kd == nil || kd.Kind != yaml.ScalarNode {
				*out = append(*out, diag{line: k.Line, msg: fmt.Sprintf("%s: keys must be plain names, got a %s", where, kindName(k))})
				continue
			}
			kp := joinPath(path, kd.Value)
			if first, dup := seen[kd.Value]; dup {
				*out = append(*out, diag{line: k.Line, msg: fmt.Sprintf("%s: duplicate key (first set on line %d)", kp, first)})
				continue
			}
			seen[kd.Value] = k.Line
			f, ok := fields[kd.Value]
			if !ok {
				*out = append(*out, diag{line: k.Line, msg: kp + ": " + unknownKey(kd.Value, names)})
				continue
			}
			diagnose(v, f.Type, kp, out)
		}
	}
}

// diagnoseMerge checks the value of a "<<" merge key.
func diagnoseMerge(v *yaml.Node, t reflect.Type, path string, out *[]diag) {
	v = deref(v)
	if v == nil {
		return
	}
	switch v.Kind {
	case yaml.MappingNode:
		diagnose(v, t, path, out)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c = deref(c); c != nil && c.Kind == yaml.MappingNode {
				diagnose(c, t, path, out)
			} else {
				*out = append(*out, diag{line: v.Line, msg: joinPath(path, "<<") + ": merge needs mappings"})
			}
		}
	default:
		*out = append(*out, diag{line: v.Line, msg: joinPath(path, "<<") + ": merge needs a mapping or a list of mappings"})
	}
}

// unknownKey explains an unknown key, suggesting the closest known one.
func unknownKey(k string, known []string) string {
	best, bestD := "", 3
	for _, n := range known {
		if d := editDistance(strings.ToLower(k), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key (known keys: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
