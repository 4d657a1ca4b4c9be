package poll_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/platform"
)

func didSource(t *testing.T, l *lister) poll.Source {
	return poll.Source{Name: "did", Preset: didPreset(t), Lister: l, Every: time.Second, Lookback: time.Hour, StallAfter: 2 * time.Hour}
}

// TestLostWebhookRecoveredOnce: a terminal job whose webhook never came is stored once, marked
// recoveredby poll, with the webhook's type and id; the webhook arriving late is a duplicate;
// five more passes store nothing, even after JetStream's dedup window has passed.
func TestLostWebhookRecoveredOnce(t *testing.T) {
	const window = 300 * time.Millisecond
	e := newEnv(t, window)
	l := &lister{}
	job := didTalk("tlk_lost", "done")
	l.set(job, didTalk("tlk_busy", "started"))
	p := e.poller(t, poll.Config{Log: zerolog.Nop()}, didSource(t, l))
	ctx := context.Background()

	rep, err := p.Reconcile(ctx, "did", time.Now().Add(-time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(poll.Recovered) != 1 || rep.Count(poll.Pending) != 1 {
		t.Fatalf("first pass: %+v", rep.Results)
	}
	webhook := didPreset(t).Normalize(platform.Input{Source: "did", Body: job.Body, ReceivedAt: time.Now()})
	got := e.events(t, "avatar.>")
	if len(got) != 1 {
		t.Fatalf("stored %d events, want 1", len(got))
	}
	if ev := got[0]; ev.ID != webhook.ID || ev.Type != envelope.TypeVideoCompleted || ev.Type != webhook.Type ||
		ev.RecoveredBy != "poll" || ev.Data.ResourceID != "tlk_lost" || ev.Data.MediaURL == "" {
		t.Fatalf("recovered event %+v, want id %s type %s recoveredby poll", ev, webhook.ID, webhook.Type)
	}

	// The webhook arrives late, within the window: JetStream answers duplicate (ingest's 2xx).
	ack, err := e.pub.Publish(ctx, rep.Results[0].Subject, &webhook)
	if err != nil || !ack.Duplicate {
		t.Fatalf("late webhook: ack %+v, err %v; want a duplicate", ack, err)
	}

	// Sleep, not synchronisation: JetStream's dedup window must run out so that only SEEN
	// stands between a pass and a second copy.
	time.Sleep(2 * window)
	for i := range 5 {
		rep, err := p.Reconcile(ctx, "did", time.Now().Add(-time.Hour), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(poll.AlreadySeen) != 1 || rep.Count(poll.Recovered) != 0 {
			t.Fatalf("pass %d: %+v", i+2, rep.Results)
		}
	}
	if n := len(e.events(t, "avatar.>")); n != 1 {
		t.Fatalf("after six passes %d events stored, want 1", n)
	}
	for name, want := range map[string]float64{
		"avatarbus_poll_recovered_total": 1, "avatarbus_poll_duplicates_avoided_total": 5,
		"avatarbus_poll_passes_total": 6, "avatarbus_poll_errors_total": 0,
	} {
		if got := counter(t, e.reg, name, "did"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestSeenFedFromStream: a webhook stored before any pass is recorded in SEEN by the durable
// consumer, so a pass after the dedup window skips its job without publishing.
func TestSeenFedFromStream(t *testing.T) {
	const window = 200 * time.Millisecond
	e := newEnv(t, window)
	l := &lister{}
	job := didTalk("tlk_arrived", "done")
	l.set(job)
	src := didSource(t, l)
	p := e.poller(t, poll.Config{Log: zerolog.Nop(), LeaseTTL: 3 * time.Second})

	// The webhook, stored by ingest's publisher before the poller runs.
	webhook := didPreset(t).Normalize(platform.Input{Source: "did", Body: job.Body, ReceivedAt: time.Now()})
	if _, err := e.pub.Publish(context.Background(), "avatar.video.completed.did", &webhook); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitfor.Cond(t, 5*time.Second, p.Leader, "the only poller takes the lease")

	// A second poller of the same source, not running: it reads the same SEEN.
	q := e.poller(t, poll.Config{Log: zerolog.Nop()}, src)
	waitfor.Cond(t, 10*time.Second, func() bool {
		rep, err := q.Reconcile(context.Background(), "did", time.Now().Add(-time.Hour), true)
		return err == nil && rep.Count(poll.AlreadySeen) == 1
	}, "the consumer records the webhook's id in SEEN")
	rep, err := q.Reconcile(context.Background(), "did", time.Now().Add(-time.Hour), false)
	if err != nil || rep.Count(poll.AlreadySeen) != 1 {
		t.Fatalf("pass: %+v, %v", rep.Results, err)
	}
	if n := len(e.events(t, "avatar.>")); n != 1 {
		t.Fatalf("%d events stored, want the webhook only", n)
	}
}

// TestDryRunWritesNothing: a dry run reports what it would recover and stores nothing.
func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, time.Minute)
	l := &lister{}
	l.set(didTalk("tlk_a", "done"), didTalk("tlk_b", "error"), didTalk("tlk_c", "started"))
	p := e.poller(t, poll.Config{Log: zerolog.Nop()}, didSource(t, l))
	for range 2 {
		rep, err := p.Reconcile(context.Background(), "did", time.Now().Add(-time.Hour), true)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(poll.WouldRecover) != 2 || rep.Count(poll.Pending) != 1 {
			t.Fatalf("dry run: %+v", rep.Results)
		}
	}
	if n := len(e.events(t, "avatar.>")); n != 0 {
		t.Fatalf("dry run stored %d events", n)
	}
}

// TestListErrorCounted: a failing listing is returned wrapped and counted, and nothing stored.
func TestListErrorCounted(t *testing.T) {
	e := newEnv(t, time.Minute)
	l := &lister{err: errPlatform}
	p := e.poller(t, poll.Config{Log: zerolog.Nop()}, didSource(t, l))
	_, err := p.Reconcile(context.Background(), "did", time.Now().Add(-time.Hour), false)
	if !errors.Is(err, errPlatform) {
		t.Fatalf("err = %v, want it to wrap the platform's", err)
	}
	if got := counter(t, e.reg, "avatarbus_poll_errors_total", "did"); got != 1 {
		t.Fatalf("errors = %v, want 1", got)
	}
	if _, err := p.Reconcile(context.Background(), "nope", time.Now(), false); !errors.Is(err, poll.ErrUnknownSource) {
		t.Fatalf("unknown source: %v", err)
	}
}

// TestStalledOnce: a job non-terminal for stall_after publishes one avatar.video.stalled, not
// one per pass; a job that finishes is recovered, not stalled.
func TestStalledOnce(t *testing.T) {
	e := newEnv(t, time.Minute)
	l := &lister{}
	l.set(didTalk("tlk_slow", "started"), didTalk("tlk_ok", "started"))
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	p := e.poller(t, poll.Config{Log: zerolog.Nop(), Now: func() time.Time { return now }}, didSource(t, l))
	pass := func() poll.Report {
		t.Helper()
		rep, err := p.Reconcile(context.Background(), "did", now.Add(-time.Hour), false)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	steps := []struct {
		after   time.Duration
		finish  bool
		stalled int
	}{
		{0, false, 0}, {time.Hour, false, 0}, {61 * time.Minute, true, 1}, {time.Hour, true, 0}, {time.Hour, true, 0},
	}
	for i, s := range steps {
		now = now.Add(s.after)
		if s.finish {
			l.set(didTalk("tlk_slow", "started"), didTalk("tlk_ok", "done"))
		}
		if rep := pass(); rep.Count(poll.Stalled) != s.stalled {
			t.Fatalf("step %d: %+v", i, rep.Results)
		}
	}
	stalled := e.events(t, "avatar.video.stalled.>")
	if len(stalled) != 1 {
		t.Fatalf("%d stalled events, want 1", len(stalled))
	}
	if ev := stalled[0]; ev.ID != "did:stalled:tlk_slow" || ev.Data.ResourceID != "tlk_slow" || ev.Data.Status != "processing" || ev.Subject != "tlk_slow" || ev.RecoveredBy != "poll" {
		t.Fatalf("stalled event %+v", ev)
	}
	if n := len(e.events(t, "avatar.video.completed.>")); n != 1 {
		t.Fatalf("%d completed events, want tlk_ok's", n)
	}
}

// TestCreditsThresholds: one credits_low for five reads below the threshold, another after the
// billing period changes, one credits_exhausted at zero, one more credits_low after a top-up
// and a new fall; the gauge follows the balance.
func TestCreditsThresholds(t *testing.T) {
	e := newEnv(t, time.Minute)
	b := &balancer{}
	src := poll.Source{Name: "heygen", Preset: mustPreset(t, "heygen"), Balancer: b, UsageEvery: time.Second, Low: poll.Threshold{Value: 10, Percent: true}}
	p := e.poller(t, poll.Config{Log: zerolog.Nop()}, src)
	read := func(remaining float64, period string) []string {
		t.Helper()
		b.set(platformapi.Balance{Remaining: remaining, Limit: 1000, Unit: "credits", Period: period})
		rep, err := p.Usage(context.Background(), "heygen")
		if err != nil {
			t.Fatal(err)
		}
		return rep.Published
	}
	steps := []struct {
		remaining float64
		period    string
		want      int // events published by this read
	}{
		{500, "2026-12", 0},
		{90, "2026-12", 1}, {80, "2026-12", 0}, {70, "2026-12", 0}, {60, "2026-12", 0}, {50, "2026-12", 0},
		{40, "2027-01", 1}, // new period, still low: announced again
		{0, "2027-01", 1},  // exhausted (already low)
		{0, "2027-01", 0},
		{600, "2027-01", 0}, // topped up
		{20, "2027-01", 1},  // a new crossing in the same period
	}
	for i, s := range steps {
		if got := read(s.remaining, s.period); len(got) != s.want {
			t.Fatalf("step %d (%v, %s): published %q, want %d", i, s.remaining, s.period, got, s.want)
		}
	}
	low := e.events(t, "avatar.account.credits_low.>")
	exhausted := e.events(t, "avatar.account.credits_exhausted.>")
	if len(low) != 3 || len(exhausted) != 1 {
		t.Fatalf("stored %d credits_low, %d credits_exhausted; want 3 and 1", len(low), len(exhausted))
	}
	if string(low[0].Data.Raw) != `{"limit":1000,"period":"2026-12","remaining":90,"threshold":100,"unit":"credits"}` {
		t.Errorf("credits_low raw = %s", low[0].Data.Raw)
	}
	if got := counter(t, e.reg, "avatarbus_credits_remaining", "heygen"); got != 20 {
		t.Errorf("gauge = %v, want 20", got)
	}
}

func mustPreset(t *testing.T, name string) platform.Preset {
	t.Helper()
	p, ok := platform.Default().Lookup(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return p
}

// TestRunSurvivesErrors: Run polls at the source's interval; failing passes are counted and the
// poller goes on, and recovers the job once the platform answers again.
func TestRunSurvivesErrors(t *testing.T) {
	e := newEnv(t, time.Minute)
	l := &lister{err: errPlatform}
	src := didSource(t, l)
	src.Every = 100 * time.Millisecond
	p := e.poller(t, poll.Config{Log: zerolog.Nop(), LeaseTTL: 2 * time.Second}, src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitfor.Cond(t, 10*time.Second, func() bool { return counter(t, e.reg, "avatarbus_poll_errors_total", "did") >= 3 }, "three failed passes")
	l.mu.Lock()
	l.err, l.jobs = nil, []platformapi.Job{didTalk("tlk_late", "done")}
	l.mu.Unlock()
	waitfor.Cond(t, 10*time.Second, func() bool { return counter(t, e.reg, "avatarbus_poll_recovered_total", "did") == 1 }, "the job recovered once the platform answers")
	n := l.count()
	waitfor.Cond(t, 10*time.Second, func() bool { return l.count() >= n+3 }, "three more passes")
	if got := counter(t, e.reg, "avatarbus_poll_recovered_total", "did"); got != 1 {
		t.Fatalf("recovered = %v after more passes, want 1", got)
	}
	if evs := e.events(t, "avatar.>"); len(evs) != 1 {
		t.Fatalf("%d events stored, want 1", len(evs))
	}
}
