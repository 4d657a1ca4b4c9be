package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every avatarbus metric name.
const Namespace = "avatarbus"

// UnknownSource is the source label of requests for a source that is not configured. It is empty so
// that it can never be a configured source's name (source names are non-empty subject tokens).
const UnknownSource = ""

// UnknownReason is the reason label of a verification failure that carries no reason code.
const UnknownReason = "unknown"

// latencyBuckets are the histogram buckets of the ingest and publish durations: 0.5ms to 5s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// deliveryBuckets are the histogram buckets of outbound route deliveries: 5ms to 30s, since a
// route's per-attempt timeout is typically seconds.
var deliveryBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewRegistry returns a private registry (never the global default) holding the Go runtime and
// process collectors; pass it to [New] and serve it from the admin listener.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Metrics holds avatarbus's collectors. Build it once per registry with [New]; its methods and
// the handles they return are safe for concurrent use.
type Metrics struct {
	reg prometheus.Registerer

	ingestRequests  *prometheus.CounterVec
	verifyFailures  *prometheus.CounterVec
	duplicates      *prometheus.CounterVec
	unrecognized    *prometheus.CounterVec
	ingestDuration  *prometheus.HistogramVec
	publishDuration prometheus.Histogram
	requestBytes    *prometheus.CounterVec
	quarantined     *prometheus.CounterVec

	routeDeliveries *prometheus.CounterVec
	routeDuration   *prometheus.HistogramVec

	pollMu sync.Mutex
	poll   *pollVecs // made by the first Poll (poll.go)
}

// New creates avatarbus's collectors and registers them on reg. It panics if one of them is
// already registered there (a wiring bug, like registering twice on one registry).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		ingestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "ingest_requests_total",
			Help: "Webhook requests answered, by source and outcome (stored, duplicate, unauthorized, unknown_source, too_large, unreadable, unavailable, internal, rate_limited). source is empty for unknown sources.",
		}, []string{"source", "outcome"}),
		verifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "verification_failures_total",
			Help: "Requests refused by signature or token verification, by source and reason code.",
		}, []string{"source", "reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "duplicates_total",
			Help: "Verified requests JetStream acknowledged as duplicates (already stored within the dedup window), by source.",
		}, []string{"source"}),
		unrecognized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "unrecognized_total",
			Help: "Events newly stored as avatar.unrecognized (verified, but an event the source's mapping does not know), by source; duplicates are not counted again.",
		}, []string{"source"}),
		ingestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "ingest_duration_seconds",
			Help:    "Time to answer a webhook request, from routing to the answer, whatever the outcome, by source.",
			Buckets: latencyBuckets,
		}, []string{"source"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "publish_duration_seconds",
			Help:    "Time from publishing an event to JetStream's ack, for acknowledged publishes.",
			Buckets: latencyBuckets,
		}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "request_bytes_total",
			Help: "Request body bytes read, by source (including the part read of a body refused as too large).",
		}, []string{"source"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "quarantined_total",
			Help: "Requests refused by verification (401) and copied to the quarantine stream, by source and result (stored, failed).",
		}, []string{"source", "result"}),
		routeDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "route_deliveries_total",
			Help: "Delivery attempts of events to routes, by route and outcome (delivered, retried, dead_lettered).",
		}, []string{"route", "outcome"}),
		routeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "route_delivery_duration_seconds",
			Help:    "Duration of each delivery attempt to a route, whatever its outcome, by route.",
			Buckets: deliveryBuckets,
		}, []string{"route"}),
	}
	reg.MustRegister(
		m.ingestRequests, m.verifyFailures, m.duplicates, m.unrecognized,
		m.ingestDuration, m.publishDuration, m.requestBytes, m.quarantined,
		m.routeDeliveries, m.routeDuration,
	)
	return m
}

// WatchNATS registers avatarbus_nats_connected, a gauge computed at each scrape: 1 when connected
// returns true, else 0. Call it once, with a function that is cheap and safe to call concurrently.
// It returns the registry's error when the gauge is already registered.
func (m *Metrics) WatchNATS(connected func() bool) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "nats_connected",
		Help: "1 while the connection to NATS is up, else 0.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}

// WatchBodyBytes registers avatarbus_ingest_body_bytes_in_flight, a gauge computed at each
// scrape from held (the bytes the bodies of requests in flight hold), and
// avatarbus_ingest_body_bytes_in_flight_limit, the budget they share. Call it once, with a
// function that is cheap and safe to call concurrently.
func (m *Metrics) WatchBodyBytes(held func() int64, limit int64) error {
	if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "ingest_body_bytes_in_flight",
		Help: "Bytes held now by the bodies of webhook requests in flight (charged from Content-Length, or as a body of unknown length grows).",
	}, func() float64 { return float64(held()) })); err != nil {
		return err
	}
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "ingest_body_bytes_in_flight_limit",
		Help: "The body budget (http.max_body_bytes_in_flight): beyond it a request waits briefly, then is answered 503.",
	}, func() float64 { return float64(limit) }))
}

// seconds converts a duration for Observe.
func seconds(d time.Duration) float64 { return d.Seconds() }
