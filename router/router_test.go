package router_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/router"
)

const subject = "avatar.video.completed.acme"

func TestAckOnSuccess(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	const n = 50
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("ack-%02d", i)
		want[id] = true
		b.publish(id)
	}
	seen := newDeliveries()
	r := b.router()
	err := r.Handle("avatar.video.completed.*", "ack", func(ctx context.Context, ev router.Event) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("handler ctx has no deadline")
		}
		seen.add(ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.distinct() == n }, "50 distinct events")
	b.waitSettled("ack")
	time.Sleep(100 * time.Millisecond) // room for a wrong redelivery to show
	if d := seen.duplicates(); len(d) > 0 {
		t.Fatalf("ids seen more than once: %v", d)
	}
	evs, _ := seen.snapshot()
	for _, ev := range evs {
		if !want[ev.ID] {
			t.Errorf("unexpected id %q", ev.ID)
		}
		if ev.Subject != subject || ev.NumDelivered != 1 || ev.Sequence == 0 || ev.Platform != platform {
			t.Errorf("event %s: subject %q, delivered %d, seq %d, platform %q", ev.ID, ev.Subject, ev.NumDelivered, ev.Sequence, ev.Platform)
		}
		if ev.Header.Get("Nats-Msg-Id") != ev.ID {
			t.Errorf("event %s: Nats-Msg-Id %q", ev.ID, ev.Header.Get("Nats-Msg-Id"))
		}
		if !bytes.Contains(ev.Body, []byte(`"id":"`+ev.ID+`"`)) {
			t.Errorf("event %s: body is not its envelope: %s", ev.ID, ev.Body)
		}
	}
}

