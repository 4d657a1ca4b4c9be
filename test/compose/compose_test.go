package compose_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/avatarbus/avatarbus/internal/config"
)

// The deployment is checked statically: there is no Docker engine here. These are the facts the
// files must agree on; everything else is read from the files themselves.
const (
	// repoRoot is the repository root, seen from this package's directory.
	repoRoot = "../.."
	// composeFile is the deployment, in the repository root.
	composeFile = "docker-compose.yml"
	// natsServices and avatarbusServices are how many of each the deployment runs.
	natsServices      = 3
	avatarbusServices = 2
	// clusterName is the NATS cluster's name in every server configuration.
	clusterName = "avatarbus"
	// minPayload is the embedded server's max_payload (broker.StartEmbedded): the cluster must take
	// what the embedded server takes.
	minPayload = 8 << 20
	// loopback is the only host address a NATS or admin port may be published on.
	loopback = "127.0.0.1"
)

// secretEnv is what the compose file needs for interpolation: the secrets it passes through to
// the replicas. Values are dummies.
var secretEnv = map[string]string{
	"HEYGEN_WEBHOOK_SECRET": "test-heygen-secret",
	"ADMIN_TOKEN":           "test-admin-token-0123456789",
	"ACME_WEBHOOK_SECRET":   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

// loadProject loads docker-compose.yml as docker compose would, with env (and nothing from the
// process environment or a .env file) for interpolation.
func loadProject(env map[string]string) (*types.Project, error) {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, composeFile)},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(kv),
		cli.WithResolvedPaths(true),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// deployment is the loaded compose project, split by kind of service.
type deployment struct {
	project   *types.Project
	nats      map[string]natsServer // by service name
	avatarbus []types.ServiceConfig
}

// natsServer is a NATS service and its server configuration, parsed by nats-server itself.
type natsServer struct {
	svc      types.ServiceConfig
	confPath string // on the host
	opts     *server.Options
}

// load loads the compose file with the dummy secrets and every nats-server configuration it
// mounts.
func load(t *testing.T) *deployment {
	t.Helper()
	p, err := loadProject(secretEnv)
	if err != nil {
		t.Fatalf("loading %s: %v", composeFile, err)
	}
	d := &deployment{project: p, nats: map[string]natsServer{}}
	for _, name := range sortedKeys(p.Services) {
		svc := p.Services[name]
		switch {
		case strings.HasPrefix(svc.Image, "nats:"):
			d.nats[name] = loadNATS(t, svc)
		case svc.Build != nil:
			d.avatarbus = append(d.avatarbus, svc)
		default:
			t.Errorf("service %s: neither a nats:* image nor built from the Dockerfile", name)
		}
	}
	if len(d.nats) != natsServices {
		t.Fatalf("%d nats services (%v), want %d", len(d.nats), sortedKeys(d.nats), natsServices)
	}
	if len(d.avatarbus) != avatarbusServices {
		t.Fatalf("%d avatarbus services, want %d", len(d.avatarbus), avatarbusServices)
	}
	return d
}

// loadNATS finds the configuration file a nats service runs with and parses it.
func loadNATS(t *testing.T, svc types.ServiceConfig) natsServer {
	t.Helper()
	target := ""
	for i, a := range svc.Command {
		if (a == "--config" || a == "-c") && i+1 < len(svc.Command) {
			target = svc.Command[i+1]
		}
	}
	if target == "" {
		t.Fatalf("service %s: command %q has no --config", svc.Name, svc.Command)
	}
	m, ok := mount(svc, target)
	if !ok || m.Type != types.VolumeTypeBind {
		t.Fatalf("service %s: --config %s is not a bind mount", svc.Name, target)
	}
	if !m.ReadOnly {
		t.Errorf("service %s: %s is mounted writable; want read-only", svc.Name, target)
	}
	opts, err := server.ProcessConfigFile(m.Source)
	if err != nil {
		t.Fatalf("service %s: nats-server rejects %s: %v", svc.Name, m.Source, err)
	}
	return natsServer{svc: svc, confPath: m.Source, opts: opts}
}

func TestComposeFileIsValid(t *testing.T) {
	d := load(t)
	if d.project.Name != "avatarbus" {
		t.Errorf("project name %q, want avatarbus", d.project.Name)
	}
	for name := range d.nats {
		if !strings.HasPrefix(name, "nats-") {
			t.Errorf("nats service %q: want nats-N", name)
		}
	}
	for _, svc := range d.avatarbus {
		if !strings.HasPrefix(svc.Name, "avatarbus-") {
			t.Errorf("avatarbus service %q: want avatarbus-N", svc.Name)
		}
	}
}

