package attempts_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/attempts"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

const attemptsStream = "AVATAR" + subjects.AttemptsStreamSuffix

func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	ctx := context.Background()
	if _, err := broker.EnsureStream(ctx, js, broker.StreamConfig{Name: "AVATAR", Subjects: subjects.StreamSubjects("avatar"), Replicas: 1, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := attempts.EnsureStream(ctx, js, attemptsStream, "avatar", 0, 1); err != nil {
		t.Fatal(err)
	}
	return js
}

func publishEvent(t *testing.T, js jetstream.JetStream, id string) {
	t.Helper()
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	b, err := json.Marshal(&envelope.Event{SpecVersion: envelope.SpecVersion, ID: id, Source: envelope.SourceFor("heygen"),
		Type: envelope.TypeVideoCompleted, Subject: "vid-1", Time: now, DataContentType: envelope.DataContentType,
		Platform: "heygen", ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), "avatar.video.completed.heygen", b); err != nil {
		t.Fatal(err)
	}
}

// TestRouteFailingThenSucceedingRecordsTwoAttempts runs a real route (router + HTTPRoute) whose
// endpoint answers 503 then 204, and reads the attempts back.
func TestRouteFailingThenSucceedingRecordsTwoAttempts(t *testing.T) {
	js := setup(t)
	var mu sync.Mutex
	calls := map[string]int{} // by webhook-id, the event id
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Header.Get("webhook-id")]++
		n := calls[r.Header.Get("webhook-id")]
		mu.Unlock()
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	var failed atomic.Int32
	rec := attempts.NewRecorder(js, "avatar", func(error) { failed.Add(1) })
	h, err := router.HTTPRoute(deliver.Target{URL: srv.URL, Client: &http.Client{Transport: attempts.Transport(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(js, router.WithBackoff(20*time.Millisecond), router.WithJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Handle("avatar.>", "hooks", func(ctx context.Context, ev router.Event) error {
		return rec.Deliver(ctx, "hooks", ev.ID, int(ev.NumDelivered), func(ctx context.Context) error { return h(ctx, ev) })
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	publishEvent(t, js, "evt-1")
	publishEvent(t, js, "evt-2") // another event's attempts must not be listed

	got := waitAttempts(t, js, "evt-1", 2)
	other := waitAttempts(t, js, "evt-2", 2)
	cancel()
	<-done
	rec.Close()
	if len(got) != 2 {
		t.Fatalf("attempts of evt-1 = %+v, want 2", got)
	}
	first, second := got[0], got[1]
	if first.Attempt != 1 || first.Status != 503 || first.Error == "" || first.Route != "hooks" || first.EventID != "evt-1" {
		t.Errorf("first attempt = %+v, want attempt 1, 503 with an error", first)
	}
	if second.Attempt != 2 || second.Status != 204 || second.Error != "" {
		t.Errorf("second attempt = %+v, want attempt 2, 204, no error", second)
	}
	if !first.At.Before(second.At) || first.Latency <= 0 {
		t.Errorf("attempts out of order or without latency: %+v", got)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d attempts not stored", n)
	}
	if len(other) != 2 || other[0].EventID != "evt-2" || other[1].EventID != "evt-2" {
		t.Fatalf("attempts of evt-2 = %+v; want its two", other)
	}
	none, err := attempts.List(context.Background(), js, attemptsStream, "nope")
	if err != nil || len(none) != 0 {
		t.Fatalf("attempts of an unknown event = %+v, %v", none, err)
	}
}

func TestStreamRetention(t *testing.T) {
	tests := []struct {
		maxAge, want time.Duration
	}{{0, attempts.DefaultMaxAge}, {time.Hour, time.Hour}}
	for _, tt := range tests {
		js := setup(t)
		if err := attempts.EnsureStream(context.Background(), js, attemptsStream, "avatar", tt.maxAge, 0); err != nil {
			t.Fatal(err)
		}
		st, err := js.Stream(context.Background(), attemptsStream)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.MaxAge; got != tt.want {
			t.Errorf("max_age %v: stream max_age = %v, want %v", tt.maxAge, got, tt.want)
		}
		if got := st.CachedInfo().Config.Subjects; len(got) != 1 || got[0] != "attempts.avatar.>" {
			t.Errorf("subjects = %v", got)
		}
	}
}

func TestRecordDropsWhenFullInsteadOfBlocking(t *testing.T) {
	js := setup(t)
	rec := attempts.NewRecorder(js, "avatar", nil)
	start := time.Now()
	for i := range 10000 {
		rec.Record(attempts.Attempt{Route: "r", EventID: "e", Attempt: i})
	}
	took := time.Since(start)
	rec.Close()
	if took > time.Second {
		t.Fatalf("10000 Record calls took %v: Record must not wait for JetStream", took)
	}
}

// waitAttempts lists the attempts of id until there are n (or 10s have passed).
func waitAttempts(t *testing.T, js jetstream.JetStream, id string, n int) []attempts.Attempt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := attempts.List(context.Background(), js, attemptsStream, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}
