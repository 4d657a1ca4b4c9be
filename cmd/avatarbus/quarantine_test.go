package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/platform"
)

// wrongSecret is a well-formed Standard Webhooks secret that is not the one requests are signed
// with: the misconfiguration an operator fixes before re-checking quarantined requests.
const wrongSecret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"

// quarantineConfigYAML is a config for an external NATS at natsURL with source acme and secret.
func quarantineConfigYAML(natsURL, secret string) string {
	return fmt.Sprintf(`nats: { url: %q }
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
`, natsURL, secret)
}

// startWiredIngest runs the ingest tier wired from cfg the way serve wires it (brokerConfig,
// buildSources, quarantineOf, httpConfig) and returns its URL.
func startWiredIngest(t *testing.T, cfgYAML string) string {
	t.Helper()
	cfg := mustLoadConfig(t, cfgYAML)
	sources, err := buildSources(cfg, platform.Default())
	if err != nil {
		t.Fatal(err)
	}
	b := openWiredBroker(t, cfg)
	srv := ingest.New(ingest.Config{Sources: sources, SubjectPrefix: cfg.Stream.SubjectPrefix, Publisher: b.Publisher(),
		Log: zerolog.Nop(), Quarantine: quarantineOf(b), HTTP: httpConfig(cfg)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}

// openWiredBroker opens the broker of cfg as serve does, checking that its quarantine is on by
// default, and closes it when the test ends.
func openWiredBroker(t *testing.T, cfg *config.Config) *broker.Broker {
	t.Helper()
	bcfg, err := brokerConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bcfg.Quarantine == nil || bcfg.Quarantine.Name != "AVATAR_QUARANTINE" || bcfg.Quarantine.MaxBytes != 256<<20 {
		t.Fatalf("quarantine is on by default: %+v", bcfg.Quarantine)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, bcfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestVerifyFromQuarantine: a genuine request refused because the configured secret was wrong is
// kept; once the secret is fixed, verify --from-quarantine validates it (exit 0), and with the
// wrong secret it is still refused (exit 1).
func TestVerifyFromQuarantine(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	natsURL := srv.ClientURL()
	url := startWiredIngest(t, quarantineConfigYAML(natsURL, wrongSecret))

	body := `{"type":"video.done","data":{"id":"vid_q"}}`
	signedAt := time.Now().Add(-10 * time.Minute) // outside the 5 min tolerance when it arrives
	for _, r := range []signedRequest{
		newSignedRequest(t, "msg_q1", time.Now(), body),
		newSignedRequest(t, "msg_q2", signedAt, body),
	} {
		if a := postWebhook(t, url+"/webhooks/acme", r); a.status != http.StatusUnauthorized {
			t.Fatalf("with the wrong secret configured: %d %s", a.status, a.raw)
		}
	}

	dir := t.TempDir()
	fixed := writeFile(t, dir, "fixed.yaml", quarantineConfigYAML(natsURL, swSecret))
	broken := writeFile(t, dir, "broken.yaml", quarantineConfigYAML(natsURL, wrongSecret))
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"fixed config", []string{"--from-quarantine", "1", "--config", fixed}, 0,
			[]string{"quarantined request 1: source acme, refused signature_mismatch", "valid: scheme standardwebhooks, message id msg_q1"}},
		{"still broken config", []string{"--from-quarantine", "1", "--config", broken}, 1,
			[]string{"invalid: signature_mismatch"}},
		{"right secret by flag", []string{"--from-quarantine", "1", "--nats-url", natsURL, "--platform", "standardwebhooks", "--secret", swSecret}, 0,
			[]string{"valid: scheme standardwebhooks"}},
		{"wrong secret by flag", []string{"--from-quarantine", "1", "--nats-url", natsURL, "--platform", "standardwebhooks", "--secret", wrongSecret}, 1,
			[]string{"invalid: signature_mismatch"}},
		{"stale as of its arrival", []string{"--from-quarantine", "2", "--config", fixed}, 1,
			[]string{"refused timestamp_out_of_tolerance", "invalid: timestamp_out_of_tolerance"}},
		{"stale, judged as of its signing", []string{"--from-quarantine", "2", "--config", fixed, "--at", strconv.FormatInt(signedAt.Unix(), 10)}, 0,
			[]string{"valid: scheme standardwebhooks, message id msg_q2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"verify"}, tt.args...)...)
			if r.code() != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nerr: %v", r.code(), tt.code, r.stdout, r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no such sequence", []string{"--from-quarantine", "99", "--config", fixed}, "sequence 99"},
		{"sequence zero", []string{"--from-quarantine", "0", "--config", fixed}, "sequences start at 1"},
		{"source not in the config", []string{"--from-quarantine", "1", "--nats-url", natsURL}, `no source "acme" in the config; give --config`},
		{"with a capture", []string{"--from-quarantine", "1", "--config", fixed, "--header", "a: b"}, "--header cannot be given"},
		{"no server", []string{"--from-quarantine", "1", "--nats-url", "nats://127.0.0.1:1", "--platform", "standardwebhooks", "--secret", swSecret}, "connect to NATS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"verify"}, tt.args...)...)
			if r.code() != 2 || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("exit %d, err %v; want exit 2 with %q", r.code(), r.err, tt.want)
			}
		})
	}
}

// TestServeQuarantinesAndLimits runs serve itself (embedded JetStream) with a rate limit: a
// tampered request is answered 401 and kept, verify --from-quarantine reads it through the same
// config file, and a burst past the limit is answered 429 with Retry-After.
func TestServeQuarantinesAndLimits(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := acmeConfig(listen, natsListen, dir+"/jetstream") + "    rate_limit: { rps: 0.5, burst: 2 }\nhttp: { read_header_timeout: 2s }\n"
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))
	url := "http://" + listen + "/webhooks/acme"

	r := newSignedRequest(t, "msg_serve_q", time.Now(), `{"type":"video.done","data":{"id":"v"}}`)
	r.body = `{"type":"video.done","data":{"id":"forged"}}`
	if a := postWebhook(t, url, r); a.status != http.StatusUnauthorized {
		t.Fatalf("tampered: %d %s", a.status, a.raw)
	}
	res := runCLI(t, "", "verify", "--from-quarantine", "1", "--config", cfgPath)
	if res.code() != 1 || !strings.Contains(res.stdout, "quarantined request 1: source acme, refused signature_mismatch") ||
		!strings.Contains(res.stdout, "invalid: signature_mismatch") {
		t.Fatalf("exit %d\n%s\n%v", res.code(), res.stdout, res.err)
	}

	var last answer
	for i := range 3 {
		last = postWebhook(t, url, newSignedRequest(t, fmt.Sprintf("msg_burst%d", i), time.Now(), `{"type":"video.done","data":{"id":"v"}}`))
	}
	if last.status != http.StatusTooManyRequests || last.body["error"] != "rate_limited" {
		t.Fatalf("third request of a burst of 2 (the 401 spent the unverified budget, not a token): %d %s", last.status, last.raw)
	}
}