// TestComposeNeedsSecrets: compose refuses to start without a secret instead of passing an empty
// one (which avatarbus would refuse later, less clearly).
func TestComposeNeedsSecrets(t *testing.T) {
	for name := range secretEnv {
		env := map[string]string{}
		for k, v := range secretEnv {
			if k != name {
				env[k] = v
			}
		}
		_, err := loadProject(env)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: err = %v, want an error naming it", name, err)
		}
	}
}

func TestNATSCluster(t *testing.T) {
	d := load(t)
	volumes := map[string]string{} // named volume -> service
	for name, n := range d.nats {
		o := n.opts
		t.Run(name, func(t *testing.T) {
			if !atLeast(imageVersion(n.svc.Image), []int{2, 15}) {
				t.Errorf("image %s: want nats 2.15 or later (Jepsen fixes)", n.svc.Image)
			}
			if o.ServerName != name {
				t.Errorf("%s: server_name %q, want the service name %q", n.confPath, o.ServerName, name)
			}
			if !o.JetStream {
				t.Errorf("%s: JetStream is not enabled", n.confPath)
			}
			if o.MaxPayload < minPayload {
				t.Errorf("%s: max_payload %d, want at least %d (the embedded server's)", n.confPath, o.MaxPayload, minPayload)
			}

			// The store is on a named volume of its own.
			v, ok := mountUnder(n.svc, o.StoreDir)
			switch {
			case o.StoreDir == "":
				t.Errorf("%s: no jetstream store_dir", n.confPath)
			case !ok || v.Type != types.VolumeTypeVolume:
				t.Errorf("store_dir %s is not on a named volume", o.StoreDir)
			case volumes[v.Source] != "":
				t.Errorf("volume %s is used by %s too", v.Source, volumes[v.Source])
			default:
				volumes[v.Source] = name
				if _, declared := d.project.Volumes[v.Source]; !declared {
					t.Errorf("volume %s is not declared under volumes:", v.Source)
				}
			}

			// Routes go to the other servers' cluster ports, by service name.
			if o.Cluster.Name != clusterName {
				t.Errorf("%s: cluster name %q, want %q", n.confPath, o.Cluster.Name, clusterName)
			}
			var got, want []string
			for _, u := range o.Routes {
				if u.Scheme != "nats-route" && u.Scheme != "nats" {
					t.Errorf("route %s: scheme %q", u, u.Scheme)
				}
				got = append(got, u.Host)
			}
			for other, on := range d.nats {
				if other != name {
					want = append(want, net.JoinHostPort(other, strconv.Itoa(on.opts.Cluster.Port)))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: routes to %v, want %v", n.confPath, got, want)
			}

			// Healthy means up with JetStream, asked on the monitoring port.
			hc := n.svc.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 {
				t.Fatalf("no healthcheck")
			}
			probe := strings.Join(hc.Test, " ")
			if o.HTTPPort == 0 || !strings.Contains(probe, fmt.Sprintf(":%d/healthz", o.HTTPPort)) {
				t.Errorf("healthcheck %q does not ask /healthz on the monitoring port %d", probe, o.HTTPPort)
			}
		})
	}
}

func TestAvatarbusReplicas(t *testing.T) {
	d := load(t)
	image := readDockerfileFacts(t)
	for _, svc := range d.avatarbus {
		t.Run(svc.Name, func(t *testing.T) {
			// The image is the repository's Dockerfile.
			wantCtx, _ := filepath.Abs(repoRoot)
			if svc.Build.Context != wantCtx {
				t.Errorf("build context %s, want the repository root %s", svc.Build.Context, wantCtx)
			}
			if df := svc.Build.Dockerfile; df != "" && df != "Dockerfile" {
				t.Errorf("build dockerfile %q, want Dockerfile", df)
			}
			if isRoot(svc.User) {
				t.Errorf("user %q: the replicas must not run as root", svc.User)
			}

			// The config the image's CMD reads is deploy/avatarbus.yaml, read-only.
			cfgPath := image.configPath
			m, ok := mount(svc, cfgPath)
			wantSrc, _ := filepath.Abs(filepath.Join(repoRoot, "deploy", "avatarbus.yaml"))
			switch {
			case !ok:
				t.Fatalf("nothing mounted at %s, where the image's CMD reads its config", cfgPath)
			case m.Source != wantSrc:
				t.Errorf("%s mounts %s, want %s", cfgPath, m.Source, wantSrc)
			case !m.ReadOnly:
				t.Errorf("%s is mounted writable; want read-only", cfgPath)
			}

			// The config as the replica sees it: the file under the service's environment.
			var env []string
			for k, v := range svc.Environment {
				if v != nil {
					env = append(env, k+"="+*v)
				}
			}
			cfg, warnings, err := config.Load(config.LoadOptions{Path: m.Source, Env: env})
			for _, w := range warnings {
				// The admin port listens on every container interface on purpose (the compose file
				// publishes it on the host's 127.0.0.1 only); the start-up warning about it stays.
				if !strings.HasPrefix(w, `admin_listen "0.0.0.0:9090" is reachable beyond this host`) {
					t.Errorf("config warning: %s", w)
				}
			}
			if err != nil {
				t.Fatalf("config.Load with the service's environment: %v", err)
			}
			for i, s := range cfg.Sources {
				for j, sec := range s.Secrets {
					if want := cfg.SecretRefs()[fmt.Sprintf("sources[%d].secrets[%d]", i, j)]; want == "" {
						t.Errorf("sources[%d] (%s): secret %d is written in the file; want a ${VAR} reference", i, s.Name, j)
					} else if name := strings.Trim(want, "${}"); sec != secretEnv[name] {
						t.Errorf("sources[%d] (%s): %s does not reach the replica as given to compose", i, s.Name, want)
					}
				}
			}
			// The admin port listens beyond loopback, so the API and console need their token
			// (DESIGN §12: serve refuses to start without one).
			if cfg.AdminToken != secretEnv["ADMIN_TOKEN"] || cfg.SecretRefs()["admin_token"] == "" {
				t.Errorf("admin_token does not reach the replica from ADMIN_TOKEN as a ${VAR} reference")
			}

			// NATS: every cluster server, at its client port.
			var got, want []string
			for _, u := range strings.Split(cfg.NATS.URL, ",") {
				got = append(got, strings.TrimSpace(u))
			}
			for name, n := range d.nats {
				want = append(want, fmt.Sprintf("nats://%s:%d", name, n.opts.Port))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("nats.url lists %v, want %v", got, want)
			}
			if cfg.Stream.Replicas != natsServices {
				t.Errorf("stream.replicas %d, want %d (one per NATS server)", cfg.Stream.Replicas, natsServices)
			}
			for name := range d.nats {
				if dep, ok := svc.DependsOn[name]; !ok || dep.Condition != types.ServiceConditionHealthy {
					t.Errorf("does not wait for %s to be healthy", name)
				}
			}

			// Ports: http and admin map to what avatarbus listens on, on every container interface.
			ports := map[string]types.ServicePortConfig{}
			for _, p := range svc.Ports {
				if _, dup := ports[p.Name]; dup {
					t.Errorf("two ports named %q", p.Name)
				}
				ports[p.Name] = p
			}
			for _, l := range []struct{ name, key, addr string }{
				{"http", "listen", cfg.Listen},
				{"admin", "admin_listen", cfg.AdminListen},
			} {
				host, port := splitHostPort(t, l.addr)
				p, ok := ports[l.name]
				switch {
				case !ok:
					t.Errorf("no port named %q", l.name)
				case strconv.Itoa(int(p.Target)) != port:
					t.Errorf("port %q maps container port %d, but %s is %q", l.name, p.Target, l.key, l.addr)
				case host != "" && host != "0.0.0.0" && host != "::":
					t.Errorf("%s %q is not on every container interface: port %q cannot reach it", l.key, l.addr, l.name)
				}
				if !slices.Contains(image.expose, port) {
					t.Errorf("Dockerfile does not EXPOSE %s (%s)", port, l.key)
				}
			}
		})
	}
}

// TestPublishedPorts: only the webhook ports leave the host; NATS, monitoring and admin ports are
// published on 127.0.0.1, and nats-1's client port is there for the nats CLI.
func TestPublishedPorts(t *testing.T) {
	d := load(t)
	cliPort := false
	for _, name := range sortedKeys(d.project.Services) {
		svc := d.project.Services[name]
		// Every ports: entry is published, on an ephemeral host port when published is empty.
		for _, p := range svc.Ports {
			public := svc.Build != nil && p.Name == "http"
			if !public && p.HostIP != loopback {
				t.Errorf("%s publishes container port %d on %q; want host_ip %s", name, p.Target, p.HostIP, loopback)
			}
			if n, ok := d.nats[name]; ok && int(p.Target) == n.opts.Port && p.HostIP == loopback && p.Published == "4222" {
				cliPort = true
			}
		}
	}
	if !cliPort {
		t.Errorf("no NATS client port published on %s:4222 for the nats CLI", loopback)
	}
}

// dockerfile is what the tests need from the Dockerfile: its stages and what the final one runs.
type dockerfile struct {
	stages     []stage
	user       string   // the final stage's last USER, if any
	expose     []string // the final stage's EXPOSEd ports
	entrypoint []string
	cmd        []string
	configPath string // the --config of CMD
}

// readDockerfileFacts reads the Dockerfile in the repository root; TestDockerfile checks it.
func readDockerfileFacts(t *testing.T) dockerfile {
	t.Helper()
	df := dockerfile{stages: readDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))}
	if len(df.stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	for _, in := range df.stages[len(df.stages)-1].instrs {
		switch in.cmd {
		case "USER":
			df.user = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				df.expose = append(df.expose, strings.TrimSuffix(p, "/tcp"))
			}
		case "ENTRYPOINT":
			df.entrypoint = jsonArgs(t, in)
		case "CMD":
			df.cmd = jsonArgs(t, in)
			if i := slices.Index(df.cmd, "--config"); i >= 0 && i+1 < len(df.cmd) {
				df.configPath = df.cmd[i+1]
			}
		}
	}
	if df.configPath == "" {
		t.Fatalf("Dockerfile: CMD %q has no --config", df.cmd)
	}
	return df
}

