package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

const batchSubject = "avatar.video.completed.acme"

// syncAlwaysOptions are a JetStream server's options storing in dir with fsync before every ack
// (nats.embedded.sync_interval: always), the setting batch mode is for.
func syncAlwaysOptions(dir string) *serverOpts {
	o := brokertest.Options(dir)
	o.SyncAlways = true
	return o
}

// atomicStream is the test stream with atomic batch publish allowed.
func atomicStream() broker.StreamConfig {
	s := streamConfig()
	s.AtomicPublish = true
	return s
}

// storedIDs reads every message of stream AVATAR: Nats-Msg-Id -> sequence, failing on an id
// stored twice.
func storedIDs(t *testing.T, js jetstream.JetStream) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]uint64{}
	if info.State.Msgs == 0 {
		return ids
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get seq %d: %v", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if first, dup := ids[id]; dup {
			t.Errorf("id %s stored twice: seq %d and %d", id, first, seq)
		}
		ids[id] = seq
	}
	return ids
}

// rawBatch sends one atomic batch of empty events with the given Nats-Msg-Ids by hand (ADR-50
// headers, as nats-server v2.15.2 reads them), and returns the commit's answer or its API error.
func rawBatch(t *testing.T, nc *nats.Conn, ids []string) (*nats.Msg, error) {
	t.Helper()
	batch := "raw-" + strings.Join(ids, "-")
	for i, id := range ids {
		m := nats.NewMsg(batchSubject)
		m.Data = []byte(`{}`)
		m.Header.Set(jetstream.MsgIDHeader, id)
		m.Header.Set("Nats-Batch-Id", batch)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(ids)-1 {
			if err := nc.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		resp, err := nc.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ack struct {
			Error *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			t.Fatalf("batch answer %q: %v", resp.Data, err)
		}
		if ack.Error != nil {
			return resp, ack.Error
		}
		return resp, nil
	}
	return nil, nil
}

// publishAll publishes ids concurrently, one goroutine each, and returns the answers in order.
func publishAll(p *broker.BatchPublisher, ids []string) ([]broker.Ack, []error) {
	acks, errs := make([]broker.Ack, len(ids)), make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { acks[i], errs[i] = p.Publish(context.Background(), batchSubject, event(id)) })
	}
	wg.Wait()
	return acks, errs
}

// TestBatchPublishesEachGetTheirOwnSequence: concurrent publishes on a fsync-always server are
// gathered into atomic batches, and each caller is answered with the sequence its own event was
// stored at (seq_i = last - count + 1 + i: the batch is stored contiguously, in order).
func TestBatchPublishesEachGetTheirOwnSequence(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunWithOptions(t, syncAlwaysOptions(t.TempDir()))
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("own-%d", i)
	}
	acks, errs := publishAll(p, ids)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	stored := storedIDs(t, b.JS)
	if len(stored) != n {
		t.Fatalf("stream holds %d events, want %d", len(stored), n)
	}
	for i, id := range ids {
		if acks[i].Duplicate || acks[i].Stream != "AVATAR" || acks[i].Seq != stored[id] {
			t.Errorf("%s answered %+v, stored at seq %d", id, acks[i], stored[id])
		}
	}
	st := p.Stats()
	t.Logf("%+v", st)
	if st.Batches == 0 || st.Messages != n || st.Fallbacks != 0 {
		t.Fatalf("stats %+v: want some batches, %d messages, no fallback", st, n)
	}

	// A batch's messages keep what Publisher sets: the envelope, its content type and id.
	m, err := b.JS.Stream(context.Background(), "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.GetMsg(context.Background(), acks[n/2].Seq)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stored headers: %v", raw.Header)
	want, _ := envelope.Marshal(event(ids[n/2]))
	if string(raw.Data) != string(want) || raw.Header.Get("Content-Type") != envelope.ContentType {
		t.Errorf("stored message %q %v, want the envelope of %s", raw.Data, raw.Header, ids[n/2])
	}
}

