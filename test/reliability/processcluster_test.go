package reliability_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// natsServerBinary builds nats-server at the version go.mod pins, once per test binary.
var natsServerBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "reliability-nats-server-")
	if err != nil {
		return "", err
	}
	// go test puts its own GOROOT/bin first in PATH, so this is the toolchain running the test.
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building nats-server needs the go command: %w", err)
	}
	bin := filepath.Join(dir, "nats-server")
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build nats-server: %w\n%s", err, out)
	}
	return bin, nil
})

// processCluster is a JetStream cluster of nats-server processes on loopback. Down kills a node
// with SIGKILL: no leadership handover, no flush, the way a crash or an OOM kill ends it.
type processCluster struct {
	t     *testing.T
	bin   string
	ports []int // client ports, then route ports
	dirs  []string
	mu    sync.Mutex
	procs []*exec.Cmd
}

func runProcessCluster(t *testing.T, n int) *processCluster {
	t.Helper()
	bin, err := natsServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &processCluster{t: t, bin: bin, procs: make([]*exec.Cmd, n)}
	c.ports = brokertest.FreePorts(t, 2*n)
	for range n {
		c.dirs = append(c.dirs, t.TempDir())
	}
	t.Cleanup(func() {
		for i := range n {
			c.Down(i)
		}
	})
	for i := range n {
		c.start(i)
	}
	return c
}

// start launches node i and waits until it listens.
func (c *processCluster) start(i int) {
	n := len(c.dirs)
	routes := make([]string, n)
	for j := range n {
		routes[j] = "nats://127.0.0.1:" + strconv.Itoa(c.ports[n+j])
	}
	cmd := exec.Command(c.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(c.ports[i]), "-js", "-sd", c.dirs[i],
		"--server_name", c.Name(i), "--cluster_name", "reliability",
		"--cluster", routes[i], "--routes", strings.Join(routes, ","))
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", c.Name(i), err)
	}
	c.mu.Lock()
	c.procs[i] = cmd
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.ports[i]))
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s does not listen: %v", c.Name(i), err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval (the dial error is shown on failure)
	}
}

func (c *processCluster) URLs() string {
	urls := make([]string, len(c.dirs))
	for i := range c.dirs {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", c.ports[i])
	}
	return strings.Join(urls, ",")
}

func (c *processCluster) Name(i int) string { return fmt.Sprintf("p%d", i+1) }

// Down kills node i (SIGKILL) and reaps it; a node that is down stays down.
func (c *processCluster) Down(i int) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.procs[i] = nil
	c.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

func (c *processCluster) Up(i int) { c.start(i) }
