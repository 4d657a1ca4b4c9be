package poll_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/internal/poll"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

// TestRecoveryThroughTheRealListers joins the two halves: platformapi's HeyGen lister reading a fake
// HeyGen API (the documented /v3/webhooks/events and /v3/videos shapes) and D-ID's balance reader a
// fake /credits, driving the poller on a real JetStream. A delivered-but-lost webhook is recovered
// once with the id its webhook has; the webhook arriving late is a duplicate; five more passes store
// nothing; five balance reads below the threshold publish one credits_low.
func TestRecoveryThroughTheRealListers(t *testing.T) {
	created := time.Now().Add(-10 * time.Minute).Unix()
	webhook := fmt.Sprintf(`{"event_id":"evt_lost_1","event_type":"avatar_video.success","created_at":%d,`+
		`"event_data":{"video_id":"v_lost_1","url":"https://files.example/v_lost_1.mp4","callback_id":"job-7"}}`, created)
	var remaining atomic.Int64
	remaining.Store(50)
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v3/webhooks/events" && r.Header.Get("X-Api-Key") == "heygen-key":
			fmt.Fprintf(w, `{"data":[%s],"has_more":false,"next_token":null}`, webhook)
		case r.URL.Path == "/v3/videos" && r.Header.Get("X-Api-Key") == "heygen-key":
			fmt.Fprint(w, `{"data":[],"has_more":false,"next_token":null}`)
		case r.URL.Path == "/credits" && r.Header.Get("Authorization") != "":
			fmt.Fprintf(w, `{"credits":[],"remaining":%d,"total":1000}`, remaining.Load())
		default:
			http.Error(w, `{"error":"unexpected call"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(api.Close)
	lister, err := platformapi.NewLister("heygen", platformapi.Options{Base: api.URL, Key: "heygen-key", RequestsPerMinute: 6000})
	if err != nil {
		t.Fatal(err)
	}
	balancer, err := platformapi.NewBalancer("did", platformapi.Options{Base: api.URL, Key: "did-key", RequestsPerMinute: 6000})
	if err != nil {
		t.Fatal(err)
	}

	const window = 300 * time.Millisecond
	e := newEnv(t, window)
	heygen := mustPreset(t, "heygen")
	p := e.poller(t, poll.Config{Log: zerolog.Nop()},
		poll.Source{Name: "heygen", Preset: heygen, Lister: lister, Every: time.Second, Lookback: time.Hour},
		poll.Source{Name: "did", Preset: mustPreset(t, "did"), Balancer: balancer, UsageEvery: time.Second,
			Low: poll.Threshold{Value: 10, Percent: true}})
	ctx := context.Background()

	rep, err := p.Reconcile(ctx, "heygen", time.Now().Add(-time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(poll.Recovered) != 1 {
		t.Fatalf("first pass: %+v", rep.Results)
	}
	// The webhook, had it come, normalizes to the same id: arriving late it is a duplicate.
	late := heygen.Normalize(platform.Input{Source: "heygen", Body: []byte(webhook), ReceivedAt: time.Now()})
	if late.ID != "heygen:evt_lost_1" {
		t.Fatalf("webhook id %q", late.ID)
	}
	subject, err := subjects.For(prefix, late.Type, late.Platform)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.pub.Publish(ctx, subject, &late)
	if err != nil || !ack.Duplicate {
		t.Fatalf("late webhook: %+v, %v; want a duplicate", ack, err)
	}
	time.Sleep(2 * window) // past JetStream's window: only the SEEN record keeps it from a second store
	for range 5 {
		if _, err := p.Reconcile(ctx, "heygen", time.Now().Add(-time.Hour), false); err != nil {
			t.Fatal(err)
		}
	}
	events := e.events(t, "avatar.video.completed.heygen")
	if len(events) != 1 || events[0].ID != late.ID || events[0].RecoveredBy != "poll" || events[0].CorrelationID != "job-7" {
		t.Fatalf("stored %d events: %+v", len(events), events)
	}

	for range 5 {
		if _, err := p.Usage(ctx, "did"); err != nil {
			t.Fatal(err)
		}
	}
	if low := e.events(t, "avatar.account.credits_low.>"); len(low) != 1 {
		t.Fatalf("five reads below the threshold published %d credits_low, want 1", len(low))
	}
	if calls.Load() < 12 {
		t.Fatalf("the fake API saw %d calls: the real clients were not used", calls.Load())
	}
}
