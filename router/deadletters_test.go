package router_test

import (
	"context"
	"errors"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/router"
)

// deadLettered fills the dead-letter stream: three events given up on by route-crm (in that
// order), one by other, and a message without dead-letter headers. It returns the ids of crm's.
func deadLettered(t *testing.T, b *bus) []string {
	t.Helper()
	ids := []string{"dl-1", "dl-2", "dl-3"}
	var crm []string
	for _, id := range ids {
		subj, _, _ := b.publish(id)
		crm = append(crm, subj)
	}
	r := b.router()
	fail := func(context.Context, router.Event) error { return router.Permanent(errors.New("HTTP 503")) }
	if err := r.Handle("avatar.video.>", "route-crm", fail); err != nil {
		t.Fatal(err)
	}
	stop := b.run(r)
	for _, s := range crm {
		b.deadLetter("dlq." + s)
	}
	waitfor.Cond(t, 5*time.Second, func() bool { return b.deadLetterCount() == 3 }, "three dead letters")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Another consumer's dead letter and a stray message, published after crm's.
	r = b.router()
	if err := r.Handle("avatar.call.>", "other", fail); err != nil {
		t.Fatal(err)
	}
	b.run(r)
	body, err := envelope.Marshal(event("dl-other"))
	if err != nil {
		t.Fatal(err)
	}
	subj := "avatar.call.ended.acme"
	b.publishRaw(subj, "dl-other", body)
	b.deadLetter("dlq." + subj)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: "dlq." + subj, Data: []byte("stray")}); err != nil {
		t.Fatal(err)
	}
	waitfor.Cond(t, 5*time.Second, func() bool { return b.deadLetterCount() == 5 }, "five messages in the DLQ")
	return ids
}

func TestScanDeadLetters(t *testing.T) {
	b := newBus(t)
	ids := deadLettered(t, b)
	ctx := context.Background()
	var got []router.StoredDeadLetter
	err := router.ScanDeadLetters(ctx, b.js, dlqStream, "avatar", func(l router.StoredDeadLetter) error {
		got = append(got, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("scanned %d dead letters, want 4 (the stray message skipped)", len(got))
	}
	var crm []string
	for i, l := range got {
		wantConsumer := "other"
		if i < 3 {
			wantConsumer = "route-crm" // dead-lettered before other's, in any order among them
			crm = append(crm, l.EventID)
		} else if l.EventID != "dl-other" {
			t.Errorf("last dead letter %q, want dl-other", l.EventID)
		}
		if l.Consumer != wantConsumer || l.Reason != "HTTP 503" || l.Deliveries != 1 ||
			l.Time.IsZero() || len(l.Data) == 0 || (i > 0 && l.DLQSequence <= got[i-1].DLQSequence) {
			t.Errorf("dead letter %d = %+v; want one of %s, oldest first", i, l, wantConsumer)
		}
	}
	slices.Sort(crm)
	if !slices.Equal(crm, ids) {
		t.Errorf("route-crm's dead letters %v, want %v", crm, ids)
	}

	stop := errors.New("enough")
	n := 0
	err = router.ScanDeadLetters(ctx, b.js, dlqStream, "avatar", func(router.StoredDeadLetter) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: got %v after %d calls, want it returned after 1", err, n)
	}
	err = router.ScanDeadLetters(ctx, b.js, dlqStream, "other", func(router.StoredDeadLetter) error { n++; return nil })
	if err != nil || n != 1 {
		t.Errorf("another prefix: %v, %d more calls; want none", err, n-1)
	}
	err = router.ScanDeadLetters(ctx, b.js, "NO_SUCH", "avatar", func(router.StoredDeadLetter) error { return nil })
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("missing stream: %v, want ErrStreamNotFound", err)
	}
	names := b.js.ListStreams(ctx)
	for s := range names.Info() {
		if s.Config.Name == dlqStream && s.State.Consumers != 0 {
			t.Errorf("the scans left %d consumers on %s", s.State.Consumers, dlqStream)
		}
	}
}

// redriveReceiver records redriven requests and answers with status.
type redriveReceiver struct {
	mu     sync.Mutex
	status atomic.Int32
	got    []http.Header
}

func (rc *redriveReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, r.Header.Clone())
	rc.mu.Unlock()
	w.WriteHeader(int(rc.status.Load()))
}

func TestRedrive(t *testing.T) {
	b := newBus(t)
	ids := deadLettered(t, b)
	rc := &redriveReceiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	var reported []string
	rd := router.Redrive{
		Stream: dlqStream, Prefix: "avatar", Consumer: "route-crm",
		Target: deliver.Target{URL: srv.URL, Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Timeout: time.Second},
		Sent:   func(l router.StoredDeadLetter) error { reported = append(reported, l.EventID); return nil },
	}

	dry := rd
	dry.DryRun = true
	matched, sent, err := dry.Run(ctx, b.js)
	order := slices.Clone(reported) // the scan's order: oldest dead letter first
	slices.Sort(reported)
	if err != nil || matched != 3 || sent != 0 || len(rc.got) != 0 || !slices.Equal(reported, ids) {
		t.Fatalf("dry run: matched %d sent %d err %v, %d requests, reported %v", matched, sent, err, len(rc.got), reported)
	}

	rc.status.Store(http.StatusServiceUnavailable)
	reported = nil
	_, sent, err = rd.Run(ctx, b.js)
	re, ok := errors.AsType[*router.RedriveError](err)
	if !ok || re.Letter.EventID != order[0] || re.Sent != 0 || sent != 0 || len(rc.got) != 1 || len(reported) != 0 {
		t.Fatalf("service down: err %v, %d requests, reported %v; want a RedriveError at the first", err, len(rc.got), reported)
	}
	if n := b.deadLetterCount(); n != 5 {
		t.Fatalf("a failed redrive deleted: %d messages left, want 5", n)
	}

	rc.status.Store(http.StatusNoContent)
	rc.got = nil
	only := rd
	only.Only = []uint64{re.Letter.DLQSequence}
	if matched, sent, err := only.Run(ctx, b.js); err != nil || matched != 1 || sent != 1 {
		t.Fatalf("--seq: matched %d sent %d err %v", matched, sent, err)
	}
	matched, sent, err = rd.Run(ctx, b.js)
	if err != nil || matched != 2 || sent != 2 {
		t.Fatalf("redrive: matched %d sent %d err %v; want the two left", matched, sent, err)
	}
	if len(rc.got) != 3 {
		t.Fatalf("%d requests, want 3", len(rc.got))
	}
	for i, h := range rc.got {
		seq, err := strconv.ParseUint(h.Get(router.HeaderRedrive), 10, 64)
		if err != nil || seq == 0 || h.Get("Webhook-Id") != order[i] || h.Get("Webhook-Signature") == "" {
			t.Errorf("request %d: %s %q, webhook-id %q, signature %q", i, router.HeaderRedrive, h.Get(router.HeaderRedrive),
				h.Get("Webhook-Id"), h.Get("Webhook-Signature"))
		}
	}
	if n := b.deadLetterCount(); n != 2 {
		t.Fatalf("%d messages left, want other's dead letter and the stray one", n)
	}
	if _, _, err := (router.Redrive{Stream: dlqStream, Target: rd.Target}).Run(ctx, b.js); err == nil {
		t.Error("a redrive without a consumer ran")
	}
}