func TestConsumerAndDeadLetterStreamConfig(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	r := b.router(router.WithAckWait(7*time.Second), router.WithMaxDeliveries(4))
	if err := r.Handle("avatar.>", "cfg", func(context.Context, router.Event) error { return nil },
		router.WithConcurrency(2000)); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	var info *jetstream.ConsumerInfo
	waitfor.Cond(t, 5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := b.js.Consumer(ctx, stream, "cfg")
		if err != nil {
			return false
		}
		info = c.CachedInfo()
		return true
	}, "the consumer")
	c := info.Config
	if c.Durable != "cfg" || c.FilterSubject != "avatar.>" || c.AckPolicy != jetstream.AckExplicitPolicy ||
		c.AckWait != 7*time.Second || c.DeliverPolicy != jetstream.DeliverAllPolicy || c.MaxAckPending < 2000 {
		t.Fatalf("consumer config: %+v", c)
	}
	ctx := context.Background()
	s, err := b.js.Stream(ctx, dlqStream)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.CachedInfo().Config
	if len(sc.Subjects) != 1 || sc.Subjects[0] != "dlq.avatar.>" || sc.Storage != jetstream.FileStorage ||
		sc.MaxAge != router.DefaultDeadLetterMaxAge {
		t.Fatalf("dead-letter stream config: %+v", sc)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("retry")
	seen := newDeliveries()
	r := b.router(router.WithBackoff(100*time.Millisecond, 200*time.Millisecond))
	err := r.Handle(subject, "retry", func(_ context.Context, ev router.Event) error {
		if seen.add(ev) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.total() >= 3 }, "3 deliveries")
	b.waitSettled("retry")
	time.Sleep(100 * time.Millisecond) // room for a wrong extra delivery to show
	evs, times := seen.snapshot()
	if len(evs) != 3 {
		t.Fatalf("deliveries: %d, want 3", len(evs))
	}
	for i, ev := range evs {
		if ev.NumDelivered != uint64(i+1) {
			t.Errorf("delivery %d: NumDelivered %d", i+1, ev.NumDelivered)
		}
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		gap := times[i+1].Sub(times[i])
		t.Logf("gap before delivery %d: %v (backoff %v)", i+2, gap, want)
		if gap < want || gap > 5*time.Second {
			t.Errorf("gap before delivery %d: %v, want >= %v", i+2, gap, want)
		}
	}
}

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	t.Run("AfterMaxDeliveries", func(t *testing.T) {
		b := newBus(t)
		subj, body, seq := b.publish("doomed")
		seen := newDeliveries()
		var logs lockedBuffer
		r := b.router(router.WithMaxDeliveries(3), router.WithLogger(zerolog.New(&logs).Level(zerolog.DebugLevel)))
		err := r.Handle("avatar.video.>", "dlq-max", func(_ context.Context, ev router.Event) error {
			seen.add(ev)
			return errors.New("boom")
		})
		if err != nil {
			t.Fatal(err)
		}
		b.run(r)
		msg := b.deadLetter("dlq." + subj)
		checkDeadLetter(t, msg, body, "boom", "dlq-max", subj, seq, 3)
		b.waitSettled("dlq-max")
		time.Sleep(150 * time.Millisecond) // several backoff delays: a redelivery would show
		if n := seen.total(); n != 3 {
			t.Fatalf("handler ran %d times, want 3", n)
		}
		if n := b.deadLetterCount(); n != 1 {
			t.Fatalf("dead letters: %d, want 1", n)
		}
		out := logs.String()
		if !strings.Contains(out, `"level":"warn"`) || !strings.Contains(out, "dead-lettered") ||
			!strings.Contains(out, `"level":"debug"`) {
			t.Errorf("want a debug line per delivery and a warning for the dead letter:\n%s", out)
		}
		if strings.Contains(out, `{"id": "doomed"}`) || strings.Contains(out, "video-doomed") {
			t.Errorf("the payload was logged:\n%s", out)
		}
	})

	t.Run("Permanent", func(t *testing.T) {
		b := newBus(t)
		subj, body, seq := b.publish("bad-input")
		seen := newDeliveries()
		r := b.router(router.WithMaxDeliveries(5))
		err := r.Handle(subject, "dlq-perm", func(_ context.Context, ev router.Event) error {
			seen.add(ev)
			return fmt.Errorf("validate: %w", router.Permanent(errors.New("no media url")))
		})
		if err != nil {
			t.Fatal(err)
		}
		b.run(r)
		msg := b.deadLetter("dlq." + subj)
		checkDeadLetter(t, msg, body, "no media url", "dlq-perm", subj, seq, 1)
		b.waitSettled("dlq-perm")
		time.Sleep(100 * time.Millisecond) // room for a wrong redelivery to show
		if n := seen.total(); n != 1 {
			t.Fatalf("handler ran %d times, want 1", n)
		}
	})

	t.Run("Undecodable", func(t *testing.T) {
		b := newBus(t)
		body := []byte("this is not an envelope")
		seq := b.publishRaw(subject, "garbage", body)
		seen := newDeliveries()
		r := b.router()
		err := r.Handle(subject, "dlq-undecodable", func(_ context.Context, ev router.Event) error {
			seen.add(ev)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b.run(r)
		msg := b.deadLetter("dlq." + subject)
		checkDeadLetter(t, msg, body, "undecodable", "dlq-undecodable", subject, seq, 1)
		if !strings.HasPrefix(msg.Header.Get(router.HeaderDeadLetterReason), "undecodable: ") {
			t.Errorf("reason %q", msg.Header.Get(router.HeaderDeadLetterReason))
		}
		b.waitSettled("dlq-undecodable")
		if n := seen.total(); n != 0 {
			t.Fatalf("handler ran %d times for an undecodable message", n)
		}
	})

	t.Run("Panic", func(t *testing.T) {
		b := newBus(t)
		subj, body, seq := b.publish("panics")
		r := b.router(router.WithMaxDeliveries(2))
		err := r.Handle(subject, "dlq-panic", func(context.Context, router.Event) error {
			panic("kaboom")
		})
		if err != nil {
			t.Fatal(err)
		}
		b.run(r)
		msg := b.deadLetter("dlq." + subj)
		checkDeadLetter(t, msg, body, "kaboom", "dlq-panic", subj, seq, 2)
	})

	t.Run("LongReasonIsOneLineAndTruncated", func(t *testing.T) {
		b := newBus(t)
		subj, _, _ := b.publish("long")
		r := b.router(router.WithMaxDeliveries(1))
		long := "first line\r\nsecond line " + strings.Repeat("é", 2000)
		if err := r.Handle(subject, "dlq-long", func(context.Context, router.Event) error {
			return errors.New(long)
		}); err != nil {
			t.Fatal(err)
		}
		b.run(r)
		reason := b.deadLetter("dlq." + subj).Header.Get(router.HeaderDeadLetterReason)
		if len(reason) > router.MaxReasonLength || strings.ContainsAny(reason, "\r\n") ||
			!strings.HasPrefix(reason, "first line  second line é") {
			t.Fatalf("reason (%d bytes): %q", len(reason), reason)
		}
	})
}

func checkDeadLetter(t *testing.T, msg *jetstream.RawStreamMsg, body []byte, reason, consumer, subj string, seq uint64, deliveries int) {
	t.Helper()
	h := msg.Header
	if got := h.Get(router.HeaderDeadLetterReason); !strings.Contains(got, reason) {
		t.Errorf("reason %q, want it to contain %q", got, reason)
	}
	for name, want := range map[string]string{
		router.HeaderDeadLetterConsumer:   consumer,
		router.HeaderDeadLetterSubject:    subj,
		router.HeaderDeadLetterSequence:   strconv.FormatUint(seq, 10),
		router.HeaderDeadLetterDeliveries: strconv.Itoa(deliveries),
		"Nats-Msg-Id":                     consumer + ":" + strconv.FormatUint(seq, 10),
		"Content-Type":                    "application/cloudevents+json",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if !bytes.Equal(msg.Data, body) {
		t.Errorf("dead letter body differs:\n got %s\nwant %s", msg.Data, body)
	}
	dl, ok := router.ReadDeadLetter(msg.Header)
	if !ok || dl.Consumer != consumer || dl.Subject != subj || dl.Sequence != seq || dl.Deliveries != uint64(deliveries) ||
		!strings.Contains(dl.Reason, reason) {
		t.Errorf("ReadDeadLetter = %+v, %v", dl, ok)
	}
}

func TestReadDeadLetterRefusesOtherMessages(t *testing.T) {
	t.Parallel()
	for _, h := range []nats.Header{
		{},
		{router.HeaderDeadLetterConsumer: {"route-crm"}},
		{router.HeaderDeadLetterSubject: {"avatar.video.completed.heygen"}},
	} {
		if dl, ok := router.ReadDeadLetter(h); ok {
			t.Errorf("%v read as a dead letter: %+v", h, dl)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("busy")
	seen := newDeliveries()
	r := b.router(router.WithBackoff(10 * time.Millisecond))
	err := r.Handle(subject, "retry-after", func(_ context.Context, ev router.Event) error {
		if seen.add(ev) == 1 {
			return router.RetryAfter(300*time.Millisecond, errors.New("busy"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.total() >= 2 }, "the redelivery")
	b.waitSettled("retry-after")
	_, times := seen.snapshot()
	gap := times[1].Sub(times[0])
	t.Logf("redelivered after %v", gap)
	if gap < 300*time.Millisecond || gap > 5*time.Second {
		t.Fatalf("redelivered after %v, want >= 300ms", gap)
	}
	if n := seen.total(); n != 2 {
		t.Fatalf("deliveries: %d, want 2", n)
	}
}

func TestRestartWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	const n = 200
	for i := range n {
		b.publish(fmt.Sprintf("restart-%03d", i))
	}
	seen := newDeliveries()
	half := make(chan struct{})
	var once sync.Once
	handler := func(_ context.Context, ev router.Event) error {
		time.Sleep(2 * time.Millisecond) // the handler's work
		seen.add(ev)
		if seen.distinct() >= n/2 {
			once.Do(func() { close(half) })
		}
		return nil
	}
	r1 := b.router(router.WithConcurrency(4))
	if err := r1.Handle("avatar.>", "restart", handler); err != nil {
		t.Fatal(err)
	}
	stop1 := b.run(r1)
	select {
	case <-half:
	case <-time.After(10 * time.Second):
		t.Fatal("the first router did not handle half the events")
	}
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	first := seen.total()
	t.Logf("first router handled %d events", first)
	if first >= n {
		t.Fatalf("the first router handled everything (%d); the test needs it stopped half way", first)
	}

	r2 := b.router(router.WithConcurrency(4))
	if err := r2.Handle("avatar.>", "restart", handler); err != nil {
		t.Fatal(err)
	}
	b.run(r2)
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.distinct() == n }, "all 200 events")
	b.waitSettled("restart")
	time.Sleep(100 * time.Millisecond) // room for a wrong redelivery to show
	if d := seen.duplicates(); len(d) > 0 {
		t.Fatalf("ids handled more than once: %v", d)
	}
	if got := seen.total(); got != n {
		t.Fatalf("handled %d times, want %d", got, n)
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	const n = 16
	for i := range n {
		b.publish(fmt.Sprintf("conc-%02d", i))
	}
	var inFlight, maxInFlight atomic.Int32
	seen := newDeliveries()
	r := b.router(router.WithConcurrency(4))
	err := r.Handle(subject, "conc", func(_ context.Context, ev router.Event) error {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // the handler's work, long enough to overlap
		seen.add(ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.total() == n }, "16 events")
	m := maxInFlight.Load()
	t.Logf("max in flight: %d", m)
	if m > 4 || m < 2 {
		t.Fatalf("max handlers at once: %d, want 2..4", m)
	}
}

func TestGracefulStop(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("slow")
	entered := make(chan struct{})
	release := make(chan struct{})
	var returnedAt atomic.Int64
	var ctxErr atomic.Value
	r := b.router()
	err := r.Handle(subject, "graceful", func(ctx context.Context, ev router.Event) error {
		close(entered)
		<-release
		ctxErr.Store(fmt.Sprint(ctx.Err()))
		returnedAt.Store(time.Now().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := b.run(r)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("handler not called")
	}
	go func() {
		time.Sleep(200 * time.Millisecond) // the handler is still busy when Stop is called
		close(release)
	}()
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Logf("Run returned %v after its context ended", stopped.Sub(start))
	if returnedAt.Load() == 0 || time.Unix(0, returnedAt.Load()).After(stopped) {
		t.Fatal("Run returned before the handler did")
	}
	if stopped.Sub(start) < 150*time.Millisecond {
		t.Fatalf("Run returned after %v, before the handler was released", stopped.Sub(start))
	}
	if got := ctxErr.Load(); got != "<nil>" {
		t.Fatalf("handler ctx was cancelled by Run's ctx: %v", got)
	}
	b.waitSettled("graceful")

	seen := newDeliveries()
	r2 := b.router()
	if err := r2.Handle(subject, "graceful", func(_ context.Context, ev router.Event) error {
		seen.add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.run(r2)
	time.Sleep(300 * time.Millisecond) // room for a wrong redelivery to show
	if n := seen.total(); n != 0 {
		t.Fatalf("the acknowledged event was redelivered %d times", n)
	}
}

func TestStopTimeoutCancelsHandlers(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("stuck")
	entered := make(chan struct{}, 1)
	r := b.router(router.WithStopTimeout(100 * time.Millisecond))
	err := r.Handle(subject, "stuck", func(ctx context.Context, ev router.Event) error {
		if ev.NumDelivered == 1 {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := b.run(r)
	<-entered
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Run returned %v after its context ended, want about the 100ms stop timeout", d)
	}
	// The cancelled handler's failure is retried: a new router gets the event again.
	seen := newDeliveries()
	r2 := b.router()
	if err := r2.Handle(subject, "stuck", func(_ context.Context, ev router.Event) error {
		seen.add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.run(r2)
	waitfor.Cond(t, 5*time.Second, func() bool { return seen.total() == 1 }, "the redelivery")
	evs, _ := seen.snapshot()
	if evs[0].NumDelivered != 2 {
		t.Fatalf("NumDelivered %d, want 2", evs[0].NumDelivered)
	}
}

func TestRunSetupErrors(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := b.router()
	if err := r.Run(ctx); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("Run without handlers: %v", err)
	}
	r = b.router(router.WithStream("MISSING"))
	if err := r.Handle(subject, "x", func(context.Context, router.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("Run on a missing stream: %v", err)
	}

	r = b.router()
	if err := r.Handle(subject, "first", func(context.Context, router.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 5*time.Second, func() bool {
		_, err := b.js.Consumer(ctx, stream, "first")
		return err == nil
	}, "the consumer")
	if err := r.Handle(subject, "second", func(context.Context, router.Event) error { return nil }); err == nil {
		t.Fatal("Handle while running: no error")
	}
	if err := r.Run(ctx); err == nil {
		t.Fatal("second Run while running: no error")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("bad input")
	if router.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	p := router.Permanent(cause)
	if !errors.Is(p, router.ErrPermanent) || !errors.Is(p, cause) || p.Error() != "bad input" {
		t.Fatalf("Permanent: %v", p)
	}
	if errors.Is(cause, router.ErrPermanent) {
		t.Fatal("a plain error matches ErrPermanent")
	}
	ra := router.RetryAfter(2*time.Second, cause)
	var rae *router.RetryAfterError
	if !errors.As(ra, &rae) || rae.Delay != 2*time.Second || !errors.Is(ra, cause) {
		t.Fatalf("RetryAfter: %#v", ra)
	}
	if !strings.Contains(ra.Error(), "bad input") || !strings.Contains(ra.Error(), "2s") {
		t.Fatalf("RetryAfter text: %q", ra.Error())
	}
}

func TestResumesWhenTheConsumerComesBack(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("before")
	seen := newDeliveries()
	var logs lockedBuffer
	r := b.router(router.WithLogger(zerolog.New(&logs)))
	if err := r.Handle(subject, "comeback", func(_ context.Context, ev router.Event) error {
		seen.add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	waitfor.Cond(t, 5*time.Second, func() bool { return seen.total() == 1 }, "the first event")
	b.waitSettled("comeback")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := b.consumerInfo("comeback").Config
	if err := b.js.DeleteConsumer(ctx, stream, "comeback"); err != nil {
		t.Fatal(err)
	}
	waitfor.Cond(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), "consuming stopped") },
		"the router to notice the consumer is gone")
	cfg.DeliverPolicy = jetstream.DeliverNewPolicy // an operator re-creates it from now on
	if _, err := b.js.CreateConsumer(ctx, stream, cfg); err != nil {
		t.Fatal(err)
	}
	b.publish("after")
	waitfor.Cond(t, 10*time.Second, func() bool { return seen.total() == 2 }, "the event published after the consumer came back")
	evs, _ := seen.snapshot()
	if evs[1].ID != "after" {
		t.Fatalf("second event %q, want after", evs[1].ID)
	}
	if !strings.Contains(logs.String(), "consuming stopped") {
		t.Fatalf("the interruption was not logged:\n%s", logs.String())
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestShutdownHandsBackUnstartedEvents(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	const n = 5
	for i := range n {
		b.publish(fmt.Sprintf("handback-%d", i))
	}
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	first := newDeliveries()
	r1 := b.router(router.WithConcurrency(1), router.WithMaxDeliveries(1))
	if err := r1.Handle(subject, "handback", func(_ context.Context, ev router.Event) error {
		entered <- struct{}{}
		<-release
		first.add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stop := b.run(r1)
	<-entered
	time.Sleep(50 * time.Millisecond) // let the iterator buffer what follows
	go func() {
		time.Sleep(100 * time.Millisecond) // the handler is still busy when Stop is called
		close(release)
	}()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	second := newDeliveries()
	r2 := b.router(router.WithMaxDeliveries(1))
	if err := r2.Handle(subject, "handback", func(_ context.Context, ev router.Event) error {
		second.add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.run(r2)
	// Well within the 30s ack wait: the unstarted events were handed back, not abandoned.
	waitfor.Cond(t, 5*time.Second, func() bool { return first.total()+second.total() == n }, "every event")
	b.waitSettled("handback")
	evs, _ := second.snapshot()
	handedBack := 0
	for _, ev := range evs {
		if ev.NumDelivered > 1 {
			handedBack++
		}
	}
	t.Logf("first router: %d, second: %d (%d handed back) after %v", first.total(), second.total(), handedBack, time.Since(start))
	if first.total() != 1 {
		t.Fatalf("first router handled %d events, want 1", first.total())
	}
	if d := first.duplicates(); len(d) > 0 {
		t.Fatal(d)
	}
	if d := second.duplicates(); len(d) > 0 {
		t.Fatal(d)
	}
	if b.deadLetterCount() != 0 {
		t.Fatal("a handed-back event was dead-lettered")
	}
}

func TestDeliveriesWithoutOutcomeAreDeadLettered(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	subj, body, seq := b.publish("hangs")
	release := make(chan struct{})
	calls := newDeliveries()
	r := b.router(router.WithMaxDeliveries(1), router.WithAckWait(300*time.Millisecond))
	if err := r.Handle(subject, "hangs", func(_ context.Context, ev router.Event) error {
		calls.add(ev)
		<-release // ignores its context: JetStream redelivers after each ack wait
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	t.Cleanup(func() { close(release) }) // runs before the router stops
	msg := b.deadLetter("dlq." + subj)
	checkDeadLetter(t, msg, body, "without an outcome", "hangs", subj, seq, 3)
	if n := calls.total(); n != 2 {
		t.Fatalf("handler ran %d times, want 2 (twice the maximum)", n)
	}
}

func TestObserverSeesEveryOutcome(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	b.publish("ok")
	subj, _, _ := b.publish("flaky")
	b.publish("doomed")
	var mu sync.Mutex
	counts := map[router.Outcome]int{}
	observe := func(o router.Outcome, _ time.Duration) {
		mu.Lock()
		counts[o]++
		mu.Unlock()
	}
	r := b.router(router.WithMaxDeliveries(2), router.WithObserver(observe))
	err := r.Handle("avatar.video.>", "observed", func(_ context.Context, ev router.Event) error {
		switch {
		case ev.ID == "doomed":
			return errors.New("always fails")
		case ev.ID == "flaky" && ev.NumDelivered == 1:
			return errors.New("fails once")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.run(r)
	b.deadLetter("dlq." + subj)
	b.waitSettled("observed")
	want := map[router.Outcome]int{router.Handled: 2, router.Retried: 2, router.DeadLettered: 1}
	waitfor.Cond(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return maps.Equal(counts, want)
	}, "observer counts handled=2 retried=2 dead_lettered=1")
}