// TestDockerfile: multi-stage; the build stage makes a static, stripped binary of ./cmd/avatarbus
// with a Go at least go.mod's; the final stage runs it as non-root.
func TestDockerfile(t *testing.T) {
	df := readDockerfileFacts(t)
	if len(df.stages) < 2 {
		t.Fatalf("%d stages; want a build stage and a final one", len(df.stages))
	}
	final := df.stages[len(df.stages)-1]

	// The final stage copies the binary from a build stage.
	var build *stage
	binary := ""
	for _, in := range final.instrs {
		if in.cmd != "COPY" {
			continue
		}
		f := strings.Fields(in.args)
		if len(f) == 3 && strings.HasPrefix(f[0], "--from=") && f[2] == "/avatarbus" {
			from := strings.TrimPrefix(f[0], "--from=")
			for i := range df.stages {
				if df.stages[i].name == from {
					build, binary = &df.stages[i], f[1]
				}
			}
		}
	}
	if build == nil {
		t.Fatalf("the final stage does not COPY --from=<build stage> <binary> /avatarbus")
	}

	// The build stage.
	if image, _, _ := strings.Cut(build.from, ":"); image != "golang" {
		t.Errorf("build stage FROM %s, want golang", build.from)
	}
	// A tag such as 1.26 floats to the newest 1.26.x; 1.26.8 is exact.
	if goVer := goModVersion(t); !atLeast(imageVersion(build.from), goVer) {
		t.Errorf("build stage FROM %s: older than go.mod's go %v (the image does not switch toolchains)", build.from, goVer)
	}
	cgoOff, built := false, false
	for _, in := range build.instrs {
		switch {
		case in.cmd == "ENV" && regexp.MustCompile(`(^|\s)CGO_ENABLED[= ]0(\s|$)`).MatchString(in.args):
			cgoOff = true
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			built = true
			if !cgoOff && !strings.Contains(in.args, "CGO_ENABLED=0 ") {
				t.Errorf("go build runs without CGO_ENABLED=0: %s", in.args)
			}
			for _, want := range []string{"-trimpath", "-s -w", "./cmd/avatarbus", "-o " + binary} {
				if !strings.Contains(in.args, want) {
					t.Errorf("go build lacks %q: %s", want, in.args)
				}
			}
		}
	}
	if !built {
		t.Errorf("the build stage runs no go build")
	}

	// The final stage: non-root (a USER that is not root, else a :nonroot image), the binary as
	// the entrypoint, serve as the command.
	switch {
	case df.user != "" && isRoot(df.user):
		t.Errorf("final stage USER %s", df.user)
	case df.user == "" && !strings.HasSuffix(final.from, ":nonroot"):
		t.Errorf("final stage FROM %s has no USER and is not a :nonroot image", final.from)
	}
	if !slices.Equal(df.entrypoint, []string{"/avatarbus"}) {
		t.Errorf("ENTRYPOINT %q, want [\"/avatarbus\"]", df.entrypoint)
	}
	if len(df.cmd) == 0 || df.cmd[0] != "serve" {
		t.Errorf("CMD %q, want serve --config ...", df.cmd)
	}
}

