package metrics

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSourceRecordsUnderItsLabels(t *testing.T) {
	m := New(prometheus.NewRegistry())
	s := m.Source("acme")
	s.Request(OutcomeStored, 3*time.Millisecond)
	s.Request(OutcomeDuplicate, time.Millisecond)
	s.Request(OutcomeUnauthorized, time.Millisecond)
	s.BodyBytes(120)
	s.BodyBytes(0)
	s.VerificationFailed("signature_mismatch")
	s.VerificationFailed("signature_mismatch")
	s.VerificationFailed("")
	s.Unrecognized()
	s.Published(2 * time.Millisecond)
	s.Request(OutcomeRateLimited, time.Millisecond)
	s.Quarantined(true)
	s.Quarantined(true)
	s.Quarantined(false)

	for _, tt := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"stored", m.ingestRequests.WithLabelValues("acme", "stored"), 1},
		{"duplicate", m.ingestRequests.WithLabelValues("acme", "duplicate"), 1},
		{"unauthorized", m.ingestRequests.WithLabelValues("acme", "unauthorized"), 1},
		{"internal", m.ingestRequests.WithLabelValues("acme", "internal"), 0},
		{"duplicates_total", m.duplicates.WithLabelValues("acme"), 1},
		{"bytes", m.requestBytes.WithLabelValues("acme"), 120},
		{"signature_mismatch", m.verifyFailures.WithLabelValues("acme", "signature_mismatch"), 2},
		{"no reason", m.verifyFailures.WithLabelValues("acme", UnknownReason), 1},
		{"unrecognized", m.unrecognized.WithLabelValues("acme"), 1},
		{"rate_limited", m.ingestRequests.WithLabelValues("acme", "rate_limited"), 1},
		{"quarantined stored", m.quarantined.WithLabelValues("acme", "stored"), 2},
		{"quarantined failed", m.quarantined.WithLabelValues("acme", "failed"), 1},
	} {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := testutil.CollectAndCount(m.ingestDuration); n != 1 {
		t.Errorf("ingest duration series = %d, want 1", n)
	}
	if err := testutil.CollectAndCompare(m.publishDuration, strings.NewReader(`
# HELP avatarbus_publish_duration_seconds Time from publishing an event to JetStream's ack, for acknowledged publishes.
# TYPE avatarbus_publish_duration_seconds histogram
avatarbus_publish_duration_seconds_bucket{le="0.0005"} 0
avatarbus_publish_duration_seconds_bucket{le="0.001"} 0
avatarbus_publish_duration_seconds_bucket{le="0.0025"} 1
avatarbus_publish_duration_seconds_bucket{le="0.005"} 1
avatarbus_publish_duration_seconds_bucket{le="0.01"} 1
avatarbus_publish_duration_seconds_bucket{le="0.025"} 1
avatarbus_publish_duration_seconds_bucket{le="0.05"} 1
avatarbus_publish_duration_seconds_bucket{le="0.1"} 1
avatarbus_publish_duration_seconds_bucket{le="0.25"} 1
avatarbus_publish_duration_seconds_bucket{le="0.5"} 1
avatarbus_publish_duration_seconds_bucket{le="1"} 1
avatarbus_publish_duration_seconds_bucket{le="2.5"} 1
avatarbus_publish_duration_seconds_bucket{le="5"} 1
avatarbus_publish_duration_seconds_bucket{le="+Inf"} 1
avatarbus_publish_duration_seconds_sum 0.002
avatarbus_publish_duration_seconds_count 1
`)); err != nil {
		t.Error(err)
	}
}

// TestSeriesExistFromTheStart: every outcome of every source is exported at zero as soon as the
// source's handle is made, so rate() sees the first increment.
func TestSeriesExistFromTheStart(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.Source("acme")
	m.UnknownSource()
	if n := testutil.CollectAndCount(m.ingestRequests); n != 2*int(numOutcomes) {
		t.Fatalf("%d series, want %d", n, 2*int(numOutcomes))
	}
	if got := testutil.ToFloat64(m.ingestRequests.WithLabelValues(UnknownSource, "unknown_source")); got != 0 {
		t.Fatalf("unknown_source = %v", got)
	}
}