// TestVerifyFromQuarantineUnconfirmed: a callback kept because the platform's API did not confirm
// it passed verification; verify says so, with what the platform said, and exits 1.
func TestVerifyFromQuarantineUnconfirmed(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	cfgYAML := fmt.Sprintf(`nats: { url: %q }
sources:
  - name: did
    platform: did
    secrets: ["tok-0123456789"]
`, srv.ClientURL())
	b := openWiredBroker(t, mustLoadConfig(t, cfgYAML))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, err := b.Quarantine().Keep(ctx, "quarantine.avatar.did", &broker.Refused{Source: "did", Reason: platformapi.ReasonUnconfirmed,
		Detail: `the platform does not know talk "tlk_forged" (404)`, ReceivedAt: time.Now(), Path: "/webhooks/did", QueryDropped: true,
		Body: []byte(`{"id":"tlk_forged","status":"done"}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "verify", "--from-quarantine", strconv.FormatUint(seq, 10), "--config", writeFile(t, t.TempDir(), "c.yaml", cfgYAML))
	if r.code() != 1 || !strings.Contains(r.stdout, "refused unconfirmed") ||
		!strings.Contains(r.stdout, `did not confirm it: the platform does not know talk "tlk_forged" (404)`) || strings.Contains(r.stdout, "invalid:") {
		t.Fatalf("exit %d, err %v\n%s", r.code(), r.err, r.stdout)
	}
}

// TestReverifyFromTheAdminAPI: the console's Re-verify button (POST
// /api/v1/quarantine/{seq}/verify) re-reads the source's secret file at each click, so fixing
// the file is enough: first still not valid, then valid, without a restart.
func TestReverifyFromTheAdminAPI(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "acme.secret", wrongSecret)
	cfgYAML := fmt.Sprintf("nats: { url: %q }\nsources:\n  - name: acme\n    platform: standardwebhooks\n    secrets: [\"@%s\"]\n", srv.ClientURL(), secretFile)
	url := startWiredIngest(t, cfgYAML)
	body := `{"type":"video.done","data":{"id":"vid_r"}}`
	if a := postWebhook(t, url+"/webhooks/acme", newSignedRequest(t, "msg_r1", time.Now(), body)); a.status != http.StatusUnauthorized {
		t.Fatalf("with the wrong secret configured: %d %s", a.status, a.raw)
	}

	cfg := mustLoadConfig(t, cfgYAML)
	_, js := brokertest.Connect(t, srv.ClientURL())
	api := adminAPIHandler(cfg, js, zerolog.Nop())
	check := func(seq string) (int, adminapi.Reverified) {
		t.Helper()
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/quarantine/"+seq+"/verify", nil))
		var res adminapi.Reverified
		_ = json.Unmarshal(rec.Body.Bytes(), &res)
		return rec.Code, res
	}
	if code, res := check("1"); code != http.StatusOK || res.Valid || res.Reason != "signature_mismatch" || res.Refused != "signature_mismatch" || res.Source != "acme" {
		t.Fatalf("with the wrong secret still in the file: %d %+v", code, res)
	}
	if err := os.WriteFile(secretFile, []byte(swSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, res := check("1"); code != http.StatusOK || !res.Valid || res.MessageID != "msg_r1" || res.Scheme != "standardwebhooks" {
		t.Fatalf("after fixing the secret file: %d %+v", code, res)
	}
	if code, _ := check("9"); code != http.StatusNotFound {
		t.Errorf("a sequence never quarantined: %d, want 404", code)
	}
}
