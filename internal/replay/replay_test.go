package replay_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/replay"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

func TestRunWindowBySequence(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 10)

	var c collector
	var progress [][2]int
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 4}, &c, replay.Options{
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.seqs(), seqRange(4, 10); !equalSeqs(got, want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}
	if st != (replay.Stats{Matched: 7, Written: 7, FirstSeq: 4, LastSeq: 10}) {
		t.Errorf("stats %+v", st)
	}
	if c.closed != 1 {
		t.Errorf("sink closed %d times, want 1", c.closed)
	}
	for _, m := range c.msgs {
		if m.Header.Get(replay.HeaderReplay) != "true" ||
			m.Header.Get(replay.HeaderOriginalSequence) != strconv.FormatUint(m.Sequence, 10) ||
			m.Header.Get(replay.HeaderOriginalSubject) != "avatar.video.completed.heygen" {
			t.Errorf("seq %d: replay headers %v", m.Sequence, m.Header)
		}
		if m.Event == nil || m.Event.ID != m.Header.Get(jetstream.MsgIDHeader) || m.Subject != "avatar.video.completed.heygen" {
			t.Errorf("seq %d: event %+v subject %q", m.Sequence, m.Event, m.Subject)
		}
		if m.Time.IsZero() || time.Since(m.Time) > time.Minute {
			t.Errorf("seq %d: stored time %s", m.Sequence, m.Time)
		}
	}
	if len(progress) == 0 || progress[len(progress)-1] != [2]int{7, 7} {
		t.Errorf("progress calls %v, want the last to be [7 7]", progress)
	}
	n, err := replay.Count(testCtx(t), e.js, sel, replay.Window{StartSeq: 4})
	if err != nil || n != 7 {
		t.Errorf("Count = %d, %v; want 7", n, err)
	}
	e.assertNoConsumers(t)

	// A start past the end, or an empty stream, is an empty replay, at once.
	for _, w := range []replay.Window{{StartSeq: 11}, {StartSeq: 1000}} {
		st, err := replay.Run(testCtx(t), e.js, sel, w, &collector{}, replay.Options{})
		if err != nil || st.Matched != 0 {
			t.Errorf("window %+v: %+v, %v; want nothing", w, st, err)
		}
	}
	empty := newEnv(t)
	if n, err := replay.Count(testCtx(t), empty.js, sel, replay.Window{StartSeq: 1}); err != nil || n != 0 {
		t.Errorf("Count on an empty stream = %d, %v", n, err)
	}
}

