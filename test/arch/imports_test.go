package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/avatarbus/avatarbus"

// layers gives every package of the module (path relative to the module) its layer. A package
// may import packages of the module only from a higher-numbered layer: never its own layer (so
// internal/ingest cannot import internal/broker), never a lower one (a back-arrow). A package
// missing from this table fails the test, so a new package is placed on purpose.
//
// Paths ending in "/..." cover a tree: tools and tests (test/...) and examples may import what
// their own rules below allow, and no product package may import them.
var layers = []struct {
	pkg   string
	layer int
}{
	// 0: the binary and the helpers of tests; nothing imports them but tests.
	{"cmd/avatarbus", 0},
	{"internal/broker/brokertest", 0},
	{"internal/platformapi/platformapitest", 0},
	{"internal/waitfor", 0},
	{"internal/testbin", 0},
	{"internal/adminapi/adminapitest", 0},
	{"test/...", 0},
	{"examples/...", 0},
	// 1: the services the binary wires.
	{"internal/ingest", 1},
	{"internal/adminapi", 1}, // the admin JSON API; cmd mounts it in ingest's admin server
	{"internal/console", 1},  // the web console at /ui/, over internal/adminapi in-process
	{"router", 1},
	{"internal/replay", 1},
	{"internal/broker", 1},
	{"internal/config", 1},
	{"internal/poll", 1},
	{"internal/index", 1},
	{"internal/attempts", 1},
	// 2: what those services share.
	{"internal/platformapi", 2}, // the platforms' APIs: ingest confirms, poll lists and reads balances
	{"internal/offload", 2},
	{"deliver", 2},
	{"internal/metrics", 2},
	{"internal/tracing", 2},
	// 3: normalization of the platforms' payloads.
	{"platform", 3},
	// 4: the leaves: contracts and primitives that import nothing of avatarbus.
	{"verify", 4},
	{"envelope", 4},
	{"subjects", 4},
	{"internal/record", 4},
	{"internal/redact", 4},
	{"internal/buildinfo", 4},
}

