package metrics

import "github.com/prometheus/client_golang/prometheus"

// Index holds the collectors of the event index (internal/index) and of the route attempts
// record (internal/attempts). Made once by [Metrics.Index].
type Index struct {
	lag         prometheus.Gauge
	notRecorded prometheus.Counter
}

// Index registers the index's and attempts' collectors on m's registry.
func (m *Metrics) Index() (*Index, error) {
	x := &Index{
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "index_lag_events",
			Help: "Events stored in the stream but not yet in the index (stream last seq minus indexed seq), as last seen by the instance holding the index lease.",
		}),
		notRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "route_attempts_not_recorded_total",
			Help: "Route delivery attempts not stored in the attempts stream (queue full or publish failed); deliveries themselves are unaffected.",
		}),
	}
	for _, c := range []prometheus.Collector{x.lag, x.notRecorded} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Lag sets the index lag.
func (x *Index) Lag(events uint64) { x.lag.Set(float64(events)) }

// AttemptNotRecorded counts one attempt not stored.
func (x *Index) AttemptNotRecorded() { x.notRecorded.Inc() }