// TestDockerignore: the build context keeps every file go build reads for ./cmd/avatarbus (Go
// files of our packages, embedded files, go.mod, go.sum).
func TestDockerignore(t *testing.T) {
	patterns := readDockerignore(t, filepath.Join(repoRoot, ".dockerignore"))
	c := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`,
		"./cmd/avatarbus")
	c.Dir = repoRoot
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, _ := filepath.Abs(repoRoot)
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dir, err := filepath.Rel(abs, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	if len(files) < 10 {
		t.Fatalf("go list found only %v", files)
	}
	for _, f := range files {
		if excluded(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	// Nor anything that may hold secrets (a local config, a compose .env) or history.
	for _, f := range []string{".git/HEAD", ".env", "avatarbus.yaml"} {
		if !excluded(patterns, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

// stage is one FROM of a Dockerfile and its instructions.
type stage struct {
	from, name string
	instrs     []instr
}

type instr struct {
	line      int
	cmd, args string
}

// readDockerfile splits a Dockerfile into stages of instructions: comments dropped, continuation
// lines joined, instruction names upper-cased.
func readDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		in := instr{line: start, cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile line %d: %s before FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	return stages
}

// jsonArgs reads an exec-form (JSON array) instruction.
func jsonArgs(t *testing.T, in instr) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(in.args), &args); err != nil {
		t.Errorf("Dockerfile line %d: %s %s: want the exec (JSON) form: %v", in.line, in.cmd, in.args, err)
	}
	return args
}

// ignorePattern is one line of a .dockerignore.
type ignorePattern struct {
	re      *regexp.Regexp
	exclude bool
}

// readDockerignore reads .dockerignore patterns with Docker's semantics: paths relative to the
// context root, '*' and '?' within a path element, '**' across elements, '!' re-includes, the
// last matching line wins.
func readDockerignore(t *testing.T, path string) []ignorePattern {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []ignorePattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{exclude: true}
		if strings.HasPrefix(line, "!") {
			p.exclude = false
			line = strings.TrimSpace(line[1:])
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		p.re = regexp.MustCompile(re.String())
		out = append(out, p)
	}
	return out
}

// excluded reports whether the context path f (slash-separated) is left out of the build
// context: a pattern that matches a directory matches everything below it.
func excluded(patterns []ignorePattern, f string) bool {
	var candidates []string
	for p := f; p != "." && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
		candidates = append(candidates, p)
	}
	ex := false
	for _, p := range patterns {
		for _, c := range candidates {
			if p.re.MatchString(c) {
				ex = p.exclude
				break
			}
		}
	}
	return ex
}

// mount finds the service's volume mounted at target.
func mount(svc types.ServiceConfig, target string) (types.ServiceVolumeConfig, bool) {
	for _, v := range svc.Volumes {
		if v.Target == target {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

// mountUnder finds the service's volume that holds the container path p.
func mountUnder(svc types.ServiceConfig, p string) (types.ServiceVolumeConfig, bool) {
	for _, v := range svc.Volumes {
		if p == v.Target || strings.HasPrefix(p, strings.TrimSuffix(v.Target, "/")+"/") {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

// isRoot reports whether a Docker user spec (user[:group]) is root.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "root" || u == "0"
}

// imageVersion reads the leading version of an image tag: "nats:2.15.2-alpine" → [2 15 2].
func imageVersion(image string) []int {
	_, tag, _ := strings.Cut(image, ":")
	return parseVersion(strings.SplitN(tag, "-", 2)[0])
}

// goModVersion is go.mod's go line: "go 1.26.8" → [1 26 8].
func goModVersion(t *testing.T) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	v := parseVersion(string(m[1]))
	for len(v) < 3 {
		v = append(v, 0)
	}
	return v
}

// parseVersion reads "1.26.8" as [1 26 8]; nil if it is not a version.
func parseVersion(s string) []int {
	var v []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// atLeast reports whether version v is want or later, comparing only the elements both have: a
// floating tag (2.15) is as new as any of its patch releases.
func atLeast(v, want []int) bool {
	if v == nil {
		return false
	}
	for i := 0; i < len(v) && i < len(want); i++ {
		if v[i] != want[i] {
			return v[i] > want[i]
		}
	}
	return true
}

// splitHostPort splits a listen address.
func splitHostPort(t *testing.T, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return host, port
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