// TestBatchRefusedForADuplicateFallsBackOneByOne: the server refuses a whole atomic batch that
// holds an id it stored before or an id twice (err_code 10201); every event of it is then
// published on its own, so each caller learns stored or duplicate, and each id is stored once.
func TestBatchRefusedForADuplicateFallsBackOneByOne(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunWithOptions(t, syncAlwaysOptions(t.TempDir()))
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})

	// The server's refusal itself, on a raw batch: what the fallback relies on.
	nc, js := brokertest.Connect(t, srv.ClientURL())
	if _, err := js.Publish(context.Background(), batchSubject, []byte(`{}`), jetstream.WithMsgID("old")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, ids string }{
		{"id stored before", "fresh-a,old"},
		{"id twice in the batch", "fresh-b,fresh-b"},
	} {
		ids := strings.Split(tt.ids, ",")
		_, err := rawBatch(t, nc, ids)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10201 || !strings.Contains(apiErr.Description, "duplicate message id") {
			t.Fatalf("%s: raw batch %v answered %v, want err_code 10201", tt.name, ids, err)
		}
	}
	if got := storedIDs(t, b.JS); len(got) != 1 {
		t.Fatalf("refused batches stored something: %v", got)
	}

	tests := []struct {
		name    string
		ids     []string
		wantDup []bool
	}{
		{"no duplicate: one atomic batch", []string{"a", "b", "c"}, []bool{false, false, false}},
		{"an id stored before", []string{"d", "a", "e"}, []bool{false, true, false}},
		{"an id twice in the batch", []string{"f", "f", "g"}, []bool{false, true, false}},
		{"all stored before", []string{"a", "d", "old"}, []bool{true, true, true}},
	}
	fallbacks := int64(0)
	for _, tt := range tests {
		evs := make([]*envelope.Event, len(tt.ids))
		for i, id := range tt.ids {
			evs[i] = event(id)
		}
		before := storedIDs(t, b.JS)
		acks, errs := broker.SendBatchForTest(p, batchSubject, evs)
		after := storedIDs(t, b.JS)
		refused := false
		for i, id := range tt.ids {
			if errs[i] != nil {
				t.Fatalf("%s: %s: %v", tt.name, id, errs[i])
			}
			if acks[i].Duplicate != tt.wantDup[i] || acks[i].Seq != after[id] {
				t.Errorf("%s: %s answered %+v, want duplicate=%v and seq %d", tt.name, id, acks[i], tt.wantDup[i], after[id])
			}
			if tt.wantDup[i] {
				refused = true
				if _, was := before[id]; !was && i > 0 && tt.ids[i-1] != id {
					t.Errorf("%s: %s flagged duplicate but was not stored before", tt.name, id)
				}
			}
		}
		if refused {
			fallbacks++
		}
		if got := p.Stats().Fallbacks; got != fallbacks {
			t.Errorf("%s: %d fallbacks so far, want %d", tt.name, got, fallbacks)
		}
	}
	if got := storedIDs(t, b.JS); len(got) != 8 { // old a b c d e f g
		t.Fatalf("stream holds %v, want 8 ids once each", got)
	}
}

// TestBatchDuplicatesUnderConcurrency: redeliveries racing with first deliveries, through the
// gathering of Publish: each id is stored once, one caller of a new id is told stored and every
// other duplicate, all with the same sequence.
func TestBatchDuplicatesUnderConcurrency(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunWithOptions(t, syncAlwaysOptions(t.TempDir()))
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	var first []string
	for i := range 100 {
		first = append(first, fmt.Sprintf("c-%d", i))
	}
	firstAcks, errs := publishAll(p, first)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Again every old id, and 50 new ids twice each, all at once.
	var again []string
	again = append(again, first...)
	for i := range 50 {
		id := fmt.Sprintf("n-%d", i)
		again = append(again, id, id)
	}
	acks, errs := publishAll(p, again)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	stored := storedIDs(t, b.JS)
	if len(stored) != 150 {
		t.Fatalf("stream holds %d ids, want 150", len(stored))
	}
	news := map[string]int{}
	for i, id := range again {
		if acks[i].Seq != stored[id] {
			t.Errorf("%s answered seq %d, stored at %d", id, acks[i].Seq, stored[id])
		}
		if i < len(first) {
			if !acks[i].Duplicate || acks[i].Seq != firstAcks[i].Seq {
				t.Errorf("redelivery of %s answered %+v, want duplicate of seq %d", id, acks[i], firstAcks[i].Seq)
			}
			continue
		}
		if !acks[i].Duplicate {
			news[id]++
		}
	}
	for i := range 50 {
		if id := fmt.Sprintf("n-%d", i); news[id] != 1 {
			t.Errorf("%s told stored %d times, want once", id, news[id])
		}
	}
	if st := p.Stats(); st.Fallbacks == 0 {
		t.Errorf("stats %+v: no batch fell back, so no batch held a duplicate: the test proves nothing", st)
	}
}

