package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome is how a webhook request ended; it is the outcome label of
// avatarbus_ingest_requests_total.
type Outcome uint8

// The outcomes of a webhook request.
const (
	// OutcomeStored: JetStream acknowledged a new event (2xx).
	OutcomeStored Outcome = iota
	// OutcomeDuplicate: JetStream acknowledged the event as already stored (2xx).
	OutcomeDuplicate
	// OutcomeUnauthorized: verification refused the request (401).
	OutcomeUnauthorized
	// OutcomeUnknownSource: no source is configured under the requested name (404).
	OutcomeUnknownSource
	// OutcomeTooLarge: the body exceeded the source's limit (413).
	OutcomeTooLarge
	// OutcomeUnreadable: the body could not be read completely (400).
	OutcomeUnreadable
	// OutcomeUnavailable: the event was not stored: no ack, deadline, or draining (503).
	OutcomeUnavailable
	// OutcomeInternal: a bug; the event was not stored (500).
	OutcomeInternal
	// OutcomeRateLimited: the source's rate limit refused the request before its body was read (429).
	OutcomeRateLimited

	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	OutcomeStored:        "stored",
	OutcomeDuplicate:     "duplicate",
	OutcomeUnauthorized:  "unauthorized",
	OutcomeUnknownSource: "unknown_source",
	OutcomeTooLarge:      "too_large",
	OutcomeUnreadable:    "unreadable",
	OutcomeUnavailable:   "unavailable",
	OutcomeInternal:      "internal",
	OutcomeRateLimited:   "rate_limited",
}

// String returns the label value of o ("stored", "duplicate", …), or "internal" for an invalid o.
func (o Outcome) String() string {
	if o >= numOutcomes {
		return outcomeNames[OutcomeInternal]
	}
	return outcomeNames[o]
}

// Source records the webhook requests of one source. Its series are resolved once, when it is
// made, so recording on the request path is a few atomic adds. A nil *Source records nothing, so
// callers without metrics need no checks.
type Source struct {
	name         string
	requests     [numOutcomes]prometheus.Counter
	duration     prometheus.Observer
	bytes        prometheus.Counter
	duplicates   prometheus.Counter
	unrecognized prometheus.Counter
	publish      prometheus.Observer

	quarantined [2]prometheus.Counter // indexed by quarantineStored, quarantineFailed

	verifyFailures *prometheus.CounterVec
	reasonsMu      sync.RWMutex
	reasons        map[string]prometheus.Counter
}

// Source returns the handle for the configured source name. Make one per source at start-up and
// keep it: each call resolves every series anew. All its series exist (at zero) from then on.
func (m *Metrics) Source(name string) *Source {
	s := &Source{
		name:           name,
		duration:       m.ingestDuration.WithLabelValues(name),
		bytes:          m.requestBytes.WithLabelValues(name),
		duplicates:     m.duplicates.WithLabelValues(name),
		unrecognized:   m.unrecognized.WithLabelValues(name),
		publish:        m.publishDuration,
		verifyFailures: m.verifyFailures,
		reasons:        map[string]prometheus.Counter{},
	}
	for o := range numOutcomes {
		s.requests[o] = m.ingestRequests.WithLabelValues(name, o.String())
	}
	s.quarantined[quarantineStored] = m.quarantined.WithLabelValues(name, "stored")
	s.quarantined[quarantineFailed] = m.quarantined.WithLabelValues(name, "failed")
	return s
}

// Indexes of Source.quarantined.
const (
	quarantineStored = iota
	quarantineFailed
)

// UnknownSource returns the handle that records requests for sources that are not configured,
// all under the single source label [UnknownSource], whatever name the request asked for.
func (m *Metrics) UnknownSource() *Source { return m.Source(UnknownSource) }

// Request records one answered request: its outcome and how long it took. An outcome of
// OutcomeDuplicate also counts in avatarbus_duplicates_total.
func (s *Source) Request(o Outcome, took time.Duration) {
	if s == nil {
		return
	}
	if o >= numOutcomes {
		o = OutcomeInternal
	}
	s.requests[o].Inc()
	s.duration.Observe(seconds(took))
	if o == OutcomeDuplicate {
		s.duplicates.Inc()
	}
}

// BodyBytes adds n bytes of request body read.
func (s *Source) BodyBytes(n int) {
	if s == nil || n <= 0 {
		return
	}
	s.bytes.Add(float64(n))
}

// VerificationFailed counts a request refused by verification with the reason code (one of
// verify's Reason constants; empty becomes [UnknownReason]).
func (s *Source) VerificationFailed(reason string) {
	if s == nil {
		return
	}
	if reason == "" {
		reason = UnknownReason
	}
	s.reasonsMu.RLock()
	c, ok := s.reasons[reason]
	s.reasonsMu.RUnlock()
	if !ok {
		c = s.verifyFailures.WithLabelValues(s.name, reason)
		s.reasonsMu.Lock()
		s.reasons[reason] = c
		s.reasonsMu.Unlock()
	}
	c.Inc()
}

// Unrecognized counts an event normalized to avatar.unrecognized.
func (s *Source) Unrecognized() {
	if s == nil {
		return
	}
	s.unrecognized.Inc()
}

// Quarantined counts a refused request kept on the quarantine stream (stored true) or that could
// not be kept (stored false: no ack within its deadline, too large for NATS, disconnected).
func (s *Source) Quarantined(stored bool) {
	if s == nil {
		return
	}
	if stored {
		s.quarantined[quarantineStored].Inc()
	} else {
		s.quarantined[quarantineFailed].Inc()
	}
}

// Published records how long JetStream took to acknowledge a publish.
func (s *Source) Published(took time.Duration) {
	if s == nil {
		return
	}
	s.publish.Observe(seconds(took))
}
