// Package nodeexample_test runs the Node.js example against a real avatarbus: the built binary's
// serve with its embedded NATS (credentials on), a signed source and a route to the example's
// receiver. It needs node and npm (CI has them); without them it fails, it does not skip.
package nodeexample_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/avatarbus/avatarbus/internal/testbin"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/verify"
)

const (
	// sourceSecret signs the webhooks posted to avatarbus; routeSecret signs the route's deliveries.
	sourceSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	routeSecret  = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
	otherSecret  = "whsec_WllYV1ZVVFNSUVBPTk1MS0pJSEdGRURDQkE="
	stream       = "AVATAR"
	durable      = "node-test"
)

func TestNodeExample(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: the Node.js example needs node >= 20 and npm (%v)", tool, err)
		}
	}
	// npm ci and go build are independent; together they are most of the test's time.
	var bin string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); bin = buildAvatarbus(t) }()
	npmErr := run(3*time.Minute, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund")
	wg.Wait() // before any Fatal: the build goroutine reports through t
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	if t.Failed() {
		t.FailNow()
	}

	receiver := start(t, "receiver", []string{"WEBHOOK_SECRET=" + routeSecret, "LISTEN=127.0.0.1:0"}, "node", "receiver.js")
	receiverAddr := receiver.waitFor(t, regexp.MustCompile(`receiver listening on (\S+)`), 10*time.Second)[1]
	receiverURL := "http://" + receiverAddr + "/hooks/avatar"

	listen, adminListen, natsListen := freeAddr(t), freeAddr(t), freeAddr(t)
	storeDir := filepath.Join(t.TempDir(), "jetstream")
	cfg := fmt.Sprintf(`listen: %q
admin_listen: %q
nats:
  embedded:
    listen: %q
    store_dir: %q
stream:
  name: %s
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
      credits.low: avatar.account.credits_low
routes:
  - name: node
    filter: avatar.video.completed.*
    url: %q
    secret: %q
    timeout: 2s
    backoff: [200ms]
    max_deliveries: 3
`, listen, adminListen, natsListen, storeDir, stream, sourceSecret, receiverURL, routeSecret)
	cfgPath := filepath.Join(t.TempDir(), "avatarbus.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, "avatarbus", nil, bin, "serve", "--config", cfgPath)
	waitReady(t, "http://"+adminListen+"/readyz", 20*time.Second)

	credsFile := filepath.Join(storeDir, "nats-credentials.json")
	consumer := start(t, "consumer", []string{
		"NATS_URL=nats://" + natsListen, "NATS_CREDENTIALS_FILE=" + credsFile,
		"STREAM=" + stream, "DURABLE=" + durable,
	}, "node", "consumer.js")
	consumer.waitFor(t, regexp.MustCompile(`consuming avatar\.video\.completed\.\* from AVATAR`), 15*time.Second)

	// A credits.low event first: outside both filters, so neither the consumer nor the route sees it;
	// then the finished video both must see.
	postWebhook(t, "http://"+listen+"/webhooks/acme", "msg_node_low", `{"type":"credits.low","timestamp":"2026-11-26T10:00:00Z","data":{"remaining":3}}`)
	postWebhook(t, "http://"+listen+"/webhooks/acme", "msg_node_1", `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_42"}}`)
	const eventID = "acme:msg_node_1"

	t.Run("consumer", func(t *testing.T) {
		m := consumer.waitFor(t, regexp.MustCompile(`event type=avatar\.video\.completed subject=vid_42 id=`+regexp.QuoteMeta(eventID)+` platform=acme seq=(\d+)`), 15*time.Second)
		consumer.waitFor(t, regexp.MustCompile(`acked id=`+regexp.QuoteMeta(eventID)+` seq=`+m[1]+`\b`), 5*time.Second)
		if out := consumer.output(); strings.Contains(out, "credits_low") || strings.Count(out, "event type=") != 1 {
			t.Errorf("the consumer printed other events than the one finished video:\n%s", out)
		}
		// The ack reached JetStream: nothing pending, nothing waiting for an ack, the ack floor at the event.
		info := consumerInfo(t, natsListen, credsFile)
		if info.NumPending != 0 || info.NumAckPending != 0 || fmt.Sprint(info.AckFloor.Stream) != m[1] {
			t.Errorf("consumer %s: pending %d, ack pending %d, ack floor %d; want 0, 0, %s",
				durable, info.NumPending, info.NumAckPending, info.AckFloor.Stream, m[1])
		}
		if info.Config.AckPolicy != jetstream.AckExplicitPolicy || info.Config.Durable != durable {
			t.Errorf("consumer config: ack policy %v, durable %q; want explicit, %q", info.Config.AckPolicy, info.Config.Durable, durable)
		}
	})

	t.Run("receiver verifies the route delivery", func(t *testing.T) {
		receiver.waitFor(t, regexp.MustCompile(`verified webhook-id=`+regexp.QuoteMeta(eventID)+` type=avatar\.video\.completed subject=vid_42 id=`+regexp.QuoteMeta(eventID)), 15*time.Second)
		if out := receiver.output(); strings.Contains(out, "rejected") || strings.Contains(out, "credits_low") {
			t.Errorf("the receiver rejected a delivery or got an event outside the route's filter:\n%s", out)
		}
	})

	t.Run("receiver answers", func(t *testing.T) {
		for _, tt := range signatureCases(time.Now()) {
			t.Run(tt.name, func(t *testing.T) {
				header, body := tt.request(t)
				req, err := http.NewRequest(http.MethodPost, receiverURL, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header = header
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				receiver.waitFor(t, regexp.MustCompile(regexp.QuoteMeta(tt.wantLog)), 5*time.Second)
			})
		}
	})
}

// TestPythonVerify runs examples/python/verify.py (standard library only, so it runs where PyPI
// does not) over the same requests as the Node receiver. The rest of the Python example needs
// nats-py and cloudevents from PyPI and is not run here.
func TestPythonVerify(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is not installed: %v", err)
	}
	type pyCase struct {
		Headers map[string]string `json:"headers"`
		Body    []byte            `json:"body"` // base64 in JSON
	}
	cases := signatureCases(time.Now())
	var in []pyCase
	for _, tt := range cases {
		header, body := tt.request(t)
		h := map[string]string{}
		for k := range header {
			h[strings.ToLower(k)] = strings.Join(header.Values(k), ", ")
		}
		in = append(in, pyCase{Headers: h, Body: body})
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const script = `import base64, json, sys
sys.path.insert(0, "../python")
from verify import secret_key, verify
key = secret_key(sys.argv[1])
for c in json.load(sys.stdin):
    print(json.dumps(verify(key, c["headers"], base64.b64decode(c["body"]))))
`
	cmd := exec.Command("python3", "-c", script, routeSecret)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 verify.py: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("python3 printed %d results for %d requests:\n%s", len(lines), len(cases), out)
	}
	for i, tt := range cases {
		var reason *string
		if err := json.Unmarshal([]byte(lines[i]), &reason); err != nil {
			t.Fatalf("%s: %q: %v", tt.name, lines[i], err)
		}
		switch {
		case tt.wantReason == "" && reason != nil:
			t.Errorf("%s: verify.py rejected a genuine request: %s", tt.name, *reason)
		case tt.wantReason != "" && (reason == nil || !strings.HasPrefix(*reason, tt.wantReason)):
			t.Errorf("%s: verify.py answered %s, want a rejection %q", tt.name, lines[i], tt.wantReason)
		}
	}
}

// sigCase is a request to a route receiver: signed by avatarbus's own signer (verify.Sign, which
// deliver.Post uses), then possibly changed.
type sigCase struct {
	name, id, secret string
	at               time.Time
	body             []byte // sent; the signature is always over the original body
	header           func(h http.Header)
	wantStatus       int    // the Node receiver's answer
	wantLog          string // its log line
	wantReason       string // a verifier's reason, "" for a genuine request
}

const ceBody = `{"specversion":"1.0","id":"direct:1","source":"/platforms/direct","type":"avatar.video.completed","subject":"vid_7","platform":"direct","data":{}}`

func signatureCases(now time.Time) []sigCase {
	body := []byte(ceBody)
	const noMatch = "no matching v1 signature"
	return []sigCase{
		{name: "valid", id: "direct:1", secret: routeSecret, at: now, body: body,
			wantStatus: http.StatusNoContent, wantLog: "verified webhook-id=direct:1 type=avatar.video.completed subject=vid_7"},
		{name: "repeat of a delivered id", id: "direct:1", secret: routeSecret, at: now, body: body,
			wantStatus: http.StatusNoContent, wantLog: "duplicate webhook-id=direct:1"},
		{name: "other secret", id: "direct:2", secret: otherSecret, at: now, body: body,
			wantStatus: http.StatusUnauthorized, wantLog: "rejected direct:2: " + noMatch, wantReason: noMatch},
		{name: "body changed", id: "direct:3", secret: routeSecret, at: now, body: bytes.Replace(body, []byte("vid_7"), []byte("vid_8"), 1),
			wantStatus: http.StatusUnauthorized, wantLog: "rejected direct:3: " + noMatch, wantReason: noMatch},
		{name: "stale timestamp", id: "direct:4", secret: routeSecret, at: now.Add(-10 * time.Minute), body: body,
			wantStatus: http.StatusUnauthorized, wantLog: "rejected direct:4: webhook-timestamp is too far from now", wantReason: "webhook-timestamp is too far"},
		{name: "no signature", id: "direct:5", secret: routeSecret, at: now, body: body, header: func(h http.Header) { h.Del("Webhook-Signature") },
			wantStatus: http.StatusUnauthorized, wantLog: "rejected direct:5: missing", wantReason: "missing"},
		{name: "rotation: second signature matches", id: "direct:6", secret: routeSecret, at: now, body: body,
			header:     func(h http.Header) { h.Set("Webhook-Signature", "v1,AAAA "+h.Get("Webhook-Signature")) },
			wantStatus: http.StatusNoContent, wantLog: "verified webhook-id=direct:6"},
	}
}

// request returns the headers and body to send.
func (c sigCase) request(t *testing.T) (http.Header, []byte) {
	t.Helper()
	signed, err := verify.Sign(verify.Config{Scheme: "standardwebhooks"}, c.secret, c.id, c.at, []byte(ceBody))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header(signed.Header).Clone()
	h.Set("Content-Type", "application/cloudevents+json")
	if c.header != nil {
		c.header(h)
	}
	return h, c.body
}

// proc is a started command whose stdout and stderr are kept for assertions.
type proc struct {
	name string
	mu   sync.Mutex
	out  bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output matches re and returns the first match's submatches.
func (p *proc) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s; its output:\n%s", p.name, re, timeout, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs name with args in the example's directory, with env added to the test's environment
// (without AVATARBUS_* variables, which would change avatarbus's config). The test's cleanup stops
// it with SIGTERM and logs its output when the test failed.
func start(t *testing.T, label string, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: label}
	cmd := exec.Command(name, args...)
	cmd.Env = append(testbin.Env(), env...)
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", label, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", label, p.output())
		}
	})
	return p
}

