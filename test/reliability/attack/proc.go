package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/avatarbus/avatarbus/internal/testbin"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// instance is one `avatarbus serve` process on loopback ports of its own.
type instance struct {
	listen, admin, natsAddr string
	storeDir, config        string
	cmd                     *exec.Cmd
	log                     *syncBuffer // stderr: the JSON log
	exited                  chan struct{}
	err                     error // the exit status, once exited is closed
}

// syncBuffer is a bytes.Buffer safe for the process's writer and our readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// newWhsec returns a fresh Standard Webhooks secret.
func newWhsec() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// randomID is a short random token for ids that must not collide between runs.
func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// sourcesYAML is the sources every instance has: acme (Standard Webhooks), comma (Synthesia, its
// secrets replaced from the environment) and limited (Standard Webhooks with a rate limit).
const sourcesYAML = `sources:
  - name: acme
    platform: standardwebhooks
    secrets: ["${ATTACK_ACME_SECRET}"]
  - name: comma
    platform: synthesia
    secrets: ["${ATTACK_COMMA_PLACEHOLDER}"]
  - name: limited
    platform: standardwebhooks
    secrets: ["${ATTACK_ACME_SECRET}"]
    rate_limit: {rps: 5, burst: 5}
`

// newInstance writes the config of an instance on fresh loopback ports with storeDir ("" = a new
// one under dir) and returns it, not started.
func newInstance(dir, storeDir string) (*instance, error) {
	in := &instance{}
	for _, p := range []*string{&in.listen, &in.admin, &in.natsAddr} {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		*p = a
	}
	sub, err := os.MkdirTemp(dir, "instance-")
	if err != nil {
		return nil, err
	}
	if storeDir == "" {
		storeDir = filepath.Join(sub, "jetstream")
	}
	in.storeDir = storeDir
	in.config = filepath.Join(sub, "avatarbus.yaml")
	yaml := fmt.Sprintf("listen: %q\nadmin_listen: %q\nnats:\n  embedded:\n    listen: %q\n    store_dir: %q\nlog: {level: info, format: json}\n%s",
		in.listen, in.admin, in.natsAddr, storeDir, sourcesYAML)
	return in, os.WriteFile(in.config, []byte(yaml), 0o600)
}

// start runs the instance: bin serve --config, with env added to a clean environment, under
// `ulimit -n nofile` when nofile > 0.
func (in *instance) start(bin string, env []string, nofile int) error {
	args := []string{bin, "serve", "--config", in.config}
	if nofile > 0 {
		args = append([]string{"/bin/sh", "-c", `ulimit -n ` + strconv.Itoa(nofile) + ` && exec "$0" "$@"`}, args...)
	}
	in.cmd = exec.Command(args[0], args[1:]...)
	in.cmd.Dir = filepath.Dir(in.config)
	in.cmd.Env = append(testbin.Env(), env...)
	in.log = &syncBuffer{}
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	in.exited = make(chan struct{})
	if err := in.cmd.Start(); err != nil {
		return err
	}
	go func() {
		in.err = in.cmd.Wait()
		close(in.exited)
	}()
	return nil
}

// waitReady waits until the ingest port answers and /readyz says 200, or the process exits.
func (in *instance) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-in.exited:
			return fmt.Errorf("avatarbus exited (%v) before it was ready:\n%s", in.err, tail(in.log.String(), 2000))
		default:
		}
		if resp, err := client.Get("http://" + in.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("avatarbus not ready within %s:\n%s", timeout, tail(in.log.String(), 2000))
}

// stop sends SIGTERM and waits (then kills) within a few seconds.
func (in *instance) stop() {
	if in.cmd == nil || in.cmd.Process == nil {
		return
	}
	select {
	case <-in.exited:
		return
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.exited
	}
}

// rssMiB is the resident set size of the instance's process, from /proc (Linux).
func (in *instance) rssMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// buildBinary builds cmd/avatarbus of the module at root into dir.
func buildBinary(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "avatarbus")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/avatarbus")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}
