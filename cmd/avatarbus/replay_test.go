package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/replay"
)

func TestReplayCommand(t *testing.T) {
	cfgPath, url, natsAddr := serveWithConfig(t)
	const n = 5
	for i := 1; i <= n; i++ {
		postEvent(t, url, fmt.Sprintf("msg_%d", i), fmt.Sprintf("vid_%d", i))
	}
	nc, stream := avatarStream(t, natsAddr)
	dir := t.TempDir()

	t.Run("dry run", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--since", "1h"}, "5 events match\n"},
			{[]string{"--start-seq", "3"}, "3 events match\n"},
			{[]string{"--since", "1h", "--filter", "avatar.video.>", "--platform", "acme", "--type", "avatar.video.completed"}, "5 events match\n"},
			{[]string{"--since", "1h", "--type", "video.failed"}, "0 events match\n"},
			{[]string{"--since", "1h", "--until", "30m"}, "0 events match\n"},
			{[]string{"--since", "2006-01-02T15:04:05Z", "--until", time.Now().Add(time.Hour).Format(time.RFC3339)}, "5 events match\n"},
		} {
			r := runCLI(t, "", append([]string{"replay", "--dry-run", "--config", cfgPath}, tt.args...)...)
			if r.err != nil || r.stdout != tt.want {
				t.Errorf("%q: %q, %v; want %q", tt.args, r.stdout, r.err, tt.want)
			}
		}
	})

	t.Run("--nats-url wins over the config", func(t *testing.T) {
		elsewhere := writeFile(t, dir, "elsewhere.yaml", acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(dir, "js")))
		r := runCLI(t, "", "replay", "--dry-run", "--since", "1h", "--config", elsewhere)
		if r.code() != 2 || !strings.Contains(r.err.Error(), "connect to NATS") {
			t.Fatalf("without --nats-url: %d %v, want a connection error", r.code(), r.err)
		}
		// elsewhere's store has no credentials file: the login comes from the environment, and the
		// consumer user may read.
		t.Setenv("AVATARBUS_NATS_USER", broker.ConsumerUser)
		t.Setenv("AVATARBUS_NATS_PASSWORD", embeddedCredentials(t, natsAddr).Consumer.Password)
		r = runCLI(t, "", "replay", "--dry-run", "--since", "1h", "--config", elsewhere, "--nats-url", "nats://"+natsAddr)
		if r.err != nil || r.stdout != "5 events match\n" {
			t.Fatalf("with --nats-url: %q %v", r.stdout, r.err)
		}
	})

	t.Run("out file", func(t *testing.T) {
		out := filepath.Join(dir, "events.jsonl")
		r := runCLI(t, "", "replay", "--since", "1h", "--out", out, "--config", cfgPath)
		if r.err != nil {
			t.Fatalf("%v\n%s", r.err, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), n, b)
		}
		for i, line := range lines {
			ev, err := envelope.Unmarshal([]byte(line))
			if err != nil || ev.ID != fmt.Sprintf("acme:msg_%d", i+1) {
				t.Errorf("line %d: %v %+v", i, err, ev)
			}
		}
		if want := "replay: 5 matched, 5 written to " + out + ", sequences 1 to 5\n"; r.stderr != want {
			t.Errorf("stderr %q, want %q (no progress bar when stderr is not a terminal)", r.stderr, want)
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, want 0600 (events may hold personal data)", st.Mode().Perm())
		}
	})

	t.Run("out stdout", func(t *testing.T) {
		r := runCLI(t, "", "replay", "--start-seq", "4", "--out", "-", "--config", cfgPath)
		if r.err != nil {
			t.Fatal(r.err)
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"id":"acme:msg_4"`) || !strings.Contains(lines[1], `"id":"acme:msg_5"`) {
			t.Errorf("stdout %q", r.stdout)
		}
	})

	t.Run("to subject", func(t *testing.T) {
		sub, err := nc.SubscribeSync("replay.test.>")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, "", "replay", "--start-seq", "2", "--to-subject", "replay.test", "--config", cfgPath)
		if r.err != nil {
			t.Fatal(r.err)
		}
		for seq := 2; seq <= n; seq++ {
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatalf("sequence %d: %v", seq, err)
			}
			if m.Subject != "replay.test.avatar.video.completed.acme" || m.Header.Get(replay.HeaderOriginalSequence) != fmt.Sprint(seq) ||
				m.Header.Get("Nats-Msg-Id") != fmt.Sprintf("replay:acme:msg_%d", seq) {
				t.Errorf("sequence %d: %s %v", seq, m.Subject, m.Header)
			}
		}
	})

	t.Run("to subject under the live prefix", func(t *testing.T) {
		for _, prefix := range []string{"avatar.x", "avatar"} {
			r := runCLI(t, "", "replay", "--start-seq", "1", "--to-subject", prefix, "--config", cfgPath)
			if r.code() != 2 || !strings.Contains(r.err.Error(), "live prefix") || !strings.Contains(r.err.Error(), "--yes") {
				t.Errorf("--to-subject %s: %d %v; want a refusal mentioning --yes", prefix, r.code(), r.err)
			}
		}
		if info, _ := stream.Info(t.Context()); info.State.Msgs != n {
			t.Errorf("AVATAR holds %d, want %d", info.State.Msgs, n)
		}
	})

	t.Run("to url, failing", func(t *testing.T) {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hits.Add(1) == 2 {
				http.Error(w, "nope", http.StatusInternalServerError)
			}
		}))
		defer srv.Close()
		r := runCLI(t, "", "replay", "--start-seq", "1", "--to-url", srv.URL+"/hook?token=t0k3n", "--secret", swSecret, "--config", cfgPath)
		if r.code() != 1 {
			t.Fatalf("exit %d (%v), want 1", r.code(), r.err)
		}
		for _, w := range []string{"sequence 2", "HTTP 500", "resume with --start-seq 2"} {
			if !strings.Contains(r.err.Error(), w) {
				t.Errorf("error %q does not say %q", r.err, w)
			}
		}
		if want := "replay: 2 matched, 1 written to " + srv.URL + "/hook, sequences 1 to 1\n"; r.stderr != want {
			t.Errorf("stderr %q, want %q", r.stderr, want)
		}
		if hits.Load() != 2 {
			t.Errorf("%d requests, want 2 (none after the failure)", hits.Load())
		}
	})

	t.Run("to route", func(t *testing.T) {
		rc, target := newReceiver(t)
		base, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		withRoute := writeFile(t, dir, "route.yaml", string(base)+fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.video.completed.acme
    url: %s/hooks
    secret: %q
  - name: nothing
    filter: avatar.video.failed.*
    url: %s/nothing
`, target.URL, routeSecret, target.URL))
		// The route's filter applies: the failed-video route matches none of the events.
		if r := runCLI(t, "", "replay", "--since", "1h", "--to-route", "nothing", "--dry-run", "--config", withRoute); r.err != nil || r.stdout != "0 events match\n" {
			t.Fatalf("route filter: %q %v", r.stdout, r.err)
		}
		r := runCLI(t, "", "replay", "--since", "1h", "--to-route", "crm", "--config", withRoute)
		if r.err != nil || !strings.Contains(r.stderr, fmt.Sprintf("%d written to %s/hooks", n, target.URL)) {
			t.Fatalf("%v\n%s", r.err, r.stderr)
		}
		rc.checkEachOnce(t, n, 5*time.Second, 0) // signed with the route's secret: the receiver verifies it
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--to-route", "nope"}, `no route "nope"`},
			{[]string{"--to-route", "crm", "--secret", swSecret}, "--secret goes with --to-url"},
			{[]string{"--to-route", "crm", "--out", filepath.Join(dir, "x.jsonl")}, "choose one output"},
		} {
			r := runCLI(t, "", append([]string{"replay", "--since", "1h", "--config", withRoute}, tt.args...)...)
			if r.code() != 2 || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("%q: exit %d (%v), want 2 saying %q", tt.args, r.code(), r.err, tt.want)
			}
		}
	})

	if names := consumerNames(t, stream); len(names) != 0 {
		t.Errorf("consumers left on AVATAR: %v", names)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	// A config whose NATS is not there: usage errors must be found before connecting.
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "avatarbus.yaml", acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(dir, "js")))
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "a start is required"},
		{[]string{"--since", "1h", "--start-seq", "3", "--out", out}, "exclude each other"},
		{[]string{"--start-seq", "0", "--out", out}, "sequences start at 1"},
		{[]string{"--since", "1h"}, "an output is required"},
		{[]string{"--since", "1h", "--out", out, "--to-subject", "replay.x"}, "choose one output"},
		{[]string{"--since", "1h", "--out", out, "--secret", swSecret}, "--secret goes with --to-url"},
		{[]string{"--since", "soon", "--out", out}, "--since \"soon\""},
		{[]string{"--since", "0s", "--out", out}, "--since"},
		{[]string{"--since", "1h", "--until", "later", "--out", out}, "--until \"later\""},
		{[]string{"--since", "1h", "--until", "2h", "--out", out}, "before since"},
		{[]string{"--since", "1h", "--type", "video.done", "--out", out}, "not a canonical type"},
		{[]string{"--since", "1h", "--filter", "avatar.>.x", "--out", out}, "filter"},
		{[]string{"--since", "1h", "--filter", "dlq.avatar.>", "--out", out}, "outside the stream's subjects"},
		{[]string{"--since", "1h", "--rate", "-1", "--out", out}, "--rate"},
		{[]string{"--since", "1h", "--to-subject", "replay..x"}, "--to-subject"},
		{[]string{"--since", "1h", "--to-subject", "replay.*"}, "--to-subject"},
		{[]string{"--since", "1h", "--to-url", "ftp://x"}, "absolute http(s) URL"},
		{[]string{"--since", "1h", "--to-url", "http://x", "--secret", "not-a-whsec"}, "secret"},
		{[]string{"--since", "1h", "--out", out, "extra"}, "unknown command"},
		{[]string{"--since", "1h", "--out", out, "--start", "3"}, "unknown flag"},
	}
	for _, tt := range tests {
		r := runCLI(t, "", append(append([]string{"replay"}, tt.args...), "--config", cfgPath)...)
		if r.code() != 2 || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%q: exit %d, %v; want 2 saying %q", tt.args, r.code(), r.err, tt.want)
		}
		if r.stdout != "" {
			t.Errorf("%q printed %q", tt.args, r.stdout)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error left an output file behind")
	}
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := &progressBar{w: &b}
	p.update(0, 200)
	p.update(1, 200) // within 100ms of the last drawing: skipped
	p.update(200, 200)
	p.clear()
	want := "\rreplay [                              ] 0/200 read (0%)" +
		"\rreplay [==============================] 200/200 read (100%)" + "\r\033[K"
	if b.String() != want {
		t.Errorf("drew %q, want %q", b.String(), want)
	}
	var none strings.Builder
	(&progressBar{w: &none}).clear()
	if none.String() != "" {
		t.Errorf("clear without a bar drew %q", none.String())
	}
	if isTerminal(&none) {
		t.Error("a strings.Builder is not a terminal")
	}
}
