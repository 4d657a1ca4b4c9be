package ingest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// value is the value of the series name{labels} in g: a counter's or gauge's value, a histogram's
// sample count. labels are name, value pairs and must be the series' complete label set.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	if len(m.GetLabel())*2 != len(pairs) {
		return false
	}
	for i := 0; i < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func requests(t *testing.T, g prometheus.Gatherer, source, outcome string) float64 {
	t.Helper()
	return value(t, g, "avatarbus_ingest_requests_total", "source", source, "outcome", outcome)
}

// TestMetricsCountEveryOutcome drives each kind of request through the real stack and checks what
// it counted, series by series.
func TestMetricsCountEveryOutcome(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	g := st.reg
	// Every outcome of every configured source, plus the unknown-source bucket, exists from the start.
	initialSeries, err := testutil.GatherAndCount(g, "avatarbus_ingest_requests_total")
	if err != nil || initialSeries != 4*9 {
		t.Fatalf("%d request series at start (%v), want 36 (4 sources × 9 outcomes)", initialSeries, err)
	}
	if v := value(t, g, "avatarbus_nats_connected"); v != 1 {
		t.Fatalf("nats_connected = %v", v)
	}

	body := `{"type":"video.done","data":{"id":"vid_m"}}`
	h := signedSW(t, "msg_m", time.Now(), body)
	t.Run("stored", func(t *testing.T) {
		if a := post(t, st.url+"/webhooks/acme", h, body); a.status != 200 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		if got := requests(t, g, "acme", "stored"); got != 1 {
			t.Fatalf("stored = %v", got)
		}
		if got := value(t, g, "avatarbus_request_bytes_total", "source", "acme"); got != float64(len(body)) {
			t.Fatalf("request bytes = %v, want %d", got, len(body))
		}
		if got := value(t, g, "avatarbus_publish_duration_seconds"); got != 1 {
			t.Fatalf("publish observations = %v", got)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		if a := post(t, st.url+"/webhooks/acme", h, body); a.status != 200 || a.body["duplicate"] != true {
			t.Fatalf("%d %v", a.status, a.body)
		}
		if got := requests(t, g, "acme", "duplicate"); got != 1 {
			t.Fatalf("duplicate outcome = %v", got)
		}
		if err := testutil.GatherAndCompare(g, strings.NewReader(`
# HELP avatarbus_duplicates_total Verified requests JetStream acknowledged as duplicates (already stored within the dedup window), by source.
# TYPE avatarbus_duplicates_total counter
avatarbus_duplicates_total{source=""} 0
avatarbus_duplicates_total{source="acme"} 1
avatarbus_duplicates_total{source="did"} 0
avatarbus_duplicates_total{source="heygen"} 0
`), "avatarbus_duplicates_total"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unauthorized", func(t *testing.T) {
		tampered := `{"type":"video.done","data":{"id":"forged"}}`
		if a := post(t, st.url+"/webhooks/acme", h, tampered); a.status != 401 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		if a := post(t, st.url+"/webhooks/did?token=wrong", nil, "{}"); a.status != 401 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		if a := post(t, st.url+"/webhooks/did", nil, "{}"); a.status != 401 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		for _, tt := range []struct {
			source, reason string
			want           float64
		}{{"acme", "signature_mismatch", 1}, {"did", "signature_mismatch", 1}, {"did", "missing_token", 1}} {
			if got := value(t, g, "avatarbus_verification_failures_total", "source", tt.source, "reason", tt.reason); got != tt.want {
				t.Errorf("verification failures %s/%s = %v, want %v", tt.source, tt.reason, got, tt.want)
			}
		}
		if got := requests(t, g, "acme", "unauthorized"); got != 1 {
			t.Errorf("acme unauthorized = %v", got)
		}
		if got := requests(t, g, "did", "unauthorized"); got != 2 {
			t.Errorf("did unauthorized = %v", got)
		}
	})
	t.Run("unknown source keeps one label", func(t *testing.T) {
		for _, name := range []string{"nope", "nope-2", "x" + strings.Repeat("y", 200), "acme2"} {
			if a := post(t, st.url+"/webhooks/"+name, h, body); a.status != 404 {
				t.Fatalf("%s: %d %v", name, a.status, a.body)
			}
		}
		if got := requests(t, g, metrics.UnknownSource, "unknown_source"); got != 4 {
			t.Fatalf("unknown_source = %v", got)
		}
		if n, _ := testutil.GatherAndCount(g, "avatarbus_ingest_requests_total"); n != initialSeries {
			t.Fatalf("request series grew from %d to %d", initialSeries, n)
		}
		families, _ := g.Gather()
		for _, mf := range families {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if strings.Contains(l.GetValue(), "nope") || strings.Contains(l.GetValue(), "yyy") || l.GetValue() == "acme2" {
						t.Fatalf("a requested name became a label value: %s %s=%q", mf.GetName(), l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := `{"pad":"` + strings.Repeat("x", 5000) + `"}`
		if a := post(t, st.url+"/webhooks/acme", signedSW(t, "msg_big", time.Now(), big), big); a.status != 413 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		before := value(t, g, "avatarbus_request_bytes_total", "source", "acme")
		req, _ := http.NewRequest(http.MethodPost, st.url+"/webhooks/acme", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		if a := do(t, req); a.status != 413 {
			t.Fatalf("chunked: %d %v", a.status, a.body)
		}
		if got := requests(t, g, "acme", "too_large"); got != 2 {
			t.Fatalf("too_large = %v", got)
		}
		// Refused by Content-Length: nothing read. Chunked: read up to the limit (acme: 4096).
		if got := value(t, g, "avatarbus_request_bytes_total", "source", "acme") - before; got != 4096 {
			t.Fatalf("chunked oversized body counted %v bytes, want 4096", got)
		}
	})
	t.Run("unrecognized", func(t *testing.T) {
		raw := "this is not json"
		hu := signedSW(t, "msg_unrec", time.Now(), raw)
		for range 2 { // the redelivery is a duplicate and not counted again
			if a := post(t, st.url+"/webhooks/acme", hu, raw); a.status != 200 || a.body["type"] != envelope.TypeUnrecognized {
				t.Fatalf("%d %v", a.status, a.body)
			}
		}
		if got := value(t, g, "avatarbus_unrecognized_total", "source", "acme"); got != 1 {
			t.Fatalf("unrecognized = %v", got)
		}
		if got := requests(t, g, "acme", "stored"); got != 2 {
			t.Fatalf("stored = %v", got)
		}
	})
	t.Run("every request observed once", func(t *testing.T) {
		var acme float64
		for _, o := range []string{"stored", "duplicate", "unauthorized", "unknown_source", "too_large", "unreadable", "unavailable", "internal"} {
			acme += requests(t, g, "acme", o)
		}
		if got := value(t, g, "avatarbus_ingest_duration_seconds", "source", "acme"); got != acme || acme != 7 {
			t.Fatalf("acme: %v duration observations, %v requests, want 7", got, acme)
		}
		if got := value(t, g, "avatarbus_ingest_duration_seconds", "source", metrics.UnknownSource); got != 4 {
			t.Fatalf("unknown source: %v duration observations", got)
		}
		if got := value(t, g, "avatarbus_publish_duration_seconds"); got != 4 {
			t.Fatalf("publish observations = %v, want 4 acks", got)
		}
	})
}

// TestMetricsWhileNATSIsDown: stopping the NATS server turns avatarbus_nats_connected to 0 and
// the refused requests count as unavailable.
func TestMetricsWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	g := st.reg
	brokertest.Stop(st.srv)
	waitfor.Cond(t, 5*time.Second, func() bool { return value(t, g, "avatarbus_nats_connected") == 0 },
		"avatarbus_nats_connected 0 after the server stopped")
	body := `{"type":"video.done","data":{"id":"v"}}`
	for _, id := range []string{"down1", "down2"} {
		if a := post(t, st.url+"/webhooks/acme", signedSW(t, id, time.Now(), body), body); a.status != 503 {
			t.Fatalf("%d %v", a.status, a.body)
		}
	}
	if got := requests(t, g, "acme", "unavailable"); got != 2 {
		t.Fatalf("unavailable = %v", got)
	}
	if got := value(t, g, "avatarbus_publish_duration_seconds"); got != 0 {
		t.Fatalf("publish observations without an ack = %v", got)
	}
}

// TestRefusedRequestLogsCarryNoBodyOrSecret: every refusal is logged with the request id the
// client got, and no log line (debug included) carries a body, a secret, a token or a query.
func TestRefusedRequestLogsCarryNoBodyOrSecret(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{})
	const marker = "BODY-MARKER-7f3a"
	body := `{"type":"video.done","data":{"id":"` + marker + `"}}`
	h := signedSW(t, "msg_log", time.Now(), body)
	tampered := strings.Replace(body, marker, marker+"-forged", 1)
	big := `{"pad":"` + marker + strings.Repeat("x", 5000) + `"}`
	const guessedToken = "guessed-token-c0ffee"

	var ids []string
	for _, r := range []struct {
		path, body string
		h          http.Header
		status     int
	}{
		{"/webhooks/acme", tampered, h, 401},
		{"/webhooks/acme", big, signedSW(t, "msg_big", time.Now(), big), 413},
		{"/webhooks/did?token=" + guessedToken, body, nil, 401},
		{"/webhooks/did?token=" + didToken, body, nil, 200},
		{"/webhooks/acme", body, h, 200},
		{"/webhooks/" + marker, body, h, 404},
	} {
		a := post(t, st.url+r.path, r.h, r.body)
		if a.status != r.status {
			t.Fatalf("%s: %d %v", r.path, a.status, a.body)
		}
		if a.status != 200 {
			ids = append(ids, a.header.Get("X-Request-Id"))
		}
	}
	logs := st.logs.String()
	for _, secret := range []string{marker, swSecret, didToken, guessedToken, "token=", h.Get("Webhook-Signature")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs)
		}
	}
	for _, id := range ids[:3] { // the 404 is answered without a log line
		if id == "" || !strings.Contains(logs, `"request_id":"`+id+`"`) {
			t.Errorf("no log line with request id %q:\n%s", id, logs)
		}
	}
}

// TestPanicCountsAsInternal: a panic in the pipeline is answered 500 and counted once.
func TestPanicCountsAsInternal(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	ing := ingest.New(ingest.Config{Sources: testSources(t), SubjectPrefix: "avatar", Publisher: &fakePublisher{panicWith: "publisher bug"},
		Log: zerolog.Nop(), Metrics: metrics.New(reg)})
	body := `{"type":"video.done","data":{"id":"v"}}`
	req := httptest.NewRequest(http.MethodPost, "/webhooks/acme", strings.NewReader(body))
	for k, v := range signedSW(t, "msg_p", time.Now(), body) {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	ing.Handler().ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := requests(t, reg, "acme", "internal"); got != 1 {
		t.Fatalf("internal = %v", got)
	}
	if got := value(t, reg, "avatarbus_ingest_duration_seconds", "source", "acme"); got != 1 {
		t.Fatalf("duration observations = %v", got)
	}
}
