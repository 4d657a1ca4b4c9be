package broker_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

func quarantineConfig() *broker.QuarantineConfig {
	return &broker.QuarantineConfig{Name: "AVATAR_QUARANTINE", Subjects: []string{"quarantine.avatar.>"}, Replicas: 1,
		MaxAge: time.Hour, MaxBytes: 1 << 20}
}

func TestQuarantineKeepsARefusedRequestAndReadsItBack(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), Quarantine: quarantineConfig()})
	ctx := context.Background()

	s, err := b.JS.Stream(ctx, "AVATAR_QUARANTINE")
	if err != nil {
		t.Fatalf("quarantine stream not created: %v", err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxBytes != 1<<20 || cfg.MaxAge != time.Hour || cfg.Discard != jetstream.DiscardOld || cfg.Subjects[0] != "quarantine.avatar.>" {
		t.Fatalf("quarantine stream config: %+v", cfg)
	}

	at := time.Date(2026, 11, 27, 4, 0, 0, 123456789, time.UTC)
	body := []byte("{\"a\":1}\n\x00raw")
	in := &broker.Refused{
		Source: "acme", Reason: "signature_mismatch", Detail: "no signature matches", RequestID: "rid-1",
		ReceivedAt: at, Path: "/webhooks/acme", QueryDropped: true,
		Header: http.Header{
			"Webhook-Signature":    {"v1,abc", "v1,def"},
			"Nats-Msg-Id":          {"forged"},    // must not dedup or steer JetStream
			"Nats-Expected-Stream": {"ELSEWHERE"}, // must not make the publish fail
			"Avatarbus-Source":     {"forged-source"},
		},
		Body: body,
	}
	seq, err := b.Quarantine().Keep(ctx, "quarantine.avatar.acme", in)
	if err != nil || seq != 1 {
		t.Fatalf("Keep = %d, %v", seq, err)
	}
	if _, err := b.Quarantine().Keep(ctx, "quarantine.avatar.acme", in); err != nil {
		t.Fatalf("a second identical refusal is kept too: %v", err)
	}
	raw, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := broker.RefusedFromMsg(raw.Header, raw.Data)
	if err != nil {
		t.Fatal(err)
	}
	if out.Source != "acme" || out.Reason != in.Reason || out.Detail != in.Detail || out.RequestID != "rid-1" ||
		!out.ReceivedAt.Equal(at) || out.Path != in.Path || !out.QueryDropped || !bytes.Equal(out.Body, body) {
		t.Fatalf("read back %+v", out)
	}
	if got := out.Header["Webhook-Signature"]; len(got) != 2 || got[0] != "v1,abc" || got[1] != "v1,def" {
		t.Fatalf("repeated header: %q", got)
	}
	if out.Header.Get("Nats-Msg-Id") != "forged" || out.Header.Get("Avatarbus-Source") != "forged-source" {
		t.Fatalf("request headers not kept apart: %v", out.Header)
	}
	info, _ := s.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("%d messages, want 2", info.State.Msgs)
	}
	ev, _ := b.JS.Stream(ctx, "AVATAR")
	if evInfo, _ := ev.Info(ctx); evInfo.State.Msgs != 0 {
		t.Fatalf("a refused request landed on the event stream")
	}
}

func TestQuarantineFailsFastAndBounded(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	q := quarantineConfig()
	q.Timeout = 200 * time.Millisecond
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), Quarantine: q})
	ctx := context.Background()

	t.Run("no ack", func(t *testing.T) {
		if err := b.JS.DeleteStream(ctx, "AVATAR_QUARANTINE"); err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Subscribe("quarantine.>", func(*nats.Msg) {}); err != nil { // swallows, never acks
			t.Fatal(err)
		}
		_ = nc.Flush()
		start := time.Now()
		_, err = b.Quarantine().Keep(ctx, "quarantine.avatar.acme", &broker.Refused{Source: "acme"})
		if !errors.Is(err, broker.ErrUnavailable) || time.Since(start) > time.Second {
			t.Fatalf("err = %v after %s, want ErrUnavailable within the timeout", err, time.Since(start))
		}
	})
	t.Run("disconnected", func(t *testing.T) {
		brokertest.Stop(srv)
		waitfor.Cond(t, 5*time.Second, func() bool { return !b.Conn.IsConnected() }, "the client to see the server gone")
		start := time.Now()
		_, err := b.Quarantine().Keep(ctx, "quarantine.avatar.acme", &broker.Refused{Source: "acme"})
		if !errors.Is(err, broker.ErrUnavailable) || time.Since(start) > 50*time.Millisecond {
			t.Fatalf("err = %v after %s, want ErrUnavailable at once", err, time.Since(start))
		}
	})
}

func TestQuarantineOffAndInvalid(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()})
	if q := b.Quarantine(); q != nil {
		t.Fatal("a quarantine without config")
	}
	if _, err := b.JS.Stream(context.Background(), "AVATAR_QUARANTINE"); err == nil {
		t.Fatal("quarantine stream created while off")
	}
	q := quarantineConfig()
	q.MaxBytes = 0
	_, err := broker.Open(context.Background(), broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), Quarantine: q}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "max bytes must be > 0") {
		t.Fatalf("unbounded quarantine: %v", err)
	}
}

func TestRefusedFromMsgRefusesOtherMessages(t *testing.T) {
	t.Parallel()
	if _, err := broker.RefusedFromMsg(nats.Header{"Content-Type": {"application/json"}}, []byte("{}")); !errors.Is(err, broker.ErrNotQuarantined) {
		t.Fatalf("err = %v", err)
	}
	_, err := broker.RefusedFromMsg(nats.Header{broker.HeaderSource: {"acme"}, broker.HeaderReceivedAt: {"yesterday"}}, nil)
	if !errors.Is(err, broker.ErrNotQuarantined) {
		t.Fatalf("bad time: %v", err)
	}
	r, err := broker.RefusedFromMsg(nats.Header{"avatarbus-source": {"acme"}, "http-webhook-id": {"m1"}}, nil)
	if err != nil || r.Source != "acme" || r.Header.Get("Webhook-Id") != "m1" || r.Body == nil {
		t.Fatalf("lower-case keys: %+v, %v", r, err)
	}
}
