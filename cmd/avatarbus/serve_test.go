package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/avatarbus/avatarbus/internal/testbin"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/verify"
)

// swSecret is the secret of the official Standard Webhooks test vector.
const swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadConfig writes yaml to a file in a temp dir and loads it with an empty environment.
func loadConfig(t *testing.T, yaml string) (*config.Config, error) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "avatarbus.yaml", yaml)
	cfg, _, err := config.Load(config.LoadOptions{Path: path, Env: []string{}})
	return cfg, err
}

func mustLoadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := loadConfig(t, yaml)
	if err != nil {
		t.Fatalf("config.Load: %v\nconfig:\n%s", err, yaml)
	}
	return cfg
}

// acmeConfig is a config with one Standard Webhooks source, acme, on the given addresses.
func acmeConfig(listen, natsListen, storeDir string) string {
	return fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: %q
    store_dir: %q
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
`, listen, natsListen, storeDir, swSecret)
}

// running is serve running in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// startServe runs serve(ctx, cfg) in a goroutine and waits until its HTTP port answers. The
// test's cleanup stops it if the test did not.
func startServe(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	if cfg.NATS.URL == "" {
		embeddedLogins.Store(cfg.NATS.Embedded.Listen, cfg.NATS.Embedded)
	}
	go func() { r.done <- serve(ctx, cfg, zerolog.Nop()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not return at cleanup")
		}
	})
	waitHTTP(t, cfg.Listen, r.done)
	return r
}

// embeddedLogins maps the nats.embedded.listen of every serve a test started to its config, so
// test clients can log in as serve's CLI commands do.
var embeddedLogins sync.Map // string -> config.Embedded

// connectEmbedded connects a test client to the embedded server that startServe runs at natsAddr,
// logged in as user avatarbus with the password serve generated or was given.
func connectEmbedded(t *testing.T, natsAddr string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return brokertest.Connect(t, "nats://"+natsAddr, append([]nats.Option{embeddedCredentials(t, natsAddr).Avatarbus.Option()}, opts...)...)
}

// embeddedCredentials are the logins of the embedded server that startServe runs at natsAddr.
func embeddedCredentials(t *testing.T, natsAddr string) broker.Credentials {
	t.Helper()
	v, ok := embeddedLogins.Load(natsAddr)
	if !ok {
		t.Fatalf("no serve started with nats.embedded.listen %s", natsAddr)
	}
	e := v.(config.Embedded)
	if e.AvatarbusPassword != "" {
		return broker.Credentials{Avatarbus: broker.UserPassword{User: broker.AvatarbusUser, Password: e.AvatarbusPassword},
			Consumer: broker.UserPassword{User: broker.ConsumerUser, Password: e.ConsumerPassword}}
	}
	c, err := broker.ReadCredentials(e.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stop cancels serve's context (what SIGTERM does) and checks it returns nil within 5s.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("serve returned %v after its context ended, want nil", err)
		}
		r.done <- nil // let the cleanup see it returned
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return within 5s of its context ending")
	}
}

// waitHTTP polls addr until an HTTP server answers there, failing early when exited reports that
// the server is gone.
func waitHTTP(t *testing.T, addr string, exited <-chan error) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodOptions, "http://"+addr+"/webhooks/probe", nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited before answering on %s: %v", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers on %s after 30s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not an assertion
	}
}

// signedRequest is a Standard Webhooks request for source acme.
type signedRequest struct {
	header http.Header
	body   string
}

func newSignedRequest(t *testing.T, msgID string, ts time.Time, body string) signedRequest {
	t.Helper()
	sig, err := verify.SignStandardWebhooks(swSecret, msgID, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return signedRequest{header: h, body: body}
}

// answer is the decoded reply to a webhook.
type answer struct {
	status int
	body   map[string]any
	raw    string
}

func postWebhook(t *testing.T, url string, r signedRequest) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = r.header.Clone()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("POST %s: answer is not JSON: %q", url, raw)
	}
	return a
}

func TestServeEmbeddedKeepsAckedEventsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	cfg := mustLoadConfig(t, acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")))
	url := "http://" + listen + "/webhooks/acme"

	const n = 20
	first := startServe(t, cfg)
	now := time.Now()
	reqs := make([]signedRequest, n)
	acked := map[string]uint64{} // id -> seq of every event answered 200
	for i := range reqs {
		body := fmt.Sprintf(`{"type":"video.done","data":{"id":"vid_%d"}}`, i)
		reqs[i] = newSignedRequest(t, fmt.Sprintf("msg_%02d", i), now, body)
		a := postWebhook(t, url, reqs[i])
		if a.status != http.StatusOK {
			t.Fatalf("request %d: status %d %s", i, a.status, a.raw)
		}
		id, _ := a.body["id"].(string)
		seq, _ := a.body["seq"].(float64)
		if id != fmt.Sprintf("acme:msg_%02d", i) || a.body["duplicate"] != false || seq == 0 {
			t.Fatalf("request %d: answer %s", i, a.raw)
		}
		acked[id] = uint64(seq)
	}
	if len(acked) != n {
		t.Fatalf("%d distinct ids answered, want %d", len(acked), n)
	}
	first.stop(t)

	startServe(t, cfg) // same config: same ports, same store
	const again = 7
	a := postWebhook(t, url, reqs[again])
	if a.status != http.StatusOK || a.body["duplicate"] != true {
		t.Fatalf("redelivery after restart: status %d %s, want 200 with duplicate true", a.status, a.raw)
	}
	wantID := fmt.Sprintf("acme:msg_%02d", again)
	if a.body["id"] != wantID {
		t.Fatalf("redelivery after restart answered id %v, want %s", a.body["id"], wantID)
	}
	if seq, _ := a.body["seq"].(float64); uint64(seq) != acked[wantID] {
		t.Errorf("redelivery after restart answered seq %v, want the original %d", a.body["seq"], acked[wantID])
	}

	// An independent client on the embedded server's client port sees exactly what was acked.
	stream, info := avatarStreamInfo(t, natsListen)
	if info.State.Msgs != n {
		t.Fatalf("stream AVATAR holds %d messages, want %d", info.State.Msgs, n)
	}
	stored := map[string]uint64{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatalf("get seq %d: %v", seq, err)
		}
		id := msg.Header.Get(jetstream.MsgIDHeader)
		if _, dup := stored[id]; dup {
			t.Errorf("id %q stored twice", id)
		}
		stored[id] = seq
		if msg.Subject != "avatar.video.completed.acme" {
			t.Errorf("seq %d on subject %q", seq, msg.Subject)
		}
	}
	if !equalIDs(acked, stored) {
		t.Fatalf("stored ids differ from acked ids:\nacked:  %v\nstored: %v", acked, stored)
	}
}

// equalIDs reports whether both maps hold the same ids with the same sequences.
func equalIDs(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestServeRefusesBadConfig(t *testing.T) {
	configFor := func(storeDir, window, sources string) string {
		return fmt.Sprintf(`listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: "127.0.0.1:0"
    store_dir: %q
stream:
  duplicate_window: %s
sources:
%s`, storeDir, window, sources)
	}
	tests := []struct {
		name    string
		window  string // stream.duplicate_window
		sources string
		// mutate changes the loaded config before serve, for problems config.Load refuses in a
		// file: serve must refuse them too in a config built in code.
		mutate func(*config.Config)
		want   []string // what serve's error must say
	}{
		{
			name:   "source without secrets (fail closed)",
			window: "1h",
			sources: `  - name: acme
    platform: standardwebhooks
    secrets: ["` + swSecret + `"]
`,
			mutate: func(c *config.Config) { c.Sources[0].Secrets = nil },
			want:   []string{"sources[0] (acme).verify", "no secrets"},
		},
		{
			name:   "hmac content id.timestamp.body without a timestamp header",
			window: "1h",
			sources: `  - name: hg
    platform: hmac
    secrets: ["s3cret"]
    verify:
      scheme: hmac
      content: id.timestamp.body
      id_header: X-Id
`,
			want: []string{"sources[0] (hg).verify", "id.timestamp.body", "timestamp header"},
		},
		{
			name:   "duplicate window shorter than the default signature tolerance",
			window: "1m",
			sources: `  - name: acme
    platform: standardwebhooks
    secrets: ["` + swSecret + `"]
`,
			want: []string{"sources[0] (acme)", "stream.duplicate_window", "1m0s", "shorter than the signature tolerance 5m0s"},
		},
		{
			name:   "unknown platform",
			window: "1h",
			sources: `  - name: acme
    platform: heygenn
    secrets: ["s3cret"]
`,
			want: []string{"sources[0] (acme).platform", `unknown platform "heygenn"`, "heygen"},
		},
		{
			name:   "events mapped to a type that is not canonical",
			window: "1h",
			sources: `  - name: acme
    platform: standardwebhooks
    secrets: ["` + swSecret + `"]
    events: { video.done: avatar.video.complete }
`,
			want: []string{"sources[0] (acme).events[\"video.done\"]", `"avatar.video.complete" is not a canonical type`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storeDir := filepath.Join(t.TempDir(), "jetstream")
			cfg := mustLoadConfig(t, configFor(storeDir, tt.window, tt.sources))
			if tt.mutate != nil {
				tt.mutate(cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, zerolog.Nop()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not return: it started with a bad config")
			}
			if err == nil {
				t.Fatal("serve returned nil for a bad config")
			}
			t.Logf("serve: %v", err)
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error does not wrap config.ErrInvalid: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			// Nothing was started: the embedded server would have created its store.
			if _, statErr := os.Stat(storeDir); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("store dir %s exists (stat: %v): serve started the embedded server before refusing", storeDir, statErr)
			}
		})
	}

	// The file form of a source without secrets is refused by config.Load already, naming the key.
	_, err := loadConfig(t, configFor(filepath.Join(t.TempDir(), "js"), "1h", `  - name: acme
    platform: standardwebhooks
`))
	if err == nil || !strings.Contains(err.Error(), "sources[0].secrets") || !strings.Contains(err.Error(), "at least one secret") {
		t.Errorf("config.Load of a source without secrets: %v, want an error naming sources[0].secrets", err)
	}
}

// buildBinary builds the avatarbus command into a temp dir (with -race when the tests run with it).
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := testbin.Build(t.TempDir(), raceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// cleanEnv is the test's environment without AVATARBUS_* variables, which would change the config.
func cleanEnv() []string { return testbin.Env() }

func TestServeStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)

	tests := []struct {
		name string
		// args returns the serve arguments; dir is the (empty) working directory.
		args func(t *testing.T, dir, listen, natsListen, storeDir string) []string
		// stderrOnce are strings the log must contain once each.
		stderrOnce []string
		// post says whether source acme exists and a signed request is posted before SIGTERM.
		post bool
	}{
		{
			name: "config file",
			args: func(t *testing.T, dir, listen, natsListen, storeDir string) []string {
				yaml := acmeConfig(listen, natsListen, storeDir) + `  - name: open
    platform: standardwebhooks
    verify: {scheme: none}
`
				return []string{"serve", "--config", writeFile(t, t.TempDir(), "config.yaml", yaml)}
			},
			// a source without verification is warned about, once.
			stderrOnce: []string{"verification is off"},
			post:       true,
		},
		{
			name: "no config file, flags only",
			args: func(t *testing.T, dir, listen, natsListen, storeDir string) []string {
				return []string{"serve", "--listen", listen, "--admin-listen", "127.0.0.1:0", "--nats-listen", natsListen, "--store-dir", storeDir}
			},
			stderrOnce: []string{"no sources configured"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			listen, natsListen := freeAddr(t), freeAddr(t)
			storeDir := filepath.Join(t.TempDir(), "jetstream")
			cmd := exec.Command(bin, tt.args(t, dir, listen, natsListen, storeDir)...)
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					_ = cmd.Process.Kill()
					<-exited
					t.Logf("stderr:\n%s", stderr.String())
				}
			})

			waitHTTP(t, listen, exited)
			// The embedded server listens where the flags or the config say.
			if c, err := net.DialTimeout("tcp", natsListen, 2*time.Second); err != nil {
				t.Errorf("embedded NATS not listening on %s: %v", natsListen, err)
			} else {
				_ = c.Close()
			}

			if tt.post {
				// Leaves an idle keep-alive connection open, which the shutdown must not wait for.
				r := newSignedRequest(t, "msg_sigterm", time.Now(), `{"type":"video.done","data":{"id":"v"}}`)
				if a := postWebhook(t, "http://"+listen+"/webhooks/acme", r); a.status != http.StatusOK {
					t.Fatalf("signed request: %d %s", a.status, a.raw)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-exited:
				stopped = true
			case <-time.After(5 * time.Second):
				t.Fatal("avatarbus did not exit within 5s of SIGTERM")
			}
			log := stderr.String()
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v (want status 0)\nstderr:\n%s", err, log)
			}
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit status %d, want 0", code)
			}
			if !strings.Contains(log, `"stopped"`) {
				t.Errorf("stderr does not report \"stopped\":\n%s", log)
			}
			for _, w := range tt.stderrOnce {
				if c := strings.Count(log, w); c != 1 {
					t.Errorf("stderr has %q %d times, want once:\n%s", w, c, log)
				}
			}
			if strings.Contains(log, `"level":"error"`) {
				t.Errorf("errors logged:\n%s", log)
			}
			if _, err := os.Stat(storeDir); err != nil {
				t.Errorf("store dir: %v", err)
			}
			// Nothing was written into the working directory (no ./data from the defaults).
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				names := make([]string, len(ents))
				for i, e := range ents {
					names[i] = e.Name()
				}
				sort.Strings(names)
				t.Errorf("working directory not left empty: %v", names)
			}
		})
	}
}

// TestNormalizeMatchesServe checks that `avatarbus normalize --source` prints the id and subject
// that serve answers (and stores) for the same request: the id is what deduplicates, so an operator
// debugging a duplicate must be able to trust it.
func TestNormalizeMatchesServe(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	yaml := fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  embedded:
    listen: "127.0.0.1:0"
    store_dir: %q
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
  - name: heygen
    platform: heygen
    secrets: ["heygen-secret"]
  - name: hx
    platform: hmac
    secrets: ["hx-secret"]
    verify:
      id_header: X-Id
`, listen, filepath.Join(dir, "jetstream"), swSecret)
	configFile := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))

	heygenBody := `{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`
	hxBody := `{"event_type":"video.done","data":{"id":"v2"}}`
	sw := newSignedRequest(t, "msg_n", time.Now(), `{"type":"video.done","data":{"id":"v3"}}`)
	tests := []struct {
		source string
		header http.Header
		body   string
	}{
		{"acme", sw.header, sw.body},
		// HeyGen as documented; the delivery also carries a webhook-id and a Heygen-Event-Id, which
		// are unsigned and must not change the id.
		{"heygen", http.Header{"Heygen-Signature": {hmacHex("heygen-secret", heygenBody)}, "Heygen-Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
			"Heygen-Event-Id": {"evt_h"}, "Webhook-Id": {"msg_h"}}, heygenBody},
		// A generic hmac sender whose message id is in X-Id.
		{"hx", http.Header{"Signature": {hmacHex("hx-secret", hxBody)}, "X-Id": {"evt_77"}}, hxBody},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			a := postWebhook(t, "http://"+listen+"/webhooks/"+tt.source, signedRequest{header: tt.header, body: tt.body})
			if a.status != http.StatusOK {
				t.Fatalf("serve: %d %s", a.status, a.raw)
			}
			args := []string{"normalize", "--config", configFile, "--source", tt.source}
			for k, vs := range tt.header {
				for _, v := range vs {
					args = append(args, "--header", k+": "+v)
				}
			}
			r := runCLI(t, tt.body, args...)
			if r.err != nil {
				t.Fatalf("normalize: %v", r.err)
			}
			want := fmt.Sprintf("subject: %s\nnats-msg-id: %s\n", a.body["subject"], a.body["id"])
			if r.stderr != want {
				t.Errorf("normalize printed\n%s\nserve answered\n%s", r.stderr, want)
			}
		})
	}
}

// TestServeReportsBusyListenPort: when the ingest port is taken, serve fails at once naming the
// address, and stops the embedded server it had started (its port is free again).
func TestServeReportsBusyListenPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	natsListen := freeAddr(t)
	cfg := mustLoadConfig(t, acmeConfig(busy.Addr().String(), natsListen, filepath.Join(t.TempDir(), "jetstream")))

	done := make(chan error, 1)
	go func() { done <- serve(context.Background(), cfg, zerolog.Nop()) }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve kept running with its listen port taken")
	}
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) {
		t.Fatalf("serve: %v, want an error naming the listen address", err)
	}
	ln, err := net.Listen("tcp", natsListen)
	if err != nil {
		t.Fatalf("the embedded server still holds %s after serve returned: %v", natsListen, err)
	}
	_ = ln.Close()
}
