package deliver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/verify"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestPostSignsAndReportsAnswers(t *testing.T) {
	body := []byte(`{"specversion":"1.0","id":"heygen:x"}`)
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	status, retryAfter := http.StatusOK, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		res, err := v.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header), Body: got, Now: time.Now()})
		if err != nil || res.MessageID != "heygen:x" || r.Header.Get("Content-Type") != "application/cloudevents+json" || r.Header.Get("X-Replay") != "1" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("answer"))
	}))
	defer srv.Close()
	target := deliver.Target{URL: srv.URL, Secret: secret, Timeout: time.Second}
	if err := target.Validate(); err != nil {
		t.Fatal(err)
	}
	extra := http.Header{"X-Replay": {"1"}}
	if err := deliver.Post(context.Background(), target, "heygen:x", body, extra); err != nil {
		t.Fatalf("2xx must succeed: %v", err)
	}
	status, retryAfter = http.StatusServiceUnavailable, "7"
	err = deliver.Post(context.Background(), target, "heygen:x", body, extra)
	var se *deliver.StatusError
	if !errors.As(err, &se) || !errors.Is(err, deliver.ErrRejected) || se.Status != 503 || se.RetryAfter != 7*time.Second || se.Body != "answer" {
		t.Fatalf("503: %#v", err)
	}
	// Signed with another secret, the receiver refuses (418 here).
	other := target
	other.Secret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
	if err := deliver.Post(context.Background(), other, "heygen:x", body, extra); !errors.As(err, &se) || se.Status != http.StatusTeapot {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestPostTimesOutAndNeverFollowsRedirects(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	start := time.Now()
	err := deliver.Post(context.Background(), deliver.Target{URL: slow.URL + "?token=hidden", Timeout: 200 * time.Millisecond}, "id", nil, nil)
	if err == nil || errors.Is(err, deliver.ErrRejected) || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
	if strings.Contains(err.Error(), "hidden") {
		t.Fatalf("error leaks the URL: %v", err)
	}
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/", http.StatusFound))
	defer redirect.Close()
	var se *deliver.StatusError
	if err := deliver.Post(context.Background(), deliver.Target{URL: redirect.URL}, "id", nil, nil); !errors.As(err, &se) || se.Status != http.StatusFound {
		t.Fatalf("redirect must count as a failure: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []deliver.Target{{URL: "ftp://x"}, {URL: "/relative"}, {URL: "http://x", Secret: "whsec_!!"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestPostUnsignedStillCarriesTheID: a route without a secret sends no signature, but the receiver
// can still deduplicate on webhook-id.
func TestPostUnsignedStillCarriesTheID(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if err := deliver.Post(context.Background(), deliver.Target{URL: srv.URL}, "did:tlk_1:done", []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	if id := got.Get("Webhook-Id"); id != "did:tlk_1:done" {
		t.Errorf("webhook-id = %q, want the event id", id)
	}
	if sig := got.Get("Webhook-Signature"); sig != "" {
		t.Errorf("unsigned target sent a signature %q", sig)
	}
}
