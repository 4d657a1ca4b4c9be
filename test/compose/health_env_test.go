package compose_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/avatarbus/avatarbus/internal/config"
)

// envExample is the template of the .env file docker compose reads, in the repository root.
const envExample = ".env.example"

// TestAvatarbusHealthcheck: each replica is checked by the binary itself (the distroless image has
// no shell, so the exec form), with the config its CMD reads, within the check's timeout.
func TestAvatarbusHealthcheck(t *testing.T) {
	d := load(t)
	image := readDockerfileFacts(t)
	for _, svc := range d.avatarbus {
		t.Run(svc.Name, func(t *testing.T) {
			hc := svc.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 {
				t.Fatal("no healthcheck")
			}
			if len(image.entrypoint) == 0 {
				t.Fatal("Dockerfile has no ENTRYPOINT")
			}
			want := []string{"CMD", image.entrypoint[0], "healthcheck"}
			if len(hc.Test) < len(want) || !slices.Equal(hc.Test[:len(want)], want) {
				t.Fatalf("healthcheck test %q, want %q then flags (exec form: the image has no shell)", hc.Test, want)
			}
			flags := map[string]string{}
			args := hc.Test[len(want):]
			for i := 0; i < len(args); i += 2 {
				name, ok := strings.CutPrefix(args[i], "--")
				if !ok || i+1 >= len(args) || !slices.Contains([]string{"config", "url", "timeout"}, name) {
					t.Fatalf("healthcheck args %q: want pairs of --config, --url, --timeout and a value", args)
				}
				flags[name] = args[i+1]
			}

			// It asks the admin port: from the config the replica runs with, or a --url on it.
			admin := ""
			for _, p := range svc.Ports {
				if p.Name == "admin" {
					admin = strconv.Itoa(int(p.Target))
				}
			}
			switch {
			case flags["url"] != "":
				if !strings.HasPrefix(flags["url"], "http://127.0.0.1:"+admin+"/readyz") {
					t.Errorf("--url %q, want http://127.0.0.1:%s/readyz", flags["url"], admin)
				}
			case flags["config"] != image.configPath:
				t.Errorf("--config %q, want %s (what the image's CMD serves with)", flags["config"], image.configPath)
			default:
				m, _ := mount(svc, image.configPath)
				cfg, _, err := config.Load(config.LoadOptions{Path: m.Source, Env: serviceEnv(svc.Environment)})
				if err != nil {
					t.Fatalf("the healthcheck's config.Load: %v", err)
				}
				if _, port := splitHostPort(t, cfg.AdminListen); port != admin {
					t.Errorf("admin_listen %q: the healthcheck asks port %s, the admin port is %s", cfg.AdminListen, port, admin)
				}
			}

			// It answers before docker gives up on it, so its one line reaches `docker inspect`.
			limit := 30 * time.Second // docker's default timeout
			if hc.Timeout != nil {
				limit = time.Duration(*hc.Timeout)
			}
			own := 2 * time.Second // the command's default --timeout
			if v, ok := flags["timeout"]; ok {
				var err error
				if own, err = time.ParseDuration(v); err != nil {
					t.Fatalf("--timeout %q: %v", v, err)
				}
			}
			if own >= limit {
				t.Errorf("--timeout %v is not under the healthcheck's timeout %v", own, limit)
			}
			// The replicas retry creating the stream until the cluster elects a leader.
			if hc.StartPeriod == nil || time.Duration(*hc.StartPeriod) < 10*time.Second {
				t.Errorf("start_period %v, want at least 10s", hc.StartPeriod)
			}
		})
	}
}

// TestEnvExample: .env.example lists exactly the ${VAR}s docker-compose.yml and the config it
// mounts reference, with placeholders the whole deployment accepts; git ignores .env.
func TestEnvExample(t *testing.T) {
	env, err := dotenv.Read(filepath.Join(repoRoot, envExample))
	if err != nil {
		t.Fatalf("%s: %v", envExample, err)
	}
	var referenced []string
	for _, f := range []string{composeFile, filepath.Join("deploy", "avatarbus.yaml")} {
		referenced = append(referenced, envReferences(t, filepath.Join(repoRoot, f))...)
	}
	slices.Sort(referenced)
	referenced = slices.Compact(referenced)
	if got := sortedKeys(env); !slices.Equal(got, referenced) {
		t.Errorf("%s lists %v; the files reference %v", envExample, got, referenced)
	}
	if len(referenced) == 0 {
		t.Fatal("no ${VAR} found: the reference pattern is broken")
	}
	for k, v := range env {
		if v == "" {
			t.Errorf("%s: %s is empty; want a placeholder", envExample, k)
		}
	}

	// The placeholders pass compose's checks and every replica's config validation.
	p, err := loadProject(env)
	if err != nil {
		t.Fatalf("docker compose with %s: %v", envExample, err)
	}
	image := readDockerfileFacts(t)
	for _, name := range sortedKeys(p.Services) {
		svc := p.Services[name]
		if svc.Build == nil {
			continue
		}
		m, _ := mount(svc, image.configPath)
		if _, _, err := config.Load(config.LoadOptions{Path: m.Source, Env: serviceEnv(svc.Environment)}); err != nil {
			t.Errorf("%s with %s: %v", name, envExample, err)
		}
	}

	gitignore, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(gitignore), "\n"), ".env") {
		t.Error(".gitignore has no .env line: a filled-in .env could be committed")
	}
}

// envRef is a ${VAR} reference, with or without a default or error (${VAR:?msg}, ${VAR:-x}).
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// envReferences returns the variables path references outside comment lines.
func envReferences(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vars []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range envRef.FindAllStringSubmatch(sc.Text(), -1) {
			vars = append(vars, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}

// serviceEnv is a service's environment as os.Environ would give it.
func serviceEnv(m map[string]*string) []string {
	var env []string
	for k, v := range m {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	return env
}