// forbidden lists imports that the layers allow or do not see but a package must still not have.
// deps: false checks the package's own imports; true checks everything it links (go list -deps).
var forbidden = []struct {
	pkgs   []string // importers (relative paths, "/..." for a tree); "*" is every product package
	except []string // importers the rule does not apply to
	path   string   // the forbidden import: an exact path, or a prefix ending in "/"
	deps   bool
	why    string
}{
	{[]string{"envelope", "subjects", "verify", "platform", "router", "deliver"}, nil,
		module + "/internal/", true, "public packages are API: they must not depend on internal/ (nor make their users link it)"},
	{[]string{"examples/..."}, nil, module + "/internal/", true, "examples show the public API only"},
	{[]string{"*"}, []string{"internal/ingest"}, "github.com/labstack/echo/", false, "only internal/ingest speaks HTTP through Echo"},
	{[]string{"platform"}, nil, "net/http", true, "platform never sees HTTP: it gets bytes and headers"},
	{[]string{"platform"}, nil, "github.com/nats-io/", true, "platform never sees NATS"},
	{[]string{"internal/ingest"}, nil, module + "/internal/broker", true, "ingest declares its publisher in internal/record types; broker implements it (no type leak)"},
	{[]string{"internal/offload"}, nil, module + "/internal/broker", true, "offload declares its object store in internal/record types"},
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestImportDirection(t *testing.T) {
	pkgs := goList(t)
	if len(pkgs) < 15 {
		t.Fatalf("go list found %d packages of %s; expected the whole module", len(pkgs), module)
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestCheckFindsViolations feeds check made-up packages with each kind of violation, so that a
// check that stopped looking would fail here rather than pass silently above.
func TestCheckFindsViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		p    pkg
		want string // a substring of the one violation expected; "" for none
	}{
		{"downward import is fine", pkg{m("internal/ingest"), []string{m("platform"), m("internal/record")}, nil}, ""},
		{"back-arrow", pkg{m("verify"), []string{m("platform")}, nil}, "back-arrow"},
		{"same layer: ingest to broker", pkg{m("internal/ingest"), []string{m("internal/broker")}, []string{m("internal/broker")}}, "internal/broker"},
		{"product imports a test helper", pkg{m("internal/broker"), []string{m("internal/broker/brokertest")}, nil}, "back-arrow"},
		{"public package links internal", pkg{m("router"), []string{m("deliver")}, []string{m("internal/metrics")}}, "internal/"},
		{"echo outside ingest", pkg{m("router"), []string{"github.com/labstack/echo/v4"}, nil}, "Echo"},
		{"platform links net/http", pkg{m("platform"), []string{m("verify")}, []string{"net/http"}}, "HTTP"},
		{"platform imports NATS", pkg{m("platform"), []string{"github.com/nats-io/nats.go"}, nil}, "NATS"},
		{"unplaced package", pkg{m("newthing"), nil, nil}, "not in the layers table"},
		{"test tool may import internal", pkg{m("test/bench"), []string{m("internal/broker")}, nil}, ""},
		{"example must not", pkg{m("examples/x"), []string{m("internal/broker")}, []string{m("internal/broker")}}, "examples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check([]pkg{tt.p})
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("violations %q, want none", got)
				}
				return
			}
			if len(got) == 0 || !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tt.want) }) {
				t.Fatalf("violations %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// check returns one line per violation of the layers and forbidden tables.
func check(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		from, ok := layerOf(rel)
		if !ok {
			out = append(out, fmt.Sprintf("%s is not in the layers table: give it a layer", rel))
			continue
		}
		for _, imp := range p.Imports {
			irel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			to, ok := layerOf(irel)
			if !ok || from < to || (from == 0 && strings.HasPrefix(rel, "test/")) {
				continue // unplaced packages are reported on their own; test tools may use anything
			}
			kind := "back-arrow"
			if from == to {
				kind = "same-layer import"
			}
			out = append(out, fmt.Sprintf("%s (layer %d) imports %s (layer %d): %s", rel, from, irel, to, kind))
		}
		for _, f := range forbidden {
			if !covers(f.pkgs, rel) || covers(f.except, rel) {
				continue
			}
			list := p.Imports
			if f.deps {
				list = append(slices.Clone(p.Imports), p.Deps...)
			}
			for _, imp := range list {
				if imp == f.path || (strings.HasSuffix(f.path, "/") && strings.HasPrefix(imp, f.path)) {
					out = append(out, fmt.Sprintf("%s imports or links %s: %s", rel, imp, f.why))
					break
				}
			}
		}
	}
	return out
}

// layerOf finds rel's layer, exact entries before trees.
func layerOf(rel string) (int, bool) {
	for _, l := range layers {
		if l.pkg == rel {
			return l.layer, true
		}
	}
	for _, l := range layers {
		if tree, ok := strings.CutSuffix(l.pkg, "/..."); ok && (rel == tree || strings.HasPrefix(rel, tree+"/")) {
			return l.layer, true
		}
	}
	return 0, false
}

// covers reports whether rel is one of pats ("*": any package outside test/ and examples/).
func covers(pats []string, rel string) bool {
	for _, p := range pats {
		switch tree, isTree := strings.CutSuffix(p, "/..."); {
		case p == "*":
			if !strings.HasPrefix(rel, "test/") && !strings.HasPrefix(rel, "examples/") {
				return true
			}
		case isTree && (rel == tree || strings.HasPrefix(rel, tree+"/")):
			return true
		case p == rel:
			return true
		}
	}
	return false
}

// goList lists the module's packages with their imports and dependencies (tests excluded: a
// test may use what its package may not, e.g. a real broker in offload's tests).
func goList(t *testing.T) []pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-json=ImportPath,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
