package reliability_test

import (
	"bufio"
	"bytes"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/verify"
)

// budgetSecret signs the genuine request of TestBodyBudgetBoundsServeRSS.
const budgetSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestBodyBudgetBoundsServeRSS is the process-level variant of ingest's
// TestBodyBytesInFlightAreBounded (-long only: it builds avatarbus): `avatarbus serve` runs as a
// child process, 600 clients each send it a 1 MiB body at once and hold the last byte, and the
// child's RSS (/proc/<pid>/status VmRSS, sampled every 10ms) must grow by less than 400 MB with
// http.max_body_bytes_in_flight: 64MiB, while a signed request sent during the attack is stored
// (retrying after Retry-After, as platforms do). The same attack on a 2GiB budget, where every
// body fits, is logged for comparison.
func TestBodyBudgetBoundsServeRSS(t *testing.T) {
	if !*long {
		t.Skip("builds avatarbus and runs serve as a child process; run with -long")
	}
	bin, err := testbin.Build(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		budget string
		bound  bool
	}{{"64MiB", true}, {"2GiB", false}} {
		t.Run(tt.budget, func(t *testing.T) {
			growth, genuine, summary := attackServe(t, bin, tt.budget)
			t.Logf("budget %s: RSS grew by %d MB; senders answered %v; genuine %v", tt.budget, growth>>20, summary, genuine)
			if !tt.bound {
				return
			}
			if growth >= 400<<20 {
				t.Errorf("RSS grew by %d MB, want < 400 MB", growth>>20)
			}
			if genuine[len(genuine)-1] != 200 {
				t.Errorf("genuine request during the attack: %v, want 200 in the end", genuine)
			}
		})
	}
}

// freePort returns a loopback address nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// vmRSS is the resident set of process pid in bytes.
func vmRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// attackServe runs serve with the body budget, attacks it, and returns the peak RSS growth, the
// genuine request's answers and the attackers' answers.
func attackServe(t *testing.T, bin, budget string) (int64, []int, map[int]int) {
	const (
		senders = 600
		bodyLen = 1 << 20
		hold    = 3 * time.Second
	)
	dir := t.TempDir()
	listen, admin, natsListen := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`listen: %q
admin_listen: %q
nats: { embedded: { listen: %q, store_dir: %q } }
log: { level: warn, format: json }
http: { max_body_bytes_in_flight: %s }
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
    max_body: 1MiB
`, listen, admin, natsListen, filepath.Join(dir, "js"), budget, budgetSecret)
	path := filepath.Join(dir, "avatarbus.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("serve not ready after 20s:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond) // polling interval (the log is shown on failure)
	}

	pid := cmd.Process.Pid
	baseline := vmRSS(pid)
	var peak atomic.Int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := vmRSS(pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	chunk := bytes.Repeat([]byte("x"), 64<<10)
	head := fmt.Sprintf("POST /webhooks/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bodyLen)
	release := time.Now().Add(hold)
	var mu sync.Mutex
	summary := map[int]int{}
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			conn, err := net.Dial("tcp", listen)
			if err != nil {
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err := conn.Write([]byte(head)); err != nil {
				return
			}
			for sent := 0; sent < bodyLen-1; {
				n := min(len(chunk), bodyLen-1-sent)
				if _, err := conn.Write(chunk[:n]); err != nil {
					break
				}
				sent += n
			}
			time.Sleep(time.Until(release)) // holding the body until release is the attack
			_, _ = conn.Write([]byte("x"))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			mu.Lock()
			summary[resp.StatusCode]++
			mu.Unlock()
		})
	}

	time.Sleep(300 * time.Millisecond) // the attack starts first; serve is another process
	body := []byte(`{"type":"video.done","data":{"id":"during-the-attack"}}`)
	now := time.Now()
	sig, err := verify.SignStandardWebhooks(budgetSecret, "genuine-rss", now, body)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 15 * time.Second}
	var genuine []int
	for range 4 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/webhooks/acme", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", "genuine-rss")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := client.Do(req)
		if err != nil {
			t.Logf("genuine request: %v", err)
			genuine = append(genuine, 0)
			break
		}
		resp.Body.Close()
		genuine = append(genuine, resp.StatusCode)
		if resp.StatusCode != 503 {
			break
		}
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(secs, 1)) * time.Second) // as the platforms retry
	}
	wg.Wait()
	close(stop)
	<-sampled
	return peak.Load() - baseline, genuine, summary
}
