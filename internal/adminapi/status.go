package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StatusWindow is how far back GET /api/v1/status counts events and attempts for its rates.
const StatusWindow = 5 * time.Minute

// SourceRef names a source for the status page and the subjects its events are stored on (a
// source's events are <prefix>.<type tokens>.<source>; cmd builds the filters with package
// subjects).
type SourceRef struct {
	Name, Platform string
	Filters        []string
}

// RouteRef names a route for the status page: its durable consumer on the event stream, and the
// filter of its recorded attempts in the attempts stream (internal/attempts).
type RouteRef struct {
	Name, Filter, Consumer string
	AttemptsFilter         string
}

// SourceStatus is one source's activity, as the event stream holds it (every replica's events,
// across restarts).
type SourceStatus struct {
	Name        string     `json:"name"`
	Platform    string     `json:"platform"`
	Events      uint64     `json:"events_in_window"`
	PerMinute   float64    `json:"per_minute"`
	LastEventAt *time.Time `json:"last_event_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// RouteStatus is one route's consumer state and recent attempts.
type RouteStatus struct {
	Name            string     `json:"name"`
	Filter          string     `json:"filter"`
	Consumer        string     `json:"consumer"`
	Pending         uint64     `json:"pending"`     // events not yet delivered: the consumer's lag
	InFlight        int        `json:"in_flight"`   // delivered, not yet acknowledged
	Redelivered     int        `json:"redelivered"` // being retried
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	Attempts        uint64     `json:"attempts_in_window"`
	PerMinute       float64    `json:"attempts_per_minute"`
	Error           string     `json:"error,omitempty"`
}

// Status is the answer of GET /api/v1/status.
type Status struct {
	Window  string         `json:"window"`
	Sources []SourceStatus `json:"sources"`
	Routes  []RouteStatus  `json:"routes"`
}

// status answers the sources' and routes' activity. A part JetStream cannot answer carries its
// error; the rest is still shown.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	since := time.Now().Add(-StatusWindow)
	st := Status{Window: StatusWindow.String(), Sources: []SourceStatus{}, Routes: []RouteStatus{}}
	events, err := a.cfg.JS.Stream(ctx, a.cfg.Stream)
	for _, s := range a.cfg.Sources {
		ss := SourceStatus{Name: s.Name, Platform: s.Platform}
		if err == nil {
			ss.Events, ss.LastEventAt, ss.Error = a.activity(ctx, events, s.Filters, since)
		} else {
			ss.Error = err.Error()
		}
		ss.PerMinute = perMinute(ss.Events)
		st.Sources = append(st.Sources, ss)
	}
	attempts, aerr := a.cfg.JS.Stream(ctx, a.cfg.AttemptsStream)
	for _, rt := range a.cfg.RouteRefs {
		rs := RouteStatus{Name: rt.Name, Filter: rt.Filter, Consumer: rt.Consumer}
		var errs []error
		if err == nil {
			if ci, cerr := events.Consumer(ctx, rt.Consumer); cerr == nil {
				info := ci.CachedInfo()
				rs.Pending, rs.InFlight, rs.Redelivered = info.NumPending, info.NumAckPending, info.NumRedelivered
				if info.Delivered.Last != nil {
					t := info.Delivered.Last.UTC()
					rs.LastDeliveredAt = &t
				}
			} else {
				errs = append(errs, fmt.Errorf("consumer %s: %w", rt.Consumer, cerr))
			}
		}
		if aerr == nil && rt.AttemptsFilter != "" {
			var msg string
			rs.Attempts, _, msg = a.activity(ctx, attempts, []string{rt.AttemptsFilter}, since)
			if msg != "" {
				errs = append(errs, errors.New(msg))
			}
		}
		if e := errors.Join(errs...); e != nil {
			rs.Error = e.Error()
		}
		rs.PerMinute = perMinute(rs.Attempts)
		st.Routes = append(st.Routes, rs)
	}
	writeJSON(w, http.StatusOK, st)
}

// activity counts the messages of s on filters stored since, and finds the newest one's time.
// The count is the pending count of a throwaway consumer that starts at since: the server counts
// it from its subject index, without reading the messages.
func (a *API) activity(ctx context.Context, s jetstream.Stream, filters []string, since time.Time) (uint64, *time.Time, string) {
	var last *time.Time
	for _, f := range filters {
		m, err := s.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, last, fmt.Sprintf("last event of %s: %v", f, err)
		}
		if t := m.Time.UTC(); last == nil || t.After(*last) {
			last = &t
		}
	}
	if last == nil || last.Before(since) {
		return 0, last, "" // nothing in the window: no consumer needed
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: 10 * time.Second, MemoryStorage: true,
	})
	if err != nil {
		return 0, last, fmt.Sprintf("count since %s: %v", since.Format(time.RFC3339), err)
	}
	n := c.CachedInfo().NumPending
	_ = s.DeleteConsumer(ctx, c.CachedInfo().Name) // else it goes after InactiveThreshold
	return n, last, ""
}

func perMinute(n uint64) float64 { return float64(n) / StatusWindow.Minutes() }
