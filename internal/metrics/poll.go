package metrics

import "github.com/prometheus/client_golang/prometheus"

// pollVecs are the collectors of the API polling (internal/poll), registered on the first
// [Metrics.Poll] so that a deployment without polling exports none of them.
type pollVecs struct {
	polls, recovered, avoided, errors *prometheus.CounterVec
	credits                           *prometheus.GaugeVec
}

// Poll records the API polling of one source. A nil *Poll records nothing.
type Poll struct {
	// Polls counts passes (reconcile and usage) that reached the platform's API.
	Polls prometheus.Counter
	// Recovered counts events stored by reconciliation (their webhook was lost).
	Recovered prometheus.Counter
	// DuplicatesAvoided counts jobs found that were already stored (seen record or JetStream's
	// duplicate answer): the webhook did arrive.
	DuplicatesAvoided prometheus.Counter
	// Errors counts failed passes and failed publishes.
	Errors prometheus.Counter

	credits *prometheus.GaugeVec
	source  string
}

// SetCredits sets the remaining balance last read, in the platform's unit. The series exists
// from the first read on, so a source without usage polling exports none.
func (p *Poll) SetCredits(v float64) {
	if p != nil {
		p.credits.WithLabelValues(p.source).Set(v)
	}
}

// Poll returns the handle of source's polling. Its counters exist (at zero) from then on.
func (m *Metrics) Poll(source string) *Poll {
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	if m.poll == nil {
		pv := &pollVecs{}
		pv.polls = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "poll_passes_total",
			Help: "Passes of the API polling (reconcile and usage) that got an answer from the platform, by source."}, []string{"source"})
		pv.recovered = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "poll_recovered_total",
			Help: "Events stored by reconciliation because their webhook never arrived, by source."}, []string{"source"})
		pv.avoided = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "poll_duplicates_avoided_total",
			Help: "Jobs found by reconciliation that were already stored (their webhook arrived), by source."}, []string{"source"})
		pv.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "poll_errors_total",
			Help: "Failed polling passes or publishes (API errors, rate limits, JetStream unavailable), by source."}, []string{"source"})
		pv.credits = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "credits_remaining",
			Help: "Remaining credits of the account, in the platform's unit, as last read, by source."}, []string{"source"})
		m.reg.MustRegister(pv.polls, pv.recovered, pv.avoided, pv.errors, pv.credits)
		m.poll = pv
	}
	pv := m.poll
	return &Poll{
		Polls: pv.polls.WithLabelValues(source), Recovered: pv.recovered.WithLabelValues(source),
		DuplicatesAvoided: pv.avoided.WithLabelValues(source), Errors: pv.errors.WithLabelValues(source),
		credits: pv.credits, source: source,
	}
}
