package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// TestConcurrentPublishesEachGetTheirOwnAck: many callers publishing at once on one connection
// (pipelined, not one request at a time) each get the ack of their own event: distinct sequences
// for new ids, the original sequence and Duplicate for a repeated id, and the stream holds each
// id once.
func TestConcurrentPublishesEachGetTheirOwnAck(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()})
	p := b.Publisher()
	ctx := context.Background()
	const n = 400
	acks := make([]broker.Ack, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acks[i], errs[i] = p.Publish(ctx, "avatar.video.completed.acme", event(fmt.Sprintf("ev-%d", i)))
		}()
	}
	wg.Wait()
	seqs := map[uint64]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("publish %d: %v", i, errs[i])
		}
		if acks[i].Duplicate || acks[i].Stream != "AVATAR" {
			t.Fatalf("publish %d: %+v", i, acks[i])
		}
		if j, dup := seqs[acks[i].Seq]; dup {
			t.Fatalf("publishes %d and %d were acked with the same sequence %d", j, i, acks[i].Seq)
		}
		seqs[acks[i].Seq] = i
	}

	// The same ids again, concurrently: every answer is the first sequence, flagged duplicate.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ack, err := p.Publish(ctx, "avatar.video.completed.acme", event(fmt.Sprintf("ev-%d", i)))
			if err != nil || !ack.Duplicate || ack.Seq != acks[i].Seq {
				errs[i] = fmt.Errorf("redelivery of ev-%d: %+v %v (first seq %d)", i, ack, err, acks[i].Seq)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s, err := b.JS.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Fatalf("stream holds %d messages, want %d", info.State.Msgs, n)
	}
}

// TestPublishWithoutAckFailsAtTheTimeout: a subject someone listens on but no stream stores
// gets no ack and no "no responders"; Publish must give up at its timeout with ErrUnavailable, and
// the publisher keeps working afterwards.
func TestPublishWithoutAckFailsAtTheTimeout(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	const timeout = 300 * time.Millisecond
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), PublishTimeout: timeout})
	voidListener(t, srv)
	p := b.Publisher()
	start := time.Now()
	_, err := p.Publish(context.Background(), "void.x", event("lost"))
	took := time.Since(start)
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("gave up after %s, want about %s", took, timeout)
	}
	if ack, err := p.Publish(context.Background(), "avatar.video.completed.acme", event("after")); err != nil || ack.Seq != 1 {
		t.Fatalf("publish after a timeout: %+v %v", ack, err)
	}
}

// TestPublishHonoursTheCallerDeadline: a caller's shorter deadline wins over the publisher's.
func TestPublishHonoursTheCallerDeadline(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), PublishTimeout: 5 * time.Second})
	voidListener(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.Publisher().Publish(ctx, "void.x", event("lost")); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("took %s with a 100ms deadline", took)
	}
}

// TestPublishSetsTheHeaders: the stored message carries the event id as Nats-Msg-Id, the
// CloudEvents content type, and is the envelope's bytes.
func TestPublishSetsTheHeaders(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig()})
	ctx := context.Background()
	ack, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event("hdr-1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.JS.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, ack.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Nats-Msg-Id"); got != "hdr-1" {
		t.Errorf("Nats-Msg-Id = %q", got)
	}
	if got := m.Header.Get("Content-Type"); got != "application/cloudevents+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if m.Subject != "avatar.video.completed.acme" || len(m.Data) == 0 || m.Data[0] != '{' {
		t.Errorf("stored %s %q", m.Subject, m.Data)
	}
}

// TestInFlightPublishFailsFastOnDisconnect: a publish waiting for its ack when the connection
// drops is answered at once (the disconnect fails every pending ack), not at the 5 s timeout.
func TestInFlightPublishFailsFastOnDisconnect(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), PublishTimeout: 5 * time.Second})
	voidListener(t, srv)
	done := make(chan error, 1)
	go func() {
		_, err := b.Publisher().Publish(context.Background(), "void.x", event("pending"))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the publish is out, waiting for an ack that never comes
	start := time.Now()
	brokertest.Stop(srv)
	select {
	case err := <-done:
		if !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("want ErrUnavailable, got %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("answered %s after the disconnect", took)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("the in-flight publish still waits 4s after the disconnect")
	}
}

// voidListener subscribes to void.> and never answers: a publish there finds a responder (so no
// "no responders" error) but no stream, and gets no ack.
func voidListener(t *testing.T, srv *server.Server) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("void.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}
