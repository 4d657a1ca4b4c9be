package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

// reloadStack is ingest serving cfg's sources on a real in-process JetStream.
type reloadStack struct {
	url string
	srv *ingest.Server
}

func startReloadStack(t *testing.T, cfg *config.Config) reloadStack {
	t.Helper()
	sources, err := buildSources(cfg, platform.Default())
	if err != nil {
		t.Fatal(err)
	}
	js := brokertest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, broker.Config{
		Conn:   broker.ConnConfig{URL: js.ClientURL(), Name: "test"},
		Stream: broker.StreamConfig{Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1, MaxAge: time.Hour, Duplicates: time.Hour},
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	srv := ingest.New(ingest.Config{Sources: sources, SubjectPrefix: "avatar", Publisher: b.Publisher(), Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return reloadStack{url: "http://" + ln.Addr().String(), srv: srv}
}

// status posts a D-ID callback with token to source and returns the HTTP status.
func (s reloadStack) status(t *testing.T, source, token string) int {
	t.Helper()
	resp, err := http.Post(s.url+"/webhooks/"+source+"?token="+token, "application/json",
		strings.NewReader(`{"id":"tlk_`+token+`","status":"done"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls until source answers want for token.
func (s reloadStack) waitStatus(t *testing.T, source, token string, want int) {
	t.Helper()
	waitfor.Cond(t, 5*time.Second, func() bool { return s.status(t, source, token) == want },
		fmt.Sprintf("%s with token %s answering %d", source, token, want))
}

// fileSecretConfig loads a config whose did source reads its token from a file.
func fileSecretConfig(t *testing.T, token string) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "did.token")
	if err := os.WriteFile(secret, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfigFile(t, `sources:
  - name: did
    platform: did
    secrets: ["@`+secret+`"]
  - name: steady
    platform: did
    secrets: ["steady-token"]
`)
	cfg, _, err := config.Load(config.LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, secret
}

func TestReloadSourcesRereadsFileSecrets(t *testing.T) {
	cfg, secret := fileSecretConfig(t, "token-one")
	st := startReloadStack(t, cfg)
	if got := st.status(t, "did", "token-one"); got != http.StatusOK {
		t.Fatalf("before: %d", got)
	}
	if err := os.WriteFile(secret, []byte("token-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file changed, nothing was reloaded: the old token still verifies.
	if got := st.status(t, "did", "token-one"); got != http.StatusOK {
		t.Fatalf("before reload: %d", got)
	}
	next, err := reloadSources(cfg, platform.Default(), st.srv)
	if err != nil {
		t.Fatal(err)
	}
	if next == cfg || next.Sources[0].Secrets[0] != "token-two" || cfg.Sources[0].Secrets[0] != "token-one" {
		t.Fatal("reloadSources did not return a new config with the new secret")
	}
	if got := st.status(t, "did", "token-one"); got != http.StatusUnauthorized {
		t.Fatalf("old token after reload: %d, want 401", got)
	}
	if got := st.status(t, "did", "token-two"); got != http.StatusOK {
		t.Fatalf("new token after reload: %d, want 200", got)
	}

	// A reload that fails (the file is gone) changes nothing.
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	kept, err := reloadSources(next, platform.Default(), st.srv)
	if err == nil || kept != next || !strings.Contains(err.Error(), "did.token") {
		t.Fatalf("reload without the file: %v", err)
	}
	if got := st.status(t, "did", "token-two"); got != http.StatusOK {
		t.Fatalf("after a failed reload: %d, want 200", got)
	}
}

func TestSIGHUPReloadsSecrets(t *testing.T) {
	cfg, secret := fileSecretConfig(t, "token-one")
	st := startReloadStack(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := reloadOnSIGHUP(ctx, cfg, st.srv, zerolog.Nop())
	defer stop()

	// HeyGen-style rotation: the new secret is written, then avatarbus gets SIGHUP.
	if err := os.WriteFile(secret, []byte("token-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	st.waitStatus(t, "did", "token-two", http.StatusOK)
	if got := st.status(t, "did", "token-one"); got != http.StatusUnauthorized {
		t.Fatalf("old token after SIGHUP: %d, want 401", got)
	}
	if got := st.status(t, "steady", "steady-token"); got != http.StatusOK {
		t.Fatalf("unchanged source after SIGHUP: %d", got)
	}

	// After stop, SIGHUP no longer reloads (and, still caught by the test binary's own handler
	// below, does not kill the process).
	stop()
	hold := make(chan os.Signal, 1)
	signalNotifyHUP(hold)
	if err := os.WriteFile(secret, []byte("token-three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	<-hold
	time.Sleep(50 * time.Millisecond) // room for a wrong reload to happen: nothing may change
	if got := st.status(t, "did", "token-three"); got != http.StatusUnauthorized {
		t.Fatalf("SIGHUP after stop reloaded: %d", got)
	}
}

// signalNotifyHUP catches SIGHUP on ch for the rest of the test binary.
func signalNotifyHUP(ch chan os.Signal) { signal.Notify(ch, syscall.SIGHUP) }

// TestServeReloadsOnSIGHUP runs serve itself (embedded JetStream) and rotates a file secret the way
// `avatarbus webhooks rotate … --write-secret FILE && kill -HUP` does.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "did.token")
	if err := os.WriteFile(secret, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	cfg, _, err := config.Load(config.LoadOptions{Env: []string{}, Path: writeConfigFile(t, `listen: "`+listen+`"
admin_listen: "127.0.0.1:0"
nats:
  embedded: {listen: "`+freeAddr(t)+`", store_dir: "`+filepath.Join(dir, "js")+`"}
sources:
  - name: did
    platform: did
    secrets: ["@`+secret+`"]
`)})
	if err != nil {
		t.Fatal(err)
	}
	r := startServe(t, cfg)
	st := reloadStack{url: "http://" + listen}
	if got := st.status(t, "did", "token-one"); got != http.StatusOK {
		t.Fatalf("before rotation: %d", got)
	}
	if err := os.WriteFile(secret, []byte("token-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	st.waitStatus(t, "did", "token-two", http.StatusOK)
	if got := st.status(t, "did", "token-one"); got != http.StatusUnauthorized {
		t.Fatalf("old token after SIGHUP: %d, want 401", got)
	}
	r.stop(t)
}
