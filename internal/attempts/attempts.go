// Package attempts records every route delivery attempt in the stream <stream>_ATTEMPTS, off the
// delivery path, and lists the attempts of one event (for `avatarbus find` and the admin API).
package attempts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/subjects"
)

// ErrAttempts wraps every failure of the package.
var ErrAttempts = errors.New("attempts")

// DefaultMaxAge is how long attempts are kept unless configured: they explain recent deliveries.
const DefaultMaxAge = 7 * 24 * time.Hour

// Attempt is one delivery of one event to one route.
type Attempt struct {
	Route   string        `json:"route"`
	EventID string        `json:"eventid"`
	Attempt int           `json:"attempt"`
	At      time.Time     `json:"at"`
	Status  int           `json:"status,omitempty"` // HTTP status; 0 when no answer came
	Error   string        `json:"error,omitempty"`
	Latency time.Duration `json:"latency"`
}

// eventKey is the last token of an attempt's subject: a hash, since an event id may hold dots.
func eventKey(eventID string) string {
	s := sha256.Sum256([]byte(eventID))
	return hex.EncodeToString(s[:16])
}

// routeToken is the route's name when it is a valid subject token, else its hash.
func routeToken(route string) string {
	if subjects.ValidToken(route) == nil {
		return route
	}
	return eventKey(route)
}

// Subject is where an attempt of eventID to route is recorded: attempts.<prefix>.<route>.<key>.
func Subject(prefix, route, eventID string) string {
	return subjects.AttemptsRoot + "." + prefix + "." + routeToken(route) + "." + eventKey(eventID)
}

// EnsureStream creates or updates the attempts stream of the events under prefix, kept maxAge
// (0: DefaultMaxAge) on replicas servers (0: 1).
func EnsureStream(ctx context.Context, js jetstream.JetStream, stream, prefix string, maxAge time.Duration, replicas int) error {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{subjects.AttemptsFilter(prefix)}, MaxAge: maxAge,
		Storage: jetstream.FileStorage, Discard: jetstream.DiscardOld, Replicas: max(replicas, 1),
		Description: "avatarbus: route delivery attempts",
	})
	if err != nil {
		return fmt.Errorf("%w: stream %s: %w", ErrAttempts, stream, err)
	}
	return nil
}

// List returns the attempts recorded for eventID, oldest first. It reads only that event's
// subjects (attempts.*.*.<key>), so its cost is the event's attempts, not the stream's.
func List(ctx context.Context, js jetstream.JetStream, stream, eventID string) ([]Attempt, error) {
	filter := subjects.AttemptsRoot + ".*.*." + eventKey(eventID)
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("%w: stream %s: %w", ErrAttempts, stream, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("%w: stream %s info: %w", ErrAttempts, stream, err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if n == 0 {
		return nil, nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrAttempts, stream, err)
	}
	var out []Attempt
	for uint64(len(out)) < n {
		msgs, err := c.Fetch(int(n)-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %w", ErrAttempts, stream, err)
		}
		got := 0
		for m := range msgs.Messages() {
			got++
			var a Attempt
			if json.Unmarshal(m.Data(), &a) == nil && a.EventID == eventID {
				out = append(out, a)
			} else {
				n-- // not ours (a hash collision or a foreign message): do not wait for it
			}
		}
		if msgs.Error() != nil || got == 0 {
			break // expired meanwhile: return what was read
		}
	}
	return out, nil
}

// StatusOf returns the HTTP status carried by a delivery's error (0 when there is none).
func StatusOf(err error) int {
	var se *deliver.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// statusKey carries the slot a Transport writes the answer's status into.
type statusKey struct{}

// WithStatusSlot returns a context whose requests sent through a [Transport] report their
// answer's status in *slot, so that a 2xx is recorded too (deliver returns no status then).
func WithStatusSlot(ctx context.Context, slot *int) context.Context {
	return context.WithValue(ctx, statusKey{}, slot)
}

// Transport wraps base (nil: http.DefaultTransport) to report statuses into the slot of the
// request's context.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{base}
}

type roundTripper struct{ base http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if slot, ok := r.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*slot = resp.StatusCode
	}
	return resp, err
}

// RouteFilter selects the recorded attempts of route under prefix: attempts.<prefix>.<route>.*.
func RouteFilter(prefix, route string) string {
	return subjects.AttemptsRoot + "." + prefix + "." + routeToken(route) + ".*"
}
