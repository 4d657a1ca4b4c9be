package reliability_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// long selects the long versions of the tests: go test ./reliability -long -timeout 30m.
var long = flag.Bool("long", false, "run the long versions of the reliability tests (minutes each)")

// bounded returns short for the default run and long under -long.
func bounded[T any](short, longer T) T {
	if *long {
		return longer
	}
	return short
}

// skipShort skips tests that start real servers under -short, saying so.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts in-process NATS servers and runs load; skipped under -short")
	}
}

// startStack starts avatarbus's ingest tier and closes it when the test ends.
func startStack(t *testing.T, cfg reliability.StackConfig) *reliability.Stack {
	t.Helper()
	if cfg.NATSURL == "" && cfg.StoreDir == "" {
		cfg.StoreDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := reliability.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start avatarbus: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := st.Close(ctx); err != nil {
			t.Errorf("close avatarbus: %v", err)
		}
	})
	return st
}

// running is a Load sending in the background.
type running struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	results []reliability.Result
}

// startLoad runs l until stop is called.
func startLoad(l *reliability.Load) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		l.Run(ctx, func(res reliability.Result) {
			r.mu.Lock()
			r.results = append(r.results, res)
			r.mu.Unlock()
		})
	}()
	return r
}

// okSince counts the 2xx answers to requests started after t0.
func (r *running) okSince(t0 time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, res := range r.results {
		if res.OK() && res.Start.After(t0) {
			n++
		}
	}
	return n
}

// stop ends the load, waits for the last answers and returns every result.
func (r *running) stop() []reliability.Result {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results
}

// jetStream connects an independent client to urls for assertions; it follows the cluster
// through restarts.
func jetStream(t *testing.T, urls string) jetstream.JetStream {
	t.Helper()
	_, js := brokertest.Connect(t, urls, nats.MaxReconnects(-1))
	return js
}

// embeddedJetStream connects an independent client to the embedded server of st, logged in as
// avatarbus's own user (the server refuses anonymous clients).
func embeddedJetStream(t *testing.T, st *reliability.Stack) jetstream.JetStream {
	t.Helper()
	_, js := brokertest.ConnectEmbedded(t, st.Broker, nats.MaxReconnects(-1))
	return js
}

// tally sums up a load's results.
type tally struct {
	requests, ok, duplicates, unavailable, other, noAnswer int
	accepted                                               map[string]bool // event ids answered 2xx at least once
	maxLatency                                             time.Duration
	p50, p99                                               time.Duration
}

func (c tally) String() string {
	return fmt.Sprintf("%d requests: %d 2xx (%d duplicate), %d 503, %d other, %d without answer; %d events accepted; latency p50 %s p99 %s max %s",
		c.requests, c.ok, c.duplicates, c.unavailable, c.other, c.noAnswer, len(c.accepted),
		c.p50.Round(time.Microsecond), c.p99.Round(time.Microsecond), c.maxLatency.Round(time.Millisecond))
}

func count(results []reliability.Result) tally {
	c := tally{requests: len(results), accepted: map[string]bool{}}
	lat := make([]time.Duration, 0, len(results))
	for _, r := range results {
		switch {
		case r.Status == 0:
			c.noAnswer++
		case r.OK():
			c.ok++
			c.accepted[r.EventID] = true
			if r.Duplicate {
				c.duplicates++
			}
		case r.Status == 503:
			c.unavailable++
		default:
			c.other++
		}
		lat = append(lat, r.Latency())
		c.maxLatency = max(c.maxLatency, r.Latency())
	}
	c.p50, c.p99 = reliability.Percentile(lat, 50), reliability.Percentile(lat, 99)
	return c
}

// checkLoad fails t when a request went unanswered or took longer than limit, or got an answer
// other than 2xx or 503 (with the first few offenders).
func checkLoad(t *testing.T, results []reliability.Result, limit time.Duration) tally {
	t.Helper()
	c := count(results)
	bad := 0
	for _, r := range results {
		if r.Status == 0 || r.Latency() > limit || (!r.OK() && r.Status != 503) {
			if bad++; bad <= 5 {
				t.Errorf("%s attempt %d: status %d after %s (limit %s): %v", r.EventID, r.Attempt, r.Status, r.Latency(), limit, r.Err)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d requests unanswered, too slow, or neither 2xx nor 503", bad, len(results))
	}
	return c
}

// noStoreWithoutMajority fails t for a request started after from and answered before to, while
// its server had no majority, that was answered 2xx as newly stored, and when no request fell in
// that window. A 2xx duplicate is allowed: a retry of an event committed before, answered from the
// leader's dedup table, which holds only committed messages (an uncommitted id is a conflict
// error, not a duplicate ack); that event is stored and the 2xx is true. It returns how many
// requests fell in the window and how many of them were such duplicates.
func noStoreWithoutMajority(t *testing.T, results []reliability.Result, from, to time.Time) (during, duplicates int) {
	t.Helper()
	during, duplicates, stored := storedBetween(results, from, to)
	for _, id := range stored {
		t.Errorf("%s answered 2xx (stored) without a majority", id)
	}
	if during == 0 {
		t.Fatal("no request was answered while there was no majority")
	}
	return during, duplicates
}

// storedBetween sorts the requests started after from and answered before to: how many, how many
// were answered as duplicates, and the events answered as newly stored.
func storedBetween(results []reliability.Result, from, to time.Time) (during, duplicates int, stored []string) {
	for _, r := range results {
		if !r.Start.After(from) || !r.End.Before(to) {
			continue
		}
		during++
		switch {
		case r.OK() && r.Duplicate:
			duplicates++
		case r.OK():
			stored = append(stored, r.EventID)
		}
	}
	return during, duplicates, stored
}

// checkStoredOnce fails t unless every event answered 2xx is in the stream exactly once and no
// event is stored twice. It returns the number of stored messages and of stored events that were
// never answered 2xx (a publish acked after its request had already been answered 503: allowed,
// the platform's retry is deduplicated).
func checkStoredOnce(t *testing.T, js jetstream.JetStream, c tally) (stored, unanswered int) {
	t.Helper()
	ids := storedIDs(t, js)
	missing := 0
	for id := range c.accepted {
		if ids[id] == 0 {
			if missing++; missing <= 5 {
				t.Errorf("%s answered 2xx but not in the stream", id)
			}
		}
	}
	twice := 0
	for id, n := range ids {
		stored += n
		if n > 1 {
			if twice++; twice <= 5 {
				t.Errorf("%s stored %d times", id, n)
			}
		}
		if !c.accepted[id] {
			unanswered++
		}
	}
	if missing > 0 || twice > 0 {
		t.Errorf("%d events answered 2xx are missing, %d events stored more than once", missing, twice)
	}
	return stored, unanswered
}

// storedIDs reads the stream and returns how many messages carry each Nats-Msg-Id.
func storedIDs(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // -long stores ~350k events
	defer cancel()
	ids, err := reliability.StreamIDs(ctx, js, reliability.StreamName)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return ids
}
