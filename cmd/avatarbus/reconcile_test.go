package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/platform"
)

const didToken = "did-url-token-0123456789"

// talkLister stands in for D-ID's GET /talks (the platform, not JetStream): one finished talk,
// whose API object is also its webhook's body.
type talkLister struct{ body []byte }

func (l talkLister) ListJobs(context.Context, time.Time) ([]platformapi.Job, error) {
	return []platformapi.Job{{Body: l.body, ResourceID: "tlk_lost", Status: "done", Terminal: true}}, nil
}

// TestReconcileRecoversOnceAndIngestAnswersDuplicate: on serve's real JetStream, a dry run
// recovers nothing, a pass recovers the lost webhook's event once, the webhook arriving late is
// answered duplicate by ingest, and five more passes store nothing.
func TestReconcileRecoversOnceAndIngestAnswersDuplicate(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")) + `  - name: did
    platform: did
    secrets: ["` + didToken + `"]
`
	cfg := mustLoadConfig(t, yaml)
	startServe(t, cfg)
	nc, js := connectEmbedded(t, natsListen)

	body := []byte(`{"id":"tlk_lost","object":"talk","status":"done","created_at":"2026-12-06T10:00:00.000Z","modified_at":"2026-12-06T10:01:00.000Z","result_url":"https://d-id.example/tlk_lost.mp4"}`)
	p, _ := platform.Default().Lookup("did")
	src := poll.Source{Name: "did", Preset: p, Lister: talkLister{body: body}}
	ctx := context.Background()
	pass := func(dry bool) string {
		t.Helper()
		var out bytes.Buffer
		if err := runReconcile(ctx, &out, cfg, nc, js, src, 48*time.Hour, dry); err != nil {
			t.Fatalf("runReconcile: %v", err)
		}
		return out.String()
	}
	stored := func() uint64 {
		t.Helper()
		s, err := js.Stream(ctx, "AVATAR")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter("avatar.*.*.did"))
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		return n
	}

	if out := pass(true); !strings.Contains(out, "would_recover  tlk_lost done -> avatar.video.completed did:") ||
		!strings.Contains(out, "would recover 1,") || stored() != 0 {
		t.Fatalf("dry run printed:\n%s(stored %d)", out, stored())
	}
	if out := pass(false); !strings.Contains(out, "recovered      tlk_lost") || !strings.Contains(out, "; recovered 1, already stored 0") {
		t.Fatalf("pass printed:\n%s", out)
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}

	// The webhook arrives late: ingest answers 2xx, duplicate.
	resp, err := http.Post("http://"+listen+"/webhooks/did?token="+didToken, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var answer struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, &answer) != nil || !answer.Duplicate {
		t.Fatalf("late webhook answered %d %s, want 2xx duplicate", resp.StatusCode, b)
	}

	for range 5 {
		if out := pass(false); !strings.Contains(out, "; recovered 0, already stored 1") {
			t.Fatalf("later pass printed:\n%s", out)
		}
	}
	if n := stored(); n != 1 {
		t.Fatalf("after six passes and the webhook %d events stored, want 1", n)
	}
}

func TestReconcileCommandErrors(t *testing.T) {
	cfgPath := writeConfigFile(t, acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(t.TempDir(), "js")))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reconcile", "nope", "--config", cfgPath}, `"nope" is not a source of the configuration`},
		{[]string{"reconcile", "acme", "--config", cfgPath}, `has no job listing`},
		{[]string{"reconcile", "acme", "--since", "-1h", "--config", cfgPath}, `--since "-1h"`},
		{[]string{"reconcile", "--config", cfgPath}, `accepts 1 arg`},
	} {
		r := runCLI(t, "", tc.args...)
		if r.code() != 2 || r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%q: exit %d, %v; want 2 and %q", tc.args, r.code(), r.err, tc.want)
		}
	}
}

// TestServeRefusesReconcileWithoutListing: serve wires the poller, and a source whose platform
// has no job listing (a generic preset) stops start-up with the reason rather than polling nothing.
func TestServeRefusesReconcileWithoutListing(t *testing.T) {
	yaml := acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(t.TempDir(), "js")) +
		"    api: {key: k-0123456789abcdef}\n    reconcile: {every: 1s}\n"
	cfg := mustLoadConfig(t, yaml)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := serve(ctx, cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "sources[0] (acme).reconcile") || !strings.Contains(err.Error(), "has no job listing") {
		t.Fatalf("serve = %v, want the reconcile refusal", err)
	}
}