// run runs a command in the example's directory; its error carries the command's output.
func run(timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// buildAvatarbus builds cmd/avatarbus into a temp dir (without -race: the binary is the subject
// of the test, not its code). It runs beside npm ci in another goroutine, so it reports with Errorf.
func buildAvatarbus(t *testing.T) string {
	bin, err := testbin.Build(t.TempDir(), false)
	if err != nil {
		t.Error(err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s (last: %v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postWebhook posts body to avatarbus's source signed as a Standard Webhooks sender and wants a 2xx.
func postWebhook(t *testing.T, url, msgID, body string) {
	t.Helper()
	signed, err := verify.Sign(verify.Config{Scheme: "standardwebhooks"}, sourceSecret, msgID, time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = http.Header(signed.Header).Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer bytes.Buffer
	_, _ = answer.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s (%s): %d %s", url, msgID, resp.StatusCode, answer.String())
	}
}

// consumerInfo reads the durable consumer's state as user consumer, the same login as the example.
func consumerInfo(t *testing.T, natsListen, credsFile string) *jetstream.ConsumerInfo {
	t.Helper()
	raw, err := os.ReadFile(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		Consumer struct{ User, Password string } `json:"consumer"`
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+natsListen, nats.UserInfo(creds.Consumer.User, creds.Consumer.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
