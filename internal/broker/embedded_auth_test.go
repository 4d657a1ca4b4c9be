package broker_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

func embeddedConfig(dir string) broker.Config {
	return broker.Config{
		Embedded: broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: dir, SyncInterval: time.Second, ServerName: "t"},
		Stream:   streamConfig(),
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The credentials are generated on first start into a 0600 file in the store dir, whose path (never
// a password) is logged, and reused on later starts.
func TestEmbeddedCredentialsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var log lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, embeddedConfig(dir), zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, broker.CredentialsFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	first, err := broker.ReadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.EmbeddedCredentials(); got == nil || *got != first {
		t.Fatalf("broker credentials %+v are not the file's", got)
	}
	if len(first.Avatarbus.Password) < 40 || first.Avatarbus.Password == first.Consumer.Password {
		t.Errorf("weak or shared passwords: %d bytes", len(first.Avatarbus.Password))
	}
	b.Close()
	if !strings.Contains(log.String(), path) {
		t.Errorf("the log does not name the credentials file %s:\n%s", path, log.String())
	}
	for _, pw := range []string{first.Avatarbus.Password, first.Consumer.Password} {
		if strings.Contains(log.String(), pw) {
			t.Fatal("a password is in the log")
		}
	}

	// A later start reuses them; a file opened up to others is made 0600 again.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b2 := open(t, embeddedConfig(dir))
	if got := b2.EmbeddedCredentials(); got == nil || *got != first {
		t.Fatal("credentials changed across a restart")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode after restart %v %v, want 0600", fi.Mode().Perm(), err)
	}
	brokertest.ConnectEmbedded(t, b2) // the client login works
}

// Credentials given in the config are used, and no file is written.
func TestEmbeddedCredentialsGiven(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embeddedConfig(dir)
	given := broker.Credentials{
		Avatarbus: broker.UserPassword{User: broker.AvatarbusUser, Password: "given-avatarbus-password"},
		Consumer:  broker.UserPassword{User: broker.ConsumerUser, Password: "given-consumer-password"},
	}
	cfg.Embedded.Credentials = &given
	b := open(t, cfg)
	if _, err := os.Stat(filepath.Join(dir, broker.CredentialsFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file written although credentials were given: %v", err)
	}
	brokertest.Connect(t, b.Server.ClientURL(), given.Consumer.Option())
	if _, err := nats.Connect(b.Server.ClientURL(), nats.UserInfo(broker.ConsumerUser, "wrong")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("wrong password: %v, want an authorization error", err)
	}
}

func TestReadCredentialsRefusesBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, content string }{
		{"not json", "avatarbus secret-password-1\n"},
		{"other user names", `{"avatarbus":{"user":"admin","password":"secret-password-1"},"consumer":{"user":"consumer","password":"secret-password-2"}}`},
		{"empty password", `{"avatarbus":{"user":"avatarbus","password":""},"consumer":{"user":"consumer","password":"secret-password-2"}}`},
		{"same passwords", `{"avatarbus":{"user":"avatarbus","password":"secret-password-1"},"consumer":{"user":"consumer","password":"secret-password-1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := broker.ReadCredentials(path)
			if !errors.Is(err, broker.ErrCredentials) {
				t.Fatalf("err %v, want ErrCredentials", err)
			}
			if strings.Contains(err.Error(), "secret-password") {
				t.Fatalf("error %q shows a password", err)
			}
		})
	}
}

// TestEmbeddedPermissions: what each kind of client may do on the embedded server. The consumer
// user reads, creates, uses and deletes consumers; it never publishes to the stream, purges,
// deletes or updates it. Anonymous clients are refused.
func TestEmbeddedPermissions(t *testing.T) {
	if testing.Short() {
		t.Skip("tries every action as each user (~6 s); skipped under -short")
	}
	t.Parallel()
	b := open(t, embeddedConfig(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event("genuine-1")); err != nil {
		t.Fatal(err)
	}
	creds := b.EmbeddedCredentials()

	if nc, err := nats.Connect(b.Server.ClientURL()); !errors.Is(err, nats.ErrAuthorization) {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("anonymous connect: %v, want an authorization error", err)
	}

	type action struct {
		name string
		do   func(ctx context.Context, js jetstream.JetStream) error
	}
	publishPoison := func(ctx context.Context, js jetstream.JetStream) error {
		m := &nats.Msg{Subject: "avatar.video.completed.acme", Header: nats.Header{}, Data: []byte(`{}`)}
		m.Header.Set(jetstream.MsgIDHeader, "acme:poison-1")
		_, err := js.PublishMsg(ctx, m)
		return err
	}
	stream := func(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
		return js.Stream(ctx, "AVATAR")
	}
	reads := []action{
		{"stream info", func(ctx context.Context, js jetstream.JetStream) error { _, err := stream(ctx, js); return err }},
		{"stream names", func(ctx context.Context, js jetstream.JetStream) error {
			l := js.StreamNames(ctx)
			for range l.Name() {
			}
			return l.Err()
		}},
		{"get message", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err == nil {
				_, err = s.GetMsg(ctx, 1)
			}
			return err
		}},
		{"durable consumer: create, fetch, ack, info, delete", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err != nil {
				return err
			}
			c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				return err
			}
			m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				return err
			}
			if err := m.DoubleAck(ctx); err != nil {
				return err
			}
			if _, err := c.Info(ctx); err != nil {
				return err
			}
			return s.DeleteConsumer(ctx, "reader")
		}},
		{"ordered consumer", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err != nil {
				return err
			}
			c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
			if err != nil {
				return err
			}
			_, err = c.Next(jetstream.FetchMaxWait(5 * time.Second))
			return err
		}},
	}
	writes := []action{
		{"publish with a planted Nats-Msg-Id", publishPoison},
		{"delete message", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err == nil {
				err = s.DeleteMsg(ctx, 1)
			}
			return err
		}},
		{"purge", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err == nil {
				err = s.Purge(ctx)
			}
			return err
		}},
		{"update stream", func(ctx context.Context, js jetstream.JetStream) error {
			s, err := stream(ctx, js)
			if err != nil {
				return err
			}
			cfg := s.CachedInfo().Config
			cfg.MaxMsgs = 1
			_, err = js.UpdateStream(ctx, cfg)
			return err
		}},
		{"create stream", func(ctx context.Context, js jetstream.JetStream) error {
			_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}})
			return err
		}},
		{"delete stream", func(ctx context.Context, js jetstream.JetStream) error { return js.DeleteStream(ctx, "AVATAR") }},
	}

	_, consumer := brokertest.ConnectEmbedded(t, b, creds.Consumer.Option())
	for _, a := range reads {
		t.Run("consumer may "+a.name, func(t *testing.T) {
			if err := a.do(ctx, consumer); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
	for _, a := range writes {
		t.Run("consumer may not "+a.name, func(t *testing.T) {
			short, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := a.do(short, consumer); err == nil {
				t.Error("allowed")
			}
		})
	}
	// Nothing the consumer tried changed the stream, and the genuine event with the id it tried
	// to plant is stored.
	ack, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event("acme:poison-1"))
	if err != nil || ack.Duplicate {
		t.Fatalf("genuine publish after the consumer's attempts: %+v %v, want stored", ack, err)
	}
	s, err := b.JS.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 2 || info.Config.MaxMsgs == 1 {
		t.Fatalf("stream after the consumer's attempts: %+v %v, want the 2 genuine events, config unchanged", info.State, err)
	}

	// The avatarbus user may do all of it (the delete stream last).
	_, admin := brokertest.ConnectEmbedded(t, b)
	for _, a := range append(reads, writes...) {
		t.Run("avatarbus may "+a.name, func(t *testing.T) {
			if err := a.do(ctx, admin); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// NoAuth lets anonymous clients in (serve warns; see cmd/avatarbus).
func TestEmbeddedNoAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embeddedConfig(dir)
	cfg.Embedded.NoAuth = true
	b := open(t, cfg)
	if b.EmbeddedCredentials() != nil {
		t.Error("credentials with auth off")
	}
	_, js := brokertest.Connect(t, b.Server.ClientURL())
	if _, err := js.Publish(context.Background(), "avatar.video.completed.acme", []byte(`{}`)); err != nil {
		t.Fatalf("anonymous publish with auth off: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, broker.CredentialsFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file with auth off: %v", err)
	}
}

// One store, one process: a second Open on the same store dir is refused, naming the holder's pid,
// while the first keeps storing; once the first is closed the store is free.
func TestStoreDirLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	first := open(t, embeddedConfig(dir))
	pid, err := os.ReadFile(filepath.Join(dir, broker.LockFileName))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q %v, want this pid %d", pid, err, os.Getpid())
	}

	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	second, err := broker.Open(tctx, embeddedConfig(dir), zerolog.Nop())
	if err == nil {
		second.Close()
		t.Fatal("a second embedded server opened the same store dir")
	}
	if !errors.Is(err, broker.ErrStoreLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second open: %v, want ErrStoreLocked naming pid %d", err, os.Getpid())
	}
	if _, err := first.Publisher().Publish(ctx, "avatar.video.completed.acme", event("after-refusal")); err != nil {
		t.Fatalf("the first stopped storing: %v", err)
	}

	first.Close()
	again := open(t, embeddedConfig(dir))
	ack, err := again.Publisher().Publish(ctx, "avatar.video.completed.acme", event("after-refusal"))
	if err != nil || !ack.Duplicate {
		t.Fatalf("reopened store: %+v %v, want the first's event there (duplicate)", ack, err)
	}
}

func TestLockStoreUnlockedFileWithStalePid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A crash leaves the file with its pid but no lock (the kernel drops flocks): not a holder.
	if err := os.WriteFile(filepath.Join(dir, broker.LockFileName), []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := broker.LockStore(dir)
	if err != nil {
		t.Fatalf("stale lock file refused: %v", err)
	}
	if _, err := broker.LockStore(dir); !errors.Is(err, broker.ErrStoreLocked) {
		t.Fatalf("second lock in the same process: %v, want ErrStoreLocked", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := broker.LockStore(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	_ = l2.Release()
}
