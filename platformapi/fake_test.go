package platformapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// call is what a fake API expects of one request, and what it answers.
type call struct {
	method, path, query string
	header              map[string]string // exact values; "" means the header must be absent
	body                string            // exact bytes; "" means no body
	status              int
	answer              string
}

// fakeAPI serves calls in order and fails the test on any difference in method, path, query,
// headers or body, or on a request beyond the list. It returns the base URL.
func fakeAPI(t *testing.T, calls ...call) string {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := next
		next++
		mu.Unlock()
		if i >= len(calls) {
			t.Errorf("unexpected request #%d: %s %s", i+1, r.Method, r.URL)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		c := calls[i]
		if r.Method != c.method || r.URL.EscapedPath() != c.path || r.URL.RawQuery != c.query {
			t.Errorf("request #%d: %s %s?%s, want %s %s?%s", i+1, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, c.method, c.path, c.query)
		}
		for k, v := range c.header {
			if got := r.Header.Get(k); got != v {
				t.Errorf("request #%d: header %s = %q, want %q", i+1, k, got, v)
			}
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != c.body {
			t.Errorf("request #%d: body\n%s\nwant\n%s", i+1, b, c.body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.answer)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if next < len(calls) {
			t.Errorf("%d of %d expected requests were made", next, len(calls))
		}
	})
	return srv.URL
}

// fakeAPIBlocking answers nothing until block is closed.
func fakeAPIBlocking(t *testing.T, block <-chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
