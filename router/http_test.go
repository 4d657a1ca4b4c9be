package router_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/verify"
)

var hookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("router-test-secret-0123456789abc"))

// request is one signed request a receiver accepted as genuine.
type request struct {
	id          string
	contentType string
	body        []byte
	at          time.Time
}

// receiver is a Standard Webhooks receiver on loopback: it refuses unsigned requests with 401
// and answers the n-th genuine request (from 1) with answer(n).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	forged int
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{hookSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		res, err := v.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header), Body: body, Now: time.Now()})
		rc.mu.Lock()
		if err != nil {
			rc.forged++
			rc.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.got = append(rc.got, request{id: res.MessageID, contentType: r.Header.Get("Content-Type"), body: body, at: time.Now()})
		n := len(rc.got)
		rc.mu.Unlock()
		answer(n, w)
	}))
	t.Cleanup(rc.srv.Close)
	if !strings.HasPrefix(rc.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver not on IPv4 loopback: %s", rc.srv.URL)
	}
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.forged > 0 {
		rc.t.Errorf("%d requests did not verify", rc.forged)
	}
	return append([]request(nil), rc.got...)
}

func (rc *receiver) route(t *testing.T) router.HandlerFunc {
	t.Helper()
	h, err := router.HTTPRoute(deliver.Target{URL: rc.srv.URL + "/hooks/avatar", Secret: hookSecret, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPRoute(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		retryAfter string
		backoff    time.Duration
		minGap     time.Duration
	}{
		{"RetryAfterHeader", "1", 20 * time.Millisecond, time.Second},
		{"Backoff", "", 50 * time.Millisecond, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus(t)
			_, body, _ := b.publish("http-" + strings.ToLower(tc.name))
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					http.Error(w, "try later", http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			r := b.router(router.WithBackoff(tc.backoff))
			if err := r.Handle("avatar.>", "http", rc.route(t)); err != nil {
				t.Fatal(err)
			}
			b.run(r)
			waitfor.Cond(t, 10*time.Second, func() bool { return len(rc.requests()) >= 2 }, "the second request")
			b.waitSettled("http")
			time.Sleep(200 * time.Millisecond) // a delivery after the 2xx would show
			got := rc.requests()
			if len(got) != 2 {
				t.Fatalf("requests: %d, want 2", len(got))
			}
			for i, req := range got {
				if req.id != "http-"+strings.ToLower(tc.name) || !bytes.Equal(req.body, body) ||
					req.contentType != "application/cloudevents+json" {
					t.Errorf("request %d: id %q, content type %q, body %s", i+1, req.id, req.contentType, req.body)
				}
			}
			gap := got[1].at.Sub(got[0].at)
			t.Logf("retried after %v", gap)
			if gap < tc.minGap || gap > 10*time.Second {
				t.Fatalf("retried after %v, want >= %v", gap, tc.minGap)
			}
		})
	}

	t.Run("DeadLetter", func(t *testing.T) {
		b := newBus(t)
		subj, body, seq := b.publish("http-500")
		rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
			http.Error(w, "database down", http.StatusInternalServerError)
		})
		r := b.router(router.WithMaxDeliveries(2))
		if err := r.Handle("avatar.>", "http-dlq", rc.route(t)); err != nil {
			t.Fatal(err)
		}
		b.run(r)
		msg := b.deadLetter("dlq." + subj)
		checkDeadLetter(t, msg, body, "HTTP 500", "http-dlq", subj, seq, 2)
		if reason := msg.Header.Get(router.HeaderDeadLetterReason); !strings.HasPrefix(reason, "HTTP 500") ||
			!strings.Contains(reason, "database down") {
			t.Fatalf("reason %q", reason)
		}
		b.waitSettled("http-dlq")
		if n := len(rc.requests()); n != 2 {
			t.Fatalf("requests: %d, want 2", n)
		}
	})
}

// TestHTTPRouteHonoursContext checks that an attempt ends with the handler's context (the ack
// wait), not only with the target's timeout.
func TestHTTPRouteHonoursContext(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block) // before Close, which waits for the handler
	h, err := router.HTTPRoute(deliver.Target{URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	ev := router.Event{Body: []byte(`{}`)}
	ev.ID = "ctx"
	if err := h(ctx, ev); err == nil {
		t.Fatal("no error from a receiver that never answered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("attempt took %v", d)
	}
}
