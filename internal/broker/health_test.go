//go:build linux

package broker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/broker"
)

// exhaustFiles lowers this process's soft file limit to just above what is open and opens
// /dev/null until no handle is left, as a flood of connections does; the returned func gives them
// back and restores the limit.
func exhaustFiles(t *testing.T) (release func()) {
	t.Helper()
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	low := orig
	low.Cur = uint64(len(fds) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	for len(held) < 4096 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("open %s: %v, want EMFILE", os.DevNull, err)
			}
			break
		}
		held = append(held, f)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		for _, f := range held {
			f.Close()
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(release)
	return release
}

// TestEmbeddedStoreWriteErrorHeals is issue 13 point 1 in process: a store write that fails for
// want of file handles leaves nats-server's stream refusing every write ("Critical write error");
// Ready must say so (not "ok" because the connection and the stream are there), and once handles
// are free again the broker restarts the embedded server on the same store and port, so that
// publishing works again without a process restart and nothing stored before is lost.
func TestEmbeddedStoreWriteErrorHeals(t *testing.T) {
	// Not parallel: it lowers the process's file limit and uses up its handles.
	dir := t.TempDir()
	b := open(t, broker.Config{
		Embedded:     broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: filepath.Join(dir, "js"), ServerName: "heal", SyncInterval: 100 * time.Millisecond},
		Stream:       streamConfig(),
		HealInterval: 100 * time.Millisecond,
	})
	pub := b.Publisher()
	ctx := context.Background()
	url := b.EmbeddedServer().ClientURL()

	release := exhaustFiles(t)
	// The store's periodic sync (every SyncInterval) opens files (index.db); the first one that
	// fails is kept as the store's write error and every later write returns it. Publish until
	// one fails (bounded).
	var failed error
	for i := 0; i < 20 && failed == nil; i++ {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, failed = pub.Publish(pctx, "avatar.video.completed.acme", event("during-"+string(rune('a'+i))))
		cancel()
		time.Sleep(150 * time.Millisecond) // lets a sync run between publishes
	}
	if failed == nil {
		release()
		t.Fatal("no publish failed with the file handles exhausted")
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	readyErr := b.Ready(rctx)
	cancel()
	release()
	t.Logf("publish with no file handles: %v; Ready: %v", failed, readyErr)
	if !errors.Is(readyErr, broker.ErrStorage) {
		t.Errorf("Ready after a store write failed = %v, want ErrStorage", readyErr)
	}

	// Healing: within seconds of the handles coming back, a publish is stored.
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = pub.Publish(pctx, "avatar.video.completed.acme", event("after"))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // retry interval, not an assertion
	}
	if err != nil {
		t.Fatalf("no publish stored within 10s of the file handles coming back: %v", err)
	}
	healed := time.Until(deadline)
	t.Logf("stored again %s after the handles came back", (10*time.Second - healed).Round(10*time.Millisecond))
	if err := b.Ready(ctx); err != nil {
		t.Errorf("Ready after healing: %v", err)
	}
	if got := b.EmbeddedServer().ClientURL(); got != url {
		t.Errorf("the restarted server listens on %s, want the same %s", got, url)
	}
	s, err := b.JS.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs < 2 {
		t.Errorf("stream holds %d messages after healing, want at least 2 (the one before, the one after)", info.State.Msgs)
	}
	select {
	case err := <-b.Fatal():
		t.Errorf("Fatal reported %v though the server healed", err)
	default:
	}
}
