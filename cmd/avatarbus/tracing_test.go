package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestServeExportsTraces: with tracing on (OTLP over HTTP to a test collector), a webhook stored
// and delivered by a route is one trace: the receive and publish spans of the request and the
// route's delivery span, all exported by the time serve has stopped, and the route's POST carries
// that trace's traceparent.
func TestServeExportsTraces(t *testing.T) {
	var mu sync.Mutex
	spans := map[string]string{} // span name -> trace id (hex)
	var service string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("collector: %s %s, %d bytes not an OTLP export", r.Method, r.URL.Path, len(body))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans[s.Name] = hex.EncodeToString(s.TraceId)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	var parents []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")) + fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.video.completed.*
    url: %s/hooks
tracing:
  enabled: true
  protocol: http
  endpoint: %q
`, receiver.URL, collector.URL)
	r := startServe(t, mustLoadConfig(t, yaml))
	body := `{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_trace"}}`
	if a := postWebhook(t, "http://"+listen+"/webhooks/acme", newSignedRequest(t, "msg_trace", time.Now(), body)); a.status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.status, a.raw)
	}
	eventually(t, 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(parents) == 1
	}, "the route's delivery")
	r.stop(t) // flushes the spans

	mu.Lock()
	defer mu.Unlock()
	if service != "avatarbus" {
		t.Errorf("service.name %q", service)
	}
	tid := spans["avatarbus.receive"]
	if tid == "" {
		t.Fatalf("no receive span exported; got %v", spans)
	}
	for _, name := range []string{"avatarbus.verify", "avatarbus.normalize", "avatarbus.publish", "avatarbus.deliver"} {
		if spans[name] != tid {
			t.Errorf("span %s in trace %q, want %s (spans %v)", name, spans[name], tid, spans)
		}
	}
	if !strings.HasPrefix(parents[0], "00-"+tid+"-") {
		t.Errorf("route POST traceparent %q, want trace %s", parents[0], tid)
	}
}