// TestBatchWithoutAckFailsAll: when the ack of a batch does not come (a silent network partition
// while connected), every request of it gets ErrUnavailable at the timeout, readiness reports the
// storage failure, and after the partition heals a retry of the same events is stored once or
// found duplicate.
func TestBatchWithoutAckFailsAll(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	link := brokertest.NewLink(t, srv.Addr().String())
	const timeout = 400 * time.Millisecond
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: "nats://" + link.Addr()}, Stream: atomicStream(), PublishTimeout: timeout})
	p := b.BatchPublisher(broker.BatchConfig{})
	if _, err := p.Publish(context.Background(), batchSubject, event("before")); err != nil {
		t.Fatal(err)
	}
	link.Cut()
	evs := []*envelope.Event{event("t-1"), event("t-2"), event("t-3"), event("t-4")}
	start := time.Now()
	_, errs := broker.SendBatchForTest(p, batchSubject, evs)
	took := time.Since(start)
	for i, err := range errs {
		if !errors.Is(err, broker.ErrUnavailable) || !errors.Is(err, broker.ErrBatchNoAck) {
			t.Errorf("event %d of the batch: %v, want ErrUnavailable for no ack", i, err)
		}
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("gave up after %s, want about %s", took, timeout)
	}
	// Through Publish too: whatever the batches, every caller is answered.
	ids := []string{"t-5", "t-6", "t-7", "t-8", "t-9", "t-10"}
	_, errs = publishAll(p, ids)
	for i, err := range errs {
		if !errors.Is(err, broker.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", ids[i], err)
		}
	}
	link.Heal()
	if err := b.Ready(context.Background()); !errors.Is(err, broker.ErrStorage) {
		t.Errorf("Ready after batches without ack = %v, want ErrStorage", err)
	}
	// The retry, as a platform retries until it is answered 2xx (on a loaded machine a batch can
	// miss the short deadline again): each event stored once, whatever the lost batches did.
	all := append([]string{"t-1", "t-2", "t-3", "t-4"}, ids...)
	acks, errs := publishAll(p, all)
	for attempt := 1; errors.Join(errs...) != nil; attempt++ {
		if attempt == 20 {
			t.Fatalf("retries still failing: %v", errors.Join(errs...))
		}
		for i, err := range errs {
			if err != nil {
				acks[i], errs[i] = p.Publish(context.Background(), batchSubject, event(all[i]))
			}
		}
	}
	stored := storedIDs(t, b.JS)
	for i, id := range all {
		if acks[i].Seq != stored[id] {
			t.Errorf("retry of %s answered %+v, stored at %d", id, acks[i], stored[id])
		}
	}
	if len(stored) != len(all)+1 {
		t.Errorf("stream holds %d ids, want %d", len(stored), len(all)+1)
	}
	if err := b.Ready(context.Background()); err != nil {
		t.Errorf("Ready after stored batches = %v", err)
	}
}

