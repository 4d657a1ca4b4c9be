package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

func streamConfig() broker.StreamConfig {
	return broker.StreamConfig{Name: "AVATAR", Subjects: []string{"avatar.>"}, Replicas: 1, MaxAge: time.Hour, Duplicates: 10 * time.Minute}
}

func open(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func event(id string) *envelope.Event {
	return &envelope.Event{SpecVersion: "1.0", ID: id, Type: envelope.TypeVideoCompleted, Platform: "acme",
		Source: envelope.SourceFor("acme"), Data: envelope.Data{Raw: []byte(`{}`)}}
}

func TestEnsureStreamIsIdempotentAndUpdates(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	cfg := broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()}
	b := open(t, cfg)
	ctx := context.Background()
	if _, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event("a")); err != nil {
		t.Fatal(err)
	}
	cfg.Stream.Duplicates = 20 * time.Minute
	cfg.Stream.MaxAge = 2 * time.Hour
	s, err := broker.EnsureStream(ctx, b.JS, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 20*time.Minute || info.Config.MaxAge != 2*time.Hour {
		t.Fatalf("stream not updated: %+v", info.Config)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("updating the stream lost messages: %d", info.State.Msgs)
	}
	if _, err := broker.EnsureStream(ctx, b.JS, cfg.Stream); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
}

func TestPublishReportsDuplicates(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()})
	p := b.Publisher()
	first, err := p.Publish(context.Background(), "avatar.video.completed.acme", event("same"))
	if err != nil || first.Duplicate || first.Seq != 1 || first.Stream != "AVATAR" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := p.Publish(context.Background(), "avatar.video.completed.acme", event("same"))
	if err != nil || !second.Duplicate || second.Seq != 1 {
		t.Fatalf("second: %+v %v", second, err)
	}
}

func TestPublishFailsFastWhenDisconnected(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()})
	brokertest.Stop(srv)
	start := time.Now()
	_, err := b.Publisher().Publish(context.Background(), "avatar.video.completed.acme", event("x"))
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
}

func TestPublishToSubjectOutsideStreamFails(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), PublishTimeout: 500 * time.Millisecond})
	if _, err := b.Publisher().Publish(context.Background(), "elsewhere.x", event("y")); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}

func TestExternalAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		server  func(o *serverOpts)
		conn    broker.ConnConfig
		wantErr bool
	}{
		{"user and password", func(o *serverOpts) { o.Username, o.Password = "bus", "s3cret" }, broker.ConnConfig{User: "bus", Password: "s3cret"}, false},
		{"wrong password", func(o *serverOpts) { o.Username, o.Password = "bus", "s3cret" }, broker.ConnConfig{User: "bus", Password: "nope"}, true},
		{"token", func(o *serverOpts) { o.Authorization = "tok3n" }, broker.ConnConfig{Token: "tok3n"}, false},
		{"missing token", func(o *serverOpts) { o.Authorization = "tok3n" }, broker.ConnConfig{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := brokertest.Options(t.TempDir())
			tt.server(opts)
			srv := brokertest.RunWithOptions(t, opts)
			conn := tt.conn
			conn.URL = srv.ClientURL()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			b, err := broker.Open(ctx, broker.Config{Conn: conn, Stream: streamConfig()}, zerolog.Nop())
			if tt.wantErr {
				if err == nil {
					b.Close()
					t.Fatal("connected with wrong credentials")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
		})
	}
}

func TestEmbeddedServerStoresAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := broker.Config{
		Embedded: broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: dir, SyncInterval: time.Second, ServerName: "t"},
		Stream:   streamConfig(),
	}
	ctx := context.Background()
	b, err := broker.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if b.Server == nil {
		t.Fatal("no embedded server started")
	}
	for _, id := range []string{"1", "2", "3"} {
		if _, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event(id)); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()

	b2 := open(t, cfg)
	ack, err := b2.Publisher().Publish(ctx, "avatar.video.completed.acme", event("2"))
	if err != nil || !ack.Duplicate {
		t.Fatalf("dedup state lost across restart: %+v %v", ack, err)
	}
	s, err := b2.JS.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("%d messages after restart, want 3", n)
	}
}

func TestReadyFollowsConnectionAndStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := open(t, broker.Config{
		Embedded: broker.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second, ServerName: "t"},
		Stream:   streamConfig(),
	})
	if !b.Connected() {
		t.Fatal("Connected() = false right after Open")
	}
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready() = %v, want nil", err)
	}
	if err := b.JS.DeleteStream(ctx, "AVATAR"); err != nil {
		t.Fatal(err)
	}
	if err := b.Ready(ctx); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Ready() without the stream = %v, want ErrUnavailable", err)
	}
	b.Close()
	if b.Connected() {
		t.Fatal("Connected() = true after Close")
	}
}
