package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// idleKeepAlive opens a connection to addr, asks one cheap request (OPTIONS) and keeps the
// connection open and idle: what an attacker holding file handles does. It returns the connection,
// or nil when it was not answered within wait (the server did not accept it, or closed it).
func idleKeepAlive(addr string, wait time.Duration) net.Conn {
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return nil
	}
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := fmt.Fprintf(c, "OPTIONS /webhooks/probe HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		c.Close()
		return nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil
	}
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return c
}

// readyz asks the admin server's /readyz with client and returns its status code (0 when it did
// not answer).
func readyz(client *http.Client, admin string) (int, string) {
	resp, err := client.Get("http://" + admin + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

// tryPost posts r to url with a short timeout and returns the status (0 when unanswered).
func tryPost(url string, r signedRequest) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(r.body))
	req.Header = r.header.Clone()
	req.Close = true // its own connection: it must get through the cap like any other client
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

// TestServeSurvivesIdleConnectionFlood is issue 13 point 1: 2100 idle keep-alive connections
// against `serve` running under `ulimit -n 2048` used to exhaust its file handles, so that the
// embedded JetStream failed a write ("Critical write error ... too many open files") and refused
// every write until a restart, while /readyz said ok.
//
//   - With the derived cap (2048 - 512 = 1536) the listener never takes the handles JetStream
//     needs, and idle connections are closed under pressure: a signed request is stored while the
//     flood is open.
//   - With a cap set above the file limit (what an operator can still do), the handles run out
//     and a store write fails: /readyz does not say ready meanwhile, and within seconds of the
//     flood closing the embedded server is restarted in process and storing works again.
func TestServeSurvivesIdleConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve under a file limit with 2100 connections")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 4500 {
		t.Skipf("the test itself needs 4500 file handles (soft limit %d, %v)", lim.Cur, err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh for ulimit")
	}
	bin := buildBinary(t)
	tests := []struct {
		name  string
		extra string // appended to the config
		// wantCap is the cap serve logs at start.
		wantCap int
		// storeDuringFlood: a signed request must be stored while the flood is open, and serve
		// must never run out of file handles. Else it must heal after the flood.
		storeDuringFlood bool
		// warned: serve warns at start that the cap leaves JetStream too few file handles.
		warned bool
	}{
		{name: "derived cap", wantCap: 1536, storeDuringFlood: true},
		{name: "cap above the file limit heals", extra: "http: { max_connections: 5000 }\n", wantCap: 5000, warned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			floodServe(t, bin, tt.extra, tt.wantCap, tt.storeDuringFlood, tt.warned)
		})
	}
}

func floodServe(t *testing.T, bin, extra string, wantCap int, storeDuringFlood, warned bool) {
	dir := t.TempDir()
	listen, natsListen, admin := freeAddr(t), freeAddr(t), freeAddr(t)
	yaml := strings.Replace(acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")),
		`admin_listen: "127.0.0.1:0"`, fmt.Sprintf("admin_listen: %q", admin), 1) + extra
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	cmd := exec.Command("sh", "-c", `ulimit -n 2048 && exec "$0" serve --config "$1"`, bin, cfgPath)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log := stderr.String()
			if len(log) > 8000 {
				log = log[len(log)-8000:]
			}
			t.Logf("serve's log (tail):\n%s", log)
		}
	})
	waitHTTP(t, listen, exited)
	// The start line follows the listeners' start by a moment.
	want := fmt.Sprintf(`"max_connections":%d`, wantCap)
	for end := time.Now().Add(5 * time.Second); !strings.Contains(stderr.String(), "avatarbus ready") && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond) // polling interval, not an assertion
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("serve's start line does not say %s:\n%s", want, grepLines(stderr.String(), "avatarbus ready", 1))
	}
	if got := strings.Contains(stderr.String(), "http.max_connections leaves JetStream too few"); got != warned {
		t.Errorf("serve warned about the cap: %v, want %v", got, warned)
	}
	url := "http://" + listen + "/webhooks/acme"
	// One keep-alive connection to the admin server opened before the flood, so that /readyz can
	// be asked while the process has no file handle left for a new one.
	adminClient := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	if code, why := readyz(adminClient, admin); code != http.StatusOK {
		t.Fatalf("/readyz before the flood: %d %s", code, why)
	}

	// The flood: 2100 idle keep-alive connections, opened 64 at a time.
	const flood = 2100
	conns := make([]net.Conn, flood)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conns[i] = idleKeepAlive(listen, 3*time.Second)
		}()
	}
	wg.Wait()
	closeFlood := sync.OnceFunc(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	defer closeFlood()
	answered := 0
	for _, c := range conns {
		if c != nil {
			answered++
		}
	}
	t.Logf("flood: %d of %d connections were answered", answered, flood)

	// stored posts signed requests until one is stored (200) or within passes. After each 503,
	// /readyz must not answer 200, unless the embedded server was restarted (healed) meanwhile.
	stored := func(id string, within time.Duration) (bool, string) {
		deadline := time.Now().Add(within)
		var last string
		for time.Now().Before(deadline) {
			status, body := tryPost(url, newSignedRequest(t, id, time.Now(), `{"type":"video.done","data":{"id":"`+id+`"}}`))
			if status == http.StatusOK {
				return true, body
			}
			last = fmt.Sprintf("%d %s", status, body)
			if status == http.StatusServiceUnavailable {
				code, why := readyz(adminClient, admin)
				t.Logf("503; /readyz then: %d %s", code, why)
				if code == http.StatusOK && !strings.Contains(stderr.String(), "embedded NATS restarted") {
					t.Errorf("/readyz answered 200 (%s) right after a webhook was refused 503 (%s)", why, body)
				}
			}
			time.Sleep(200 * time.Millisecond) // retry interval, not an assertion
		}
		return false, last
	}
	during, last := stored("msg_during_flood", 5*time.Second)
	if storeDuringFlood && !during {
		t.Errorf("no signed request stored within 5s while %d idle connections were open; last answer: %s", flood, last)
	}
	if during {
		t.Logf("stored during the flood")
	} else {
		t.Logf("not stored during the flood; last answer: %s", last)
	}
	closeFlood()
	closed := time.Now()
	if ok, last := stored("msg_after_flood", 10*time.Second); !ok {
		t.Errorf("no signed request stored within 10s of the flood closing; last answer: %s", last)
	} else {
		t.Logf("stored %s after the flood closed", time.Since(closed).Round(10*time.Millisecond))
	}
	if code, why := readyz(adminClient, admin); code != http.StatusOK {
		t.Errorf("/readyz after the flood: %d %s, want 200", code, why)
	}
	log := stderr.String()
	emfile := strings.Contains(log, "too many open files")
	switch {
	case storeDuringFlood && emfile:
		t.Errorf("serve ran out of file handles under the derived cap:\n%s", grepLines(log, "too many open files", 5))
	case !storeDuringFlood && !during && !strings.Contains(log, "embedded NATS restarted"):
		t.Errorf("storing failed during the flood and came back without the embedded server being restarted: what healed it?")
	}
}

// grepLines returns up to n lines of s containing sub.
func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
