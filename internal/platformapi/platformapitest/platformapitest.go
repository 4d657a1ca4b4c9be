// Package platformapitest runs fake platform APIs for tests, the way httptest runs HTTP servers:
// a local server that expects an exact list of calls (method, escaped path, query, headers, body)
// and answers each with the documented response, failing the test on any difference.
package platformapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Call is one request the fake expects, and its answer.
type Call struct {
	Method string
	Path   string // escaped, as sent: "/v2/webhooks/wh%2F1"
	Query  string // raw query, "" for none
	// Header holds exact values; "" means the header must be absent.
	Header map[string]string
	Body   string // exact bytes; "" means no body
	Status int
	Answer string // sent as application/json
	// Reply holds headers sent with the answer (Retry-After …).
	Reply map[string]string
}

// Serve starts a fake that expects calls in order and returns its base URL. The test fails on a
// request that differs from the next call, on one beyond the list, and (at cleanup) when calls
// were left unmade.
func Serve(t testing.TB, calls ...Call) string {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := next
		next++
		mu.Unlock()
		if i >= len(calls) {
			t.Errorf("platformapitest: unexpected request #%d: %s %s", i+1, r.Method, r.URL)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		c := calls[i]
		if r.Method != c.Method || r.URL.EscapedPath() != c.Path || r.URL.RawQuery != c.Query {
			t.Errorf("platformapitest: request #%d: %s %s?%s, want %s %s?%s", i+1, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, c.Method, c.Path, c.Query)
		}
		for k, v := range c.Header {
			if got := r.Header.Get(k); got != v {
				t.Errorf("platformapitest: request #%d: header %s = %q, want %q", i+1, k, got, v)
			}
		}
		if b, _ := io.ReadAll(r.Body); string(b) != c.Body {
			t.Errorf("platformapitest: request #%d: body\n%s\nwant\n%s", i+1, b, c.Body)
		}
		w.Header().Set("Content-Type", "application/json")
		for k, v := range c.Reply {
			w.Header().Set(k, v)
		}
		w.WriteHeader(c.Status)
		_, _ = io.WriteString(w, c.Answer)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if next < len(calls) {
			t.Errorf("platformapitest: %d of %d expected requests were made", next, len(calls))
		}
	})
	return srv.URL
}

// Hang starts a server that never answers until the request is cancelled or the test ends, to
// exercise timeouts. It returns the base URL.
func Hang(t testing.TB) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: lets srv.Close finish
	return srv.URL
}