func TestRunWindowByTime(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 10; i++ {
		e.publish(t, envelope.TypeVideoCompleted, "heygen")
		time.Sleep(2 * time.Millisecond) // distinct stored times
	}
	at := func(seq uint64) time.Time { return e.storedAt(t, seq) }
	tests := []struct {
		name string
		w    replay.Window
		want []uint64
	}{
		{"since a stored time", replay.Window{Since: at(6)}, seqRange(6, 10)},
		{"since before everything", replay.Window{Since: at(1).Add(-time.Hour)}, seqRange(1, 10)},
		{"since after everything", replay.Window{Since: at(10).Add(time.Millisecond)}, nil},
		{"since and until (inclusive)", replay.Window{Since: at(3), Until: at(7)}, seqRange(3, 7)},
		{"until between two messages", replay.Window{Since: at(3), Until: at(7).Add(time.Millisecond / 2)}, seqRange(3, 7)},
		{"sequence and until", replay.Window{StartSeq: 2, Until: at(4)}, seqRange(2, 4)},
		{"until in the future stops at the snapshot", replay.Window{StartSeq: 9, Until: time.Now().Add(time.Hour)}, seqRange(9, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			st, err := replay.Run(testCtx(t), e.js, sel, tt.w, &c, replay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.seqs(); !equalSeqs(got, tt.want) {
				t.Fatalf("replayed %v, want %v", got, tt.want)
			}
			if st.Matched != len(tt.want) || st.Written != len(tt.want) {
				t.Errorf("stats %+v, want %d", st, len(tt.want))
			}
			n, err := replay.Count(testCtx(t), e.js, sel, tt.w)
			if err != nil || n != len(tt.want) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
	e.assertNoConsumers(t)
}

func TestRunSelection(t *testing.T) {
	e := newEnv(t)
	// seq: 1 video.completed heygen, 2 video.failed heygen, 3 video.completed did,
	// 4 conversation.ended tavus, 5 video.completed heygen, 6 unrecognized heygen
	e.publish(t, envelope.TypeVideoCompleted, "heygen")
	e.publish(t, envelope.TypeVideoFailed, "heygen")
	e.publish(t, envelope.TypeVideoCompleted, "did")
	e.publish(t, envelope.TypeConversationEnded, "tavus")
	e.publish(t, envelope.TypeVideoCompleted, "heygen")
	e.publish(t, envelope.TypeUnrecognized, "heygen")

	tests := []struct {
		name string
		sel  replay.Selection
		want []uint64
	}{
		{"everything", replay.Selection{}, seqRange(1, 6)},
		{"filter", replay.Selection{Filter: "avatar.video.>"}, []uint64{1, 2, 3, 5}},
		{"filter with a wildcard", replay.Selection{Filter: "avatar.*.*.heygen"}, []uint64{1, 2, 5}},
		{"platform", replay.Selection{Platform: "heygen"}, []uint64{1, 2, 5, 6}},
		{"type", replay.Selection{Type: envelope.TypeVideoCompleted}, []uint64{1, 3, 5}},
		{"type and platform", replay.Selection{Type: envelope.TypeVideoCompleted, Platform: "did"}, []uint64{3}},
		{"filter and platform", replay.Selection{Filter: "avatar.video.>", Platform: "heygen"}, []uint64{1, 2, 5}},
		{"filter and type", replay.Selection{Filter: "avatar.>", Type: envelope.TypeUnrecognized}, []uint64{6}},
		{"filter, type and platform", replay.Selection{Filter: "avatar.video.>", Type: envelope.TypeVideoFailed, Platform: "heygen"}, []uint64{2}},
		{"no match", replay.Selection{Platform: "synthesia"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			st, err := replay.Run(testCtx(t), e.js, tt.sel, replay.Window{StartSeq: 1}, &c, replay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.seqs(); !equalSeqs(got, tt.want) {
				t.Fatalf("replayed %v, want %v", got, tt.want)
			}
			if st.Matched != len(tt.want) {
				t.Errorf("matched %d, want %d", st.Matched, len(tt.want))
			}
			n, err := replay.Count(testCtx(t), e.js, tt.sel, replay.Window{StartSeq: 1})
			if err != nil || n != len(tt.want) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
	e.assertNoConsumers(t)
}

func TestRunIsASnapshot(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 10)
	var published sync.Once
	c := &collector{onWrite: func(replay.Message) error {
		// Live traffic while the replay runs: stored after the replay started.
		published.Do(func() { e.publishN(t, 5) })
		return nil
	}}
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, c, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.seqs(); !equalSeqs(got, seqRange(1, 10)) {
		t.Fatalf("replayed %v, want 1..10 only (11..15 were stored during the replay)", got)
	}
	if st.Written != 10 {
		t.Errorf("written %d", st.Written)
	}
	if n, err := replay.Count(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}); err != nil || n != 15 {
		t.Errorf("Count after = %d, %v; want 15", n, err)
	}

	// A filter whose last match is before the end of the stream ends without waiting.
	e.publish(t, envelope.TypeVideoFailed, "did") // seq 16
	e.publishN(t, 3)                              // 17..19
	start := time.Now()
	n, err := replay.Count(testCtx(t), e.js, replay.Selection{Platform: "did"}, replay.Window{StartSeq: 1})
	if err != nil || n != 1 {
		t.Errorf("Count(platform did) = %d, %v; want 1", n, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Count took %s: it waited for more messages", d)
	}
	e.assertNoConsumers(t)
}

func TestRunRate(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 20)
	var c collector
	start := time.Now()
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, &c, replay.Options{Rate: 100})
	took := time.Since(start)
	if err != nil || st.Written != 20 {
		t.Fatalf("%+v, %v", st, err)
	}
	// 20 writes at 100/s are 19 intervals of 10ms apart: at least 190ms; allow for timer slack.
	if took < 150*time.Millisecond {
		t.Errorf("20 messages at 100/s took %s, want >= 150ms", took)
	}
	if span := c.at[len(c.at)-1].Sub(c.at[0]); span < 150*time.Millisecond {
		t.Errorf("first to last write %s, want >= 150ms", span)
	}
	t.Logf("20 messages at 100/s: %s", took)

	// A context that ends stops a slow replay promptly, with the context's error.
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	st, err = replay.Run(ctx, e.js, sel, replay.Window{StartSeq: 1}, &collector{}, replay.Options{Rate: 5})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run with an ending context: %v, want DeadlineExceeded", err)
	}
	if errors.Is(err, replay.ErrSink) {
		t.Errorf("an interrupted replay reported as a sink error: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second || st.Written > 2 {
		t.Errorf("interrupted replay: %s, %+v", d, st)
	}
	e.assertNoConsumers(t)
}

func TestRunSinkError(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 5)
	boom := errors.New("boom")
	c := &collector{onWrite: func(m replay.Message) error {
		if m.Sequence == 3 {
			return boom
		}
		return nil
	}}
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, c, replay.Options{})
	var we *replay.WriteError
	if !errors.As(err, &we) || we.Sequence != 3 || !errors.Is(err, replay.ErrSink) || !errors.Is(err, boom) {
		t.Fatalf("error %v, want a WriteError at sequence 3 wrapping ErrSink and the cause", err)
	}
	if !strings.Contains(err.Error(), "sequence 3") || !strings.Contains(err.Error(), "avatar.video.completed.heygen") {
		t.Errorf("error %q does not name the sequence and subject", err)
	}
	if st != (replay.Stats{Matched: 3, Written: 2, FirstSeq: 1, LastSeq: 2}) {
		t.Errorf("stats %+v", st)
	}
	if c.closed != 1 {
		t.Errorf("sink closed %d times", c.closed)
	}
	e.assertNoConsumers(t)
}

// TestReplayLeavesConsumersUntouched: a production durable consumer keeps its position, no
// consumer is added, and nothing is acknowledged on its behalf.
func TestReplayLeavesConsumersUntouched(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 10)
	ctx := testCtx(t)
	e.assertNoConsumers(t)

	// Nothing else: no consumer at all after a replay and a count.
	if _, err := replay.Run(ctx, e.js, sel, replay.Window{StartSeq: 1}, &collector{}, replay.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := replay.Count(ctx, e.js, sel, replay.Window{StartSeq: 1}); err != nil {
		t.Fatal(err)
	}
	e.assertNoConsumers(t)

	// A production consumer that acked 3 of 10 and holds 2 unacked.
	prod, err := e.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "prod", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := prod.Fetch(5, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for m := range batch.Messages() {
		if i < 3 {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		i++
	}
	before, err := prod.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := replay.Run(ctx, e.js, sel, replay.Window{StartSeq: 1}, &collector{}, replay.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := replay.Count(ctx, e.js, sel, replay.Window{Since: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	if names := e.consumerNames(t); len(names) != 1 || names[0] != "prod" {
		t.Fatalf("consumers after the replay: %v, want [prod]", names)
	}
	after, err := prod.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b jetstream.SequenceInfo) bool {
		return a.Consumer == b.Consumer && a.Stream == b.Stream && (a.Last == nil) == (b.Last == nil) && (a.Last == nil || a.Last.Equal(*b.Last))
	}
	if !same(after.Delivered, before.Delivered) || !same(after.AckFloor, before.AckFloor) ||
		after.NumPending != before.NumPending || after.NumAckPending != before.NumAckPending ||
		after.NumRedelivered != before.NumRedelivered {
		t.Errorf("production consumer changed:\nbefore %+v %+v pending %d ackpending %d\nafter  %+v %+v pending %d ackpending %d",
			before.Delivered, before.AckFloor, before.NumPending, before.NumAckPending,
			after.Delivered, after.AckFloor, after.NumPending, after.NumAckPending)
	}
	if before.AckFloor.Stream != 3 || before.NumAckPending != 2 || before.NumPending != 5 {
		t.Errorf("test setup: ack floor %d, ack pending %d, pending %d", before.AckFloor.Stream, before.NumAckPending, before.NumPending)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 1)
	tests := []struct {
		name string
		sel  replay.Selection
		w    replay.Window
		want string
	}{
		{"no start", sel, replay.Window{}, "a start is required"},
		{"two starts", sel, replay.Window{StartSeq: 1, Since: time.Now()}, "not both"},
		{"until before since", sel, replay.Window{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, "before since"},
		{"bad filter", replay.Selection{Filter: "avatar.>.x"}, replay.Window{StartSeq: 1}, "'>' must be the last"},
		{"empty token", replay.Selection{Filter: "avatar..x"}, replay.Window{StartSeq: 1}, "filter"},
		{"filter outside the prefix", replay.Selection{Filter: "dlq.avatar.>"}, replay.Window{StartSeq: 1}, "outside the stream's subjects avatar.>"},
		{"bad platform", replay.Selection{Platform: "hey.gen"}, replay.Window{StartSeq: 1}, "platform"},
		{"bad type", replay.Selection{Type: "video.completed"}, replay.Window{StartSeq: 1}, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replay.Run(testCtx(t), e.js, tt.sel, tt.w, &collector{}, replay.Options{})
			if !errors.Is(err, replay.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want ErrInvalid saying %q", err, tt.want)
			}
			if _, err := replay.Count(testCtx(t), e.js, tt.sel, tt.w); !errors.Is(err, replay.ErrInvalid) {
				t.Errorf("Count: %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := replay.Run(testCtx(t), e.js, replay.Selection{Stream: "NOPE"}, replay.Window{StartSeq: 1}, &collector{}, replay.Options{}); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("missing stream: %v", err)
	}
	e.assertNoConsumers(t)
}

func TestFollow(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 3) // 1..3, before the tail starts

	follow := func(since time.Time, sel replay.Selection) (chan replay.Message, context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(testCtx(t))
		got := make(chan replay.Message, 100)
		done := make(chan error, 1)
		go func() {
			done <- replay.Follow(ctx, e.js, sel, since, func(m replay.Message) error {
				got <- m
				return nil
			})
		}()
		return got, cancel, done
	}
	waitConsumer := func() {
		waitfor.Cond(t, 5*time.Second, func() bool { return len(e.consumerNames(t)) > 0 }, "Follow to create its consumer")
	}
	receive := func(got chan replay.Message, want ...uint64) {
		t.Helper()
		for _, w := range want {
			select {
			case m := <-got:
				if m.Sequence != w {
					t.Fatalf("got sequence %d, want %d", m.Sequence, w)
				}
				if m.Header.Get(replay.HeaderReplay) != "" {
					t.Errorf("a followed message carries replay headers: %v", m.Header)
				}
				if m.Event == nil {
					t.Errorf("seq %d: no event", m.Sequence)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("sequence %d not received within 5s", w)
			}
		}
	}
	stop := func(cancel context.CancelFunc, done chan error) {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Follow returned %v after its context ended, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Follow did not return within 5s of its context ending")
		}
	}

	// New messages only.
	got, cancel, done := follow(time.Time{}, sel)
	waitConsumer()
	e.publishN(t, 2) // 4, 5
	receive(got, 4, 5)
	stop(cancel, done)
	e.assertNoConsumers(t)

	// From a time, then live; with a platform selection.
	got, cancel, done = follow(e.storedAt(t, 2), replay.Selection{Platform: "heygen"})
	receive(got, 2, 3, 4, 5)
	e.publish(t, envelope.TypeVideoCompleted, "did") // 6: not selected
	e.publishN(t, 1)                                 // 7
	receive(got, 7)
	stop(cancel, done)
	e.assertNoConsumers(t)

	// A stream that does not exist is an error at once.
	err := replay.Follow(testCtx(t), e.js, replay.Selection{Stream: "NOPE"}, time.Time{}, func(replay.Message) error { return nil })
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("Follow on a missing stream: %v", err)
	}
}
