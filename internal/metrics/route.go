package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RouteOutcome is how one delivery attempt to a route ended; it is the outcome label of
// avatarbus_route_deliveries_total.
type RouteOutcome uint8

// The outcomes of a delivery attempt.
const (
	// RouteDelivered: the route's service accepted the event.
	RouteDelivered RouteOutcome = iota
	// RouteRetried: the attempt failed and the event will be delivered again.
	RouteRetried
	// RouteDeadLettered: the attempt failed and the event went to the dead-letter stream.
	RouteDeadLettered

	numRouteOutcomes
)

var routeOutcomeNames = [numRouteOutcomes]string{
	RouteDelivered:    "delivered",
	RouteRetried:      "retried",
	RouteDeadLettered: "dead_lettered",
}

// String returns the label value of o ("delivered", "retried", "dead_lettered"), or
// "dead_lettered" for an invalid o.
func (o RouteOutcome) String() string {
	if o >= numRouteOutcomes {
		return routeOutcomeNames[RouteDeadLettered]
	}
	return routeOutcomeNames[o]
}

// Route records the deliveries of one configured route. A nil *Route records nothing.
type Route struct {
	deliveries [numRouteOutcomes]prometheus.Counter
	duration   prometheus.Observer
}

// Route returns the handle for the configured route name. Make one per route at start-up and keep
// it. All its series exist (at zero) from then on.
func (m *Metrics) Route(name string) *Route {
	r := &Route{duration: m.routeDuration.WithLabelValues(name)}
	for o := range numRouteOutcomes {
		r.deliveries[o] = m.routeDeliveries.WithLabelValues(name, o.String())
	}
	return r
}

// Attempt records one delivery attempt: how it ended and how long it took.
func (r *Route) Attempt(o RouteOutcome, took time.Duration) {
	if r == nil {
		return
	}
	if o >= numRouteOutcomes {
		o = RouteDeadLettered
	}
	r.deliveries[o].Inc()
	r.duration.Observe(seconds(took))
}
