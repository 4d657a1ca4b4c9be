package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthcheck: exit 0 on a 2xx /readyz, 1 otherwise, with one line saying why.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	closed := freeAddr(t) // nothing listens there
	tests := []struct {
		name     string
		handler  http.HandlerFunc // nil: no server, --url is the closed address
		args     []string
		wantCode int
		wantOut  string // in stdout (code 0) or in the error (code 1)
	}{
		{"ready", answer(200, `{"status":"ok"}`), nil, 0, "ready: http://"},
		{"not ready, with the server's reason on one line", answer(503, "{\"status\":\"unavailable\",\"reason\":\"nats:\\nnot connected\"}"), nil, 1, "503 Service Unavailable: nats: not connected"},
		{"not ready, no JSON", answer(500, "oops"), nil, 1, "500 Internal Server Error"},
		{"nothing listening", nil, nil, 1, "connection refused"},
		{"too slow", slow, []string{"--timeout", "200ms"}, 1, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := "http://" + closed + "/readyz"
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				u = srv.URL + "/readyz"
			}
			start := time.Now()
			res := runCLI(t, "", append([]string{"healthcheck", "--url", u}, tt.args...)...)
			if res.code() != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", res.code(), res.err, tt.wantCode)
			}
			got := res.stdout
			if res.err != nil {
				got = res.err.Error()
			}
			if !strings.Contains(got, tt.wantOut) || strings.Contains(got, "\n") != (res.err == nil) {
				t.Errorf("output %q, want one line with %q", got, tt.wantOut)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if res := runCLI(t, "", "healthcheck", "--url", "ftp://x/readyz"); res.code() != 1 {
		t.Errorf("ftp URL: exit %d (%v), want 1", res.code(), res.err)
	}
}

func TestReadyURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ listen, want string }{
		{"127.0.0.1:9090", "http://127.0.0.1:9090/readyz"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/readyz"},
		{"[::]:9091", "http://127.0.0.1:9091/readyz"},
		{":9092", "http://127.0.0.1:9092/readyz"},
		{"[::1]:9090", "http://[::1]:9090/readyz"},
		{"admin.internal:9090", "http://admin.internal:9090/readyz"},
	} {
		got, err := readyURL(tt.listen)
		if err != nil || got != tt.want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
	if _, err := readyURL("9090"); err == nil {
		t.Error(`readyURL("9090"): no error`)
	}
}

// TestHealthcheckAgainstServe runs serve with embedded NATS and checks, through the config file
// the server reads: healthcheck --config finds its admin port and exits 0, /metrics carries
// avatarbus_build_info, and after the server stops, the healthcheck exits 1.
func TestHealthcheckAgainstServe(t *testing.T) {
	dir := t.TempDir()
	admin := freeAddr(t)
	_, adminPort, _ := net.SplitHostPort(admin)
	yaml := strings.Replace(acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(dir, "js")),
		`admin_listen: "127.0.0.1:0"`, fmt.Sprintf("admin_listen: %q\nadmin_token: %q", "0.0.0.0:"+adminPort, "healthcheck-test-admin-token"), 1)
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	r := startServe(t, mustLoadConfig(t, yaml))

	var res cliResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		res = runCLI(t, "", "healthcheck", "--config", cfgPath)
		if res.code() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if want := "ready: http://127.0.0.1:" + adminPort + "/readyz\n"; res.code() != 0 || res.stdout != want {
		t.Fatalf("healthcheck --config: exit %d, %q (%v); want 0, %q", res.code(), res.stdout, res.err, want)
	}

	resp, err := http.Get("http://127.0.0.1:" + adminPort + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `avatarbus_build_info{commit="`) || !strings.Contains(string(body), `go_version="go`) {
		t.Errorf("/metrics has no avatarbus_build_info:\n%s", grepLines(string(body), "build_info", 5))
	}

	// Stopped: the admin port closes, and the healthcheck says so (the cleanup waits for serve).
	r.cancel()
	deadline = time.Now().Add(15 * time.Second)
	for {
		res = runCLI(t, "", "healthcheck", "--config", cfgPath, "--timeout", "1s")
		if res.code() != 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.code() != 1 {
		t.Errorf("after stop: exit %d (%v), want 1", res.code(), res.err)
	}
}
