package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/router"
)

// TestDLQListAndRedrive: a route gives up on events while its service is down; `dlq list` shows
// them with their reason; `dlq redrive` stops at the first failure and deletes nothing while the
// service is still down, then, once it is up, delivers each one once, signed, and empties the DLQ.
func TestDLQListAndRedrive(t *testing.T) {
	rc, target := newReceiver(t)
	rc.down.Store(true)
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")) + fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.video.completed.*
    url: %s/hooks
    secret: %q
    backoff: [20ms]
    max_deliveries: 2
`, target.URL, routeSecret)
	cfgFile := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))

	if r := runCLI(t, "", "dlq", "list", "--config", cfgFile); r.code() != 0 || !strings.Contains(r.stderr, "no dead letters") {
		t.Fatalf("empty: code %d stdout %q stderr %q err %v", r.code(), r.stdout, r.stderr, r.err)
	}
	const events = 3
	postVideos(t, "http://"+listen+"/webhooks/acme", 0, events)
	_, js := connectEmbedded(t, natsListen)
	eventually(t, 15*time.Second, func() bool { return dlqMessages(t, js) == events }, "every event dead-lettered")

	r := runCLI(t, "", "dlq", "list", "--config", cfgFile, "--route", "crm")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code() != 0 || len(lines) != events {
		t.Fatalf("list: code %d, %d lines:\n%s%s", r.code(), len(lines), r.stdout, r.stderr)
	}
	for _, l := range lines {
		if !strings.Contains(l, "route-crm") || !strings.Contains(l, "2x") || !strings.Contains(l, "avatar.video.completed.acme") ||
			!strings.Contains(l, "HTTP 503") || !strings.Contains(l, "acme:") {
			t.Errorf("list line %q lacks consumer, deliveries, subject, event id or reason", l)
		}
	}
	if r := runCLI(t, "", "dlq", "list", "--config", cfgFile, "--route", "other"); r.stdout != "" {
		t.Errorf("--route other listed %q", r.stdout)
	}
	r = runCLI(t, "", "dlq", "list", "--config", cfgFile, "--json")
	var first struct {
		DLQSequence uint64          `json:"dlq_sequence"`
		Consumer    string          `json:"consumer"`
		Sequence    uint64          `json:"sequence"`
		Deliveries  uint64          `json:"deliveries"`
		Event       json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &first); err != nil || first.Consumer != "route-crm" ||
		first.Sequence == 0 || first.Deliveries != 2 || !strings.Contains(string(first.Event), `"specversion":"1.0"`) {
		t.Fatalf("--json: %v %+v\n%s", err, first, r.stdout)
	}

	if r := runCLI(t, "", "dlq", "redrive", "--config", cfgFile, "--route", "crm", "--dry-run"); r.code() != 0 ||
		strings.Count(r.stdout, "would send") != events || rc.redriven.Load() != 0 {
		t.Fatalf("dry run: code %d, %d sent\n%s%s", r.code(), rc.redriven.Load(), r.stdout, r.stderr)
	}
	// Still down: the first delivery fails, the redrive stops, exit 1, nothing deleted.
	r = runCLI(t, "", "dlq", "redrive", "--config", cfgFile, "--route", "crm")
	if r.code() != 1 || !strings.Contains(r.err.Error(), "redrive stopped at dead letter") || rc.redriven.Load() != 1 || dlqMessages(t, js) != events {
		t.Fatalf("service down: code %d err %v, %d sent, %d left", r.code(), r.err, rc.redriven.Load(), dlqMessages(t, js))
	}

	rc.down.Store(false)
	r = runCLI(t, "", "dlq", "redrive", "--config", cfgFile, "--route", "crm", "--seq", fmt.Sprint(first.DLQSequence))
	if r.code() != 0 || strings.Count(r.stdout, "sent ") != 1 || dlqMessages(t, js) != events-1 {
		t.Fatalf("--seq: code %d err %v\n%s, %d left", r.code(), r.err, r.stdout, dlqMessages(t, js))
	}
	r = runCLI(t, "", "dlq", "redrive", "--config", cfgFile, "--route", "crm")
	if r.code() != 0 || !strings.Contains(r.stderr, fmt.Sprintf("%d dead letters of route crm sent and deleted", events-1)) {
		t.Fatalf("redrive: code %d err %v\n%s%s", r.code(), r.err, r.stdout, r.stderr)
	}
	rc.checkEachOnce(t, events, 5*time.Second, 100*time.Millisecond)
	if n := dlqMessages(t, js); n != 0 {
		t.Fatalf("%d dead letters left after a successful redrive", n)
	}
	if r := runCLI(t, "", "dlq", "redrive", "--config", cfgFile, "--route", "nope"); r.code() != 2 || !strings.Contains(r.err.Error(), `no route "nope"`) {
		t.Fatalf("unknown route: code %d err %v", r.code(), r.err)
	}
}

// dlqMessages is how many dead letters AVATAR_DLQ holds (0 before it exists).
func dlqMessages(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, router.DefaultDeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