// TestBatchDropsACallerGoneBeforeItsBatchIsSent: a request whose caller's context ends while it
// waits behind the batch in flight is answered "not sent" and never published.
func TestBatchDropsACallerGoneBeforeItsBatchIsSent(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	link := brokertest.NewLink(t, srv.Addr().String())
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: "nats://" + link.Addr()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	link.Cut()
	inFlight := make(chan error, 1)
	go func() {
		_, err := p.Publish(context.Background(), batchSubject, event("in-flight"))
		inFlight <- err
	}()
	// Let it be taken and sent: the batcher then waits for its ack, which the cut link holds.
	for deadline := time.Now().Add(5 * time.Second); !broker.InFlightForTest(p); {
		if time.Now().After(deadline) {
			t.Fatal("the first publish was never sent")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not an assertion
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Publish(ctx, batchSubject, event("gone"))
	if !errors.Is(err, broker.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("caller gone before its batch: %v, want ErrUnavailable, not sent", err)
	}
	link.Heal()
	if err := <-inFlight; err != nil {
		t.Fatalf("the publish in flight: %v", err)
	}
	if _, err := p.Publish(context.Background(), batchSubject, event("after")); err != nil {
		t.Fatal(err)
	}
	stored := storedIDs(t, b.JS)
	if _, ok := stored["gone"]; ok || len(stored) != 2 {
		t.Fatalf("stream holds %v, want in-flight and after only", stored)
	}
}

// TestBatchBrokerKilledMidBatch: a fsync-always server is shut down while 64 callers publish
// through batches. Every call returns; every event answered stored is in the stream after the
// server restarts on the same store, once, at the sequence it was answered with; every other
// call got ErrUnavailable. (A caller goes on after an error until the server is stopped: on a
// loaded machine a batch can miss its ack deadline.)
func TestBatchBrokerKilledMidBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := syncAlwaysOptions(dir)
	srv := brokertest.RunWithOptions(t, opts)
	port := brokertest.Port(srv)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})

	var (
		mu        sync.Mutex
		acked     = map[string]uint64{}
		failed    int
		otherErrs []error
		ok        atomic.Int64
		killed    atomic.Bool
	)
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("k-%d-%d", w, i)
				ack, err := p.Publish(context.Background(), batchSubject, event(id))
				mu.Lock()
				switch {
				case err == nil:
					acked[id] = ack.Seq
					ok.Add(1)
				case errors.Is(err, broker.ErrUnavailable):
					failed++
				default:
					otherErrs = append(otherErrs, err)
				}
				mu.Unlock()
				if err != nil && killed.Load() {
					return // the broker is gone; this caller has its answer
				}
			}
		})
	}
	for deadline := time.Now().Add(30 * time.Second); ok.Load() < 300; {
		if time.Now().After(deadline) {
			killed.Store(true)
			brokertest.Stop(srv)
			wg.Wait()
			t.Fatalf("only %d events stored in 30s; %d failed", ok.Load(), failed)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not an assertion
	}
	killed.Store(true)
	brokertest.Stop(srv)
	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("publishes still waiting 10s after the server stopped")
	}
	if len(otherErrs) > 0 {
		t.Fatalf("errors other than ErrUnavailable: %v", errors.Join(otherErrs...))
	}
	if failed < 64 {
		t.Errorf("%d calls got ErrUnavailable, want at least one per caller (64)", failed)
	}

	restarted := syncAlwaysOptions(dir)
	restarted.Port = port
	srv2 := brokertest.RunWithOptions(t, restarted)
	_, js := brokertest.Connect(t, srv2.ClientURL())
	stored := storedIDs(t, js)
	for id, seq := range acked {
		if got, ok := stored[id]; !ok || got != seq {
			t.Errorf("%s answered stored at seq %d; after restart: %d (present %v)", id, seq, got, ok)
		}
	}
	t.Logf("%d answered stored, %d answered unavailable, %d in the stream after restart, %+v",
		len(acked), failed, len(stored), p.Stats())
}

// TestBatchPublishFailsFastWhenDisconnected: with the server gone, Publish answers at once.
func TestBatchPublishFailsFastWhenDisconnected(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	brokertest.Stop(srv)
	for deadline := time.Now().Add(5 * time.Second); b.Connected(); {
		if time.Now().After(deadline) {
			t.Fatal("still connected 5s after the server stopped")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not an assertion
	}
	start := time.Now()
	if _, err := p.Publish(context.Background(), batchSubject, event("x")); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("publish while disconnected: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s to fail while disconnected, want at once", took)
	}
}

