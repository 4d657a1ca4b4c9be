package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
)

// TestFindShowsJobAcrossPlatformsWithAttempts: on serve's real JetStream, three events of three
// platforms sharing a correlation id are indexed by serve's index writer, delivered by a route
// whose endpoint refuses each event once, and `find` shows them in time order with their two
// attempts, whether asked by correlation id, event id or resource id.
func TestFindShowsJobAcrossPlatformsWithAttempts(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Header.Get("webhook-id")]++
		n := calls[r.Header.Get("webhook-id")]
		mu.Unlock()
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(target.Close)

	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	cfg := mustLoadConfig(t, acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream"))+fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.>
    url: %s/hooks
    timeout: 2s
    backoff: [50ms]
`, target.URL))
	startServe(t, cfg)
	_, js := connectEmbedded(t, natsListen)

	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	job := []struct{ id, typ, platform, resource string }{
		{"el-1", envelope.TypeVoiceTranscriptionCompleted, "elevenlabs", "voice-9"},
		{"hg-1", envelope.TypeVideoCompleted, "heygen", "vid-7"},
		{"tv-1", envelope.TypeConversationEnded, "tavus", "conv-3"},
	}
	ctx := context.Background()
	for i, e := range job {
		b, err := json.Marshal(&envelope.Event{SpecVersion: envelope.SpecVersion, ID: e.id, Source: envelope.SourceFor(e.platform),
			Type: e.typ, Subject: e.resource, Time: t0.Add(time.Duration(i) * time.Minute), DataContentType: envelope.DataContentType,
			Platform: e.platform, CorrelationID: "job-42", ReceivedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, e.typ+"."+e.platform, b); err != nil {
			t.Fatal(err)
		}
	}

	var doc struct {
		Events []foundEvent `json:"events"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var out bytes.Buffer
		err := runFind(ctx, &out, js, "AVATAR", "AVATAR_ATTEMPTS", "job-42", true)
		if err == nil {
			if jerr := json.Unmarshal(out.Bytes(), &doc); jerr != nil {
				t.Fatalf("--json output: %v\n%s", jerr, out.String())
			}
			if complete(doc.Events) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("find job-42 = %+v, %v; want 3 events with 2 attempts each", doc.Events, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, e := range doc.Events {
		if e.ID != job[i].id || e.Platform != job[i].platform || e.ResourceID != job[i].resource || e.Seq != uint64(i+1) {
			t.Errorf("event %d = %+v, want %s of %s", i, e.Entry, job[i].id, job[i].platform)
		}
		a1, a2 := e.Attempts[0], e.Attempts[1]
		if a1.Attempt != 1 || a1.Status != 503 || a1.Route != "crm" || a2.Attempt != 2 || a2.Status != 200 || a2.Error != "" {
			t.Errorf("attempts of %s = %+v", e.ID, e.Attempts)
		}
	}

	for _, key := range []string{"hg-1", "conv-3"} { // an event id and a resource id show the whole job
		var out bytes.Buffer
		if err := runFind(ctx, &out, js, "AVATAR", "AVATAR_ATTEMPTS", key, false); err != nil {
			t.Fatalf("find %s: %v", key, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 9 || !strings.Contains(lines[0], "el-1") || !strings.Contains(lines[3], "hg-1") ||
			!strings.Contains(lines[4], "attempt 1 route crm") || !strings.Contains(lines[4], "HTTP 503") || !strings.Contains(lines[6], "tv-1") {
			t.Errorf("find %s printed:\n%s", key, out.String())
		}
	}

	// The admin API answers from the same index and attempts (the adapters in adminapi.go).
	api := adminAPIHandler(cfg, js, zerolog.Nop())
	var timeline struct {
		Items []struct {
			Seq uint64 `json:"seq"`
		} `json:"items"`
	}
	getJSON(t, api, "/api/v1/timeline?correlation_id=job-42", &timeline)
	if len(timeline.Items) != 3 || timeline.Items[0].Seq != 1 || timeline.Items[2].Seq != 3 {
		t.Errorf("GET /api/v1/timeline?correlation_id=job-42 = %+v, want seqs 1, 2, 3", timeline.Items)
	}
	var one struct {
		Seq      uint64 `json:"seq"`
		Attempts []struct {
			Attempt int `json:"attempt"`
			Status  int `json:"status"`
		} `json:"attempts"`
	}
	getJSON(t, api, "/api/v1/events/hg-1", &one)
	if one.Seq != 2 || len(one.Attempts) != 2 || one.Attempts[0].Status != 503 || one.Attempts[1].Status != 200 {
		t.Errorf("GET /api/v1/events/hg-1 = %+v, want seq 2 with attempts 503 then 200", one)
	}

	var out bytes.Buffer
	err := runFind(ctx, &out, js, "AVATAR", "AVATAR_ATTEMPTS", "no-such-job", false)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("find of an unknown id: %v, want exit status 1", err)
	}
}

func complete(es []foundEvent) bool {
	if len(es) != 3 {
		return false
	}
	for _, e := range es {
		if len(e.Attempts) != 2 {
			return false
		}
	}
	return true
}

// getJSON asks h for path and decodes its 200 answer into v.
func getJSON(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, rec.Body.String())
	}
}
