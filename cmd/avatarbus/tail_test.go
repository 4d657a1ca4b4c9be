package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/index"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background is a command running in a goroutine until its context is cancelled.
type background struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// startCLI runs the root command with args in a goroutine, with a context the test cancels.
func startCLI(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	root := newRootCommand()
	root.SetOut(b.stdout)
	root.SetErr(b.stderr)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	go func() { b.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			t.Error("command did not return at cleanup")
		}
	})
	return b
}

// stop cancels the command's context and returns its error; it must return within 5s.
func (b *background) stop(t *testing.T) error {
	t.Helper()
	b.cancel()
	select {
	case err := <-b.done:
		b.done <- err // for the cleanup
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("command did not return within 5s of its context ending")
		return nil
	}
}

// waitOutput waits until stdout has n lines, failing early when the command ends.
func (b *background) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := b.stdout.String()
		if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); out != "" && len(lines) >= n {
			return lines
		}
		select {
		case err := <-b.done:
			b.done <- err
			t.Fatalf("command ended (%v) with stdout %q, stderr %q", err, out, b.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d lines within 10s; stdout %q, stderr %q", n, out, b.stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// avatarStreamInfo returns the AVATAR stream of the NATS server at natsAddr and its current info.
func avatarStreamInfo(t *testing.T, natsAddr string) (jetstream.Stream, *jetstream.StreamInfo) {
	t.Helper()
	_, stream := avatarStream(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return stream, info
}

// avatarStream connects to a NATS server as a test client and returns the AVATAR stream.
func avatarStream(t *testing.T, natsAddr string) (*nats.Conn, jetstream.Stream) {
	t.Helper()
	nc, js := connectEmbedded(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	return nc, s
}

// consumerNames lists the consumers of s, except serve's own index writer (always there).
func consumerNames(t *testing.T, s jetstream.Stream) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var names []string
	l := s.ConsumerNames(ctx)
	for n := range l.Name() {
		if n != index.Durable { // serve's own index writer, always there
			names = append(names, n)
		}
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// waitConsumer waits until the stream has a consumer whose name starts with prefix.
func waitConsumer(t *testing.T, s jetstream.Stream, prefix string) {
	t.Helper()
	waitfor.Cond(t, 10*time.Second, func() bool {
		for _, n := range consumerNames(t, s) {
			if strings.HasPrefix(n, prefix) {
				return true
			}
		}
		return false
	}, "a consumer "+prefix+"*")
}

// serveWithConfig starts serve on free ports and returns the config file path, the webhook URL of
// source acme and the embedded NATS address.
func serveWithConfig(t *testing.T) (cfgPath, webhookURL, natsAddr string) {
	t.Helper()
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream"))
	cfgPath = writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))
	return cfgPath, "http://" + listen + "/webhooks/acme", natsListen
}

// postEvent posts a signed video.done event of source acme for video vid; its id is acme:<msgID>.
func postEvent(t *testing.T, url, msgID, vid string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":"video.done","data":{"id":%q}}`, vid)
	a := postWebhook(t, url, newSignedRequest(t, msgID, time.Now(), body))
	if a.status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", msgID, a.status, a.raw)
	}
}

func TestTailCommand(t *testing.T) {
	cfgPath, url, natsAddr := serveWithConfig(t)
	_, stream := avatarStream(t, natsAddr)

	t.Run("json, live", func(t *testing.T) {
		start := time.Now()
		tail := startCLI(t, "tail", "--json", "--config", cfgPath)
		waitConsumer(t, stream, "avatarbus_tail_") // it follows new events only: wait until it listens
		postEvent(t, url, "msg_tail_1", "vid_1")
		lines := tail.waitLines(t, 1)
		t.Logf("envelope printed %s after tail started", time.Since(start))
		ev, err := envelope.Unmarshal([]byte(lines[0]))
		if err != nil {
			t.Fatalf("line is not an envelope: %v\n%s", err, lines[0])
		}
		if ev.ID != "acme:msg_tail_1" || ev.Type != envelope.TypeVideoCompleted || ev.Platform != "acme" || ev.Subject != "vid_1" {
			t.Errorf("envelope %+v", ev)
		}
		if err := tail.stop(t); err != nil {
			t.Fatalf("tail returned %v when stopped, want nil", err)
		}
		if !strings.Contains(tail.stderr.String(), "following avatar.> on stream AVATAR") {
			t.Errorf("stderr %q", tail.stderr.String())
		}
		if names := consumerNames(t, stream); len(names) != 0 {
			t.Errorf("consumers left after tail stopped: %v", names)
		}
	})

	t.Run("readable, since, filters", func(t *testing.T) {
		postEvent(t, url, "msg_tail_2", "vid_2")
		// The stored events so far (msg_tail_1, msg_tail_2) come first, then live ones.
		tail := startCLI(t, "tail", "avatar.video.>", "--since", "1m", "--platform", "acme", "--type", "video.completed", "--config", cfgPath)
		tail.waitLines(t, 2)
		postEvent(t, url, "msg_tail_3", "vid_3")
		lines := tail.waitLines(t, 3)
		for i, line := range lines {
			f := strings.Fields(line)
			want := []string{"", "avatar.video.completed", "acme", fmt.Sprintf("vid_%d", i+1), fmt.Sprintf("acme:msg_tail_%d", i+1)}
			if len(f) != 5 {
				t.Fatalf("line %q: want 5 columns", line)
			}
			if at, err := time.Parse(time.RFC3339, f[0]); err != nil || time.Since(at) > time.Minute {
				t.Errorf("line %q: time column %q", line, f[0])
			}
			for j := 1; j < 5; j++ {
				if f[j] != want[j] {
					t.Errorf("line %q: column %d = %q, want %q", line, j, f[j], want[j])
				}
			}
		}
		// Aligned: every column starts at the same offset on every line.
		for _, line := range lines[1:] {
			if strings.Index(line, "acme:") != strings.Index(lines[0], "acme:") {
				t.Errorf("columns not aligned:\n%s", strings.Join(lines, "\n"))
			}
		}
		if err := tail.stop(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("nothing selected", func(t *testing.T) {
		tail := startCLI(t, "tail", "--since", "1h", "--platform", "heygen", "--config", cfgPath)
		waitConsumer(t, stream, "avatarbus_tail_")
		postEvent(t, url, "msg_tail_4", "vid_4")
		time.Sleep(300 * time.Millisecond) // the event would have arrived by now: nothing may print
		if err := tail.stop(t); err != nil {
			t.Fatal(err)
		}
		if out := tail.stdout.String(); out != "" {
			t.Errorf("tail --platform heygen printed %q", out)
		}
	})
}

func TestTailUsageErrors(t *testing.T) {
	// A config whose NATS is not there: usage errors must be found before connecting.
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "avatarbus.yaml", acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(dir, "js")))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tail", "--since", "yesterday"}, "--since"},
		{[]string{"tail", "--since", "-5m"}, "--since"},
		{[]string{"tail", "avatar.>.x"}, "'>' must be the last token"},
		{[]string{"tail", "other.>"}, "outside the stream's subjects"},
		{[]string{"tail", "--type", "video.done"}, "not a canonical type"},
		{[]string{"tail", "--platform", "a b"}, "platform"},
		{[]string{"tail", "a.>", "b.>"}, "accepts at most 1 arg"},
		{[]string{"tail"}, "connect to NATS"}, // not a usage error, but exit 2 too
	} {
		r := runCLI(t, "", append(tt.args, "--config", cfgPath)...)
		if r.code() != 2 || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%q: exit %d, %v; want 2 saying %q", tt.args, r.code(), r.err, tt.want)
		}
		if r.stdout != "" {
			t.Errorf("%q printed %q", tt.args, r.stdout)
		}
	}
}