// TestBatchPublisherClose: Close answers, and a Publish after it fails with ErrUnavailable.
func TestBatchPublisherClose(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: atomicStream(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	if _, err := p.Publish(context.Background(), batchSubject, event("open")); err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // twice is harmless
	if _, err := p.Publish(context.Background(), batchSubject, event("closed")); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("publish after Close: %v", err)
	}
}

// TestEnsureStreamTurnsOnAtomicPublishInPlace: an existing stream (events in it) gets
// allow_atomic on update, keeps its events, and a later start without it leaves it on.
func TestEnsureStreamTurnsOnAtomicPublishInPlace(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	ctx := context.Background()
	cfg := streamConfig()
	if _, err := broker.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, batchSubject, []byte(`{}`), jetstream.WithMsgID("kept")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		atomic, want bool
	}{{true, true}, {false, true}} {
		cfg.AtomicPublish = step.atomic
		s, err := broker.EnsureStream(ctx, js, cfg)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.AllowAtomicPublish != step.want || info.State.Msgs != 1 {
			t.Fatalf("after EnsureStream(AtomicPublish=%v): allow_atomic %v, %d messages; want %v and 1",
				step.atomic, info.Config.AllowAtomicPublish, info.State.Msgs, step.want)
		}
	}
}

// TestBatchOnAStreamWithoutAtomicPublishStillStores: when the stream takes no atomic batch (an
// operator turned allow_atomic off), the server refuses the batch (10174) and its events are
// stored one by one: a genuine request is never dropped for the mode.
func TestBatchOnAStreamWithoutAtomicPublishStillStores(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), PublishTimeout: 5 * time.Second})
	p := b.BatchPublisher(broker.BatchConfig{})
	acks, errs := broker.SendBatchForTest(p, batchSubject, []*envelope.Event{event("x-1"), event("x-2"), event("x-1")})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	stored := storedIDs(t, b.JS)
	if len(stored) != 2 || acks[0].Seq != stored["x-1"] || acks[1].Seq != stored["x-2"] ||
		acks[0].Duplicate || acks[1].Duplicate || !acks[2].Duplicate || acks[2].Seq != stored["x-1"] {
		t.Fatalf("answers %+v, stored %v", acks, stored)
	}
	if st := p.Stats(); st.Fallbacks != 1 {
		t.Fatalf("stats %+v, want one fallback", st)
	}
}

// TestBatchOnAClusterInterleavedWithSinglePublishes: on a three-node cluster (stream replicas 3),
// atomic batches racing single publishes into the same stream (the poller publishes one by one
// while webhooks go through batches) still give each caller the sequence of its own event: the
// leader proposes a batch as one run of entries, never interleaved with other publishes.
func TestBatchOnAClusterInterleavedWithSinglePublishes(t *testing.T) {
	t.Parallel()
	c := brokertest.RunCluster(t, 3)
	stream := atomicStream()
	stream.Replicas = 3
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: c.URLs()}, Stream: stream, PublishTimeout: 5 * time.Second})
	bp, single := b.BatchPublisher(broker.BatchConfig{}), b.Publisher()
	const n = 200
	acks, errs := make([]broker.Ack, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("r3-%d", i)
			if i%4 == 0 {
				acks[i], errs[i] = single.Publish(context.Background(), batchSubject, event(id))
				return
			}
			acks[i], errs[i] = bp.Publish(context.Background(), batchSubject, event(id))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	stored := storedIDs(t, b.JS)
	if len(stored) != n {
		t.Fatalf("stream holds %d events, want %d", len(stored), n)
	}
	for i := range n {
		if id := fmt.Sprintf("r3-%d", i); acks[i].Seq != stored[id] || acks[i].Duplicate {
			t.Errorf("%s answered %+v, stored at seq %d", id, acks[i], stored[id])
		}
	}
	if st := bp.Stats(); st.Batches == 0 {
		t.Errorf("stats %+v: no atomic batch formed, the test proves nothing", st)
	}
	t.Logf("%+v", bp.Stats())
}
