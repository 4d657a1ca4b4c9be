package docs

import (
	"bytes"
	"context"
	"fmt"
	"github.com/avatarbus/avatarbus/internal/testbin"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// walkthroughBlocks returns the ```sh blocks of the README's walkthrough section, in order.
// Output samples are fenced ```text or ```json and are not run.
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Walkthrough")
	if !ok {
		t.Fatal(`README.md has no "## Walkthrough" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// walkthroughTool finds a program the walkthrough runs. A missing tool fails the test: CI
// installs them (.ci/run), and a walkthrough that was not run is not known to work.
func walkthroughTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("the README walkthrough needs %s, which is not installed (nats: go install github.com/nats-io/natscli/nats@v0.5.0; others: apt-get install curl jq openssl)", name)
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadmeWalkthrough runs the README's walkthrough as printed against a built avatarbus: the
// serve block in the background, every other block, in order, in one shell (they share
// variables such as $id and $sig, as in a user's terminal). Only what a stranger's machine would
// differ in is substituted: the binary for `go run ./cmd/avatarbus`, free ports for 8080 and
// 4222, a temporary working directory and nats CLI configuration.
func TestReadmeWalkthrough(t *testing.T) {
	blocks := walkthroughBlocks(t)
	if len(blocks) < 6 {
		t.Fatalf("found %d sh blocks in the walkthrough, want at least 6", len(blocks))
	}
	for _, tool := range []string{"bash", "curl", "jq", "openssl", "base64", "od"} {
		walkthroughTool(t, tool)
	}
	natsDir := filepath.Dir(walkthroughTool(t, "nats"))

	dir := t.TempDir()
	bin, err := testbin.Build(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "avatarbus.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "avatarbus.example.yaml"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "platform"), filepath.Join(dir, "platform")); err != nil {
		t.Fatal(err)
	}

	listen, admin, natsAddr := freePort(t), freePort(t), freePort(t)
	subst := strings.NewReplacer(
		"go run ./cmd/avatarbus", bin,
		"localhost:8080", listen,
		"127.0.0.1:4222", natsAddr,
	)
	env := append(os.Environ(),
		"AVATARBUS_LISTEN="+listen,
		"AVATARBUS_ADMIN_LISTEN="+admin,
		"AVATARBUS_NATS_EMBEDDED_LISTEN="+natsAddr,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"), // the nats CLI's contexts
		"PATH="+os.Getenv("PATH")+string(os.PathListSeparator)+natsDir,
	)

	var serveBlock string
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, b := range blocks {
		if strings.Contains(b, "avatarbus serve") {
			if serveBlock != "" {
				t.Fatal("two serve blocks in the walkthrough")
			}
			serveBlock = b
			continue
		}
		fmt.Fprintf(&script, "echo '### block %d'\n%s\n", i+1, subst.Replace(b))
	}
	if serveBlock == "" {
		t.Fatal("no block of the walkthrough starts avatarbus serve")
	}

	// exec: the serve process replaces the shell, so a signal to it reaches avatarbus.
	serveScript := regexp.MustCompile(`(?m)^(.*avatarbus serve.*)$`).ReplaceAllString(subst.Replace(serveBlock), "exec $1")
	var serveLog bytes.Buffer
	serve := exec.Command("bash", "-euc", serveScript)
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = dir, env, &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = serve.Process.Kill()
			<-done
		}
	})
	waitReady(t, "http://"+admin+"/readyz", done, &serveLog)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-c", script.String())
	run.Dir, run.Env = dir, env
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n--- script ---\n%s\n--- output ---\n%s\n--- serve ---\n%s", err, script.String(), out, serveLog.String())
	}
	for _, want := range []string{
		`"duplicate":false,"type":"avatar.video.completed","subject":"avatar.video.completed.acme"`, // first post
		`"duplicate":true`,                          // the same request again
		`"error":"signature_mismatch"`,              // one byte changed
		`"subject":"avatar.video.completed.heygen"`, // the HeyGen delivery
		"Nats-Msg-Id: acme:msg_",                    // nats stream get
		`"platform": "heygen"`,                      // normalize prints indented JSON
		"Acknowledged message",                      // nats consumer next
		"valid: scheme standardwebhooks",            // verify
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %s\n--- output ---\n%s", want, out)
		}
	}
}

// waitReady waits until serve answers /readyz with 200, failing when it exits first.
func waitReady(t *testing.T, url string, exited <-chan error, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("serve exited before it was ready: %v\n%s", err, log.String())
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("serve not ready within 60s\n%s", log.String())
}