func TestOutcomeNames(t *testing.T) {
	want := []string{"stored", "duplicate", "unauthorized", "unknown_source", "too_large", "unreadable", "unavailable", "internal", "rate_limited"}
	for i, w := range want {
		if got := Outcome(i).String(); got != w {
			t.Errorf("Outcome(%d) = %q, want %q", i, got, w)
		}
	}
	if got := Outcome(200).String(); got != "internal" {
		t.Errorf("invalid outcome = %q", got)
	}
	for i, w := range []string{"delivered", "retried", "dead_lettered"} {
		if got := RouteOutcome(i).String(); got != w {
			t.Errorf("RouteOutcome(%d) = %q, want %q", i, got, w)
		}
	}
}

func TestNilHandlesRecordNothing(t *testing.T) {
	var s *Source
	s.Request(OutcomeStored, time.Second)
	s.BodyBytes(10)
	s.VerificationFailed("signature_mismatch")
	s.Unrecognized()
	s.Published(time.Second)
	s.Quarantined(true)
	var r *Route
	r.Attempt(RouteDelivered, time.Second)
}

func TestRouteAttempts(t *testing.T) {
	m := New(prometheus.NewRegistry())
	r := m.Route("crm")
	r.Attempt(RouteRetried, 10*time.Second)
	r.Attempt(RouteDelivered, 50*time.Millisecond)
	r.Attempt(RouteOutcome(99), time.Millisecond) // invalid: counted as dead_lettered
	for o, want := range map[string]float64{"delivered": 1, "retried": 1, "dead_lettered": 1} {
		if got := testutil.ToFloat64(m.routeDeliveries.WithLabelValues("crm", o)); got != want {
			t.Errorf("%s = %v, want %v", o, got, want)
		}
	}
	if got, err := testutil.GatherAndCount(gathererOf(t, m), "avatarbus_route_delivery_duration_seconds"); err != nil || got != 1 {
		t.Errorf("route duration series = %d (%v)", got, err)
	}
}

func gathererOf(t *testing.T, m *Metrics) prometheus.Gatherer {
	t.Helper()
	g, ok := m.reg.(prometheus.Gatherer)
	if !ok {
		t.Fatal("registry is not a Gatherer")
	}
	return g
}

func TestWatchNATSIsComputedAtScrape(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	var up atomic.Bool
	if err := m.WatchNATS(up.Load); err != nil {
		t.Fatal(err)
	}
	expect := func(v string) {
		t.Helper()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP avatarbus_nats_connected 1 while the connection to NATS is up, else 0.
# TYPE avatarbus_nats_connected gauge
avatarbus_nats_connected `+v+"\n"), "avatarbus_nats_connected"); err != nil {
			t.Fatal(err)
		}
	}
	expect("0")
	up.Store(true)
	expect("1")
	var already prometheus.AlreadyRegisteredError
	if err := m.WatchNATS(up.Load); !errors.As(err, &already) {
		t.Fatalf("second WatchNATS: %v", err)
	}
}

func TestNewRegistryHasRuntimeCollectors(t *testing.T) {
	reg := NewRegistry()
	New(reg)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series (%v)", name, n, err)
		}
	}
}

func TestNewPanicsOnDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("registering twice on one registry did not panic")
		}
	}()
	New(reg)
}

// TestRecordingDoesNotAllocate: the request path costs atomic adds, no garbage.
func TestRecordingDoesNotAllocate(t *testing.T) {
	m := New(prometheus.NewRegistry())
	s := m.Source("acme")
	s.VerificationFailed("signature_mismatch") // resolve the reason once
	r := m.Route("crm")
	allocs := testing.AllocsPerRun(1000, func() {
		s.BodyBytes(512)
		s.Published(time.Millisecond)
		s.Unrecognized()
		s.Request(OutcomeDuplicate, 2*time.Millisecond)
		s.VerificationFailed("signature_mismatch")
		r.Attempt(RouteDelivered, time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}
