package reliability_test

import (
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// TestBrokerOutageUnderLoad stops the NATS server avatarbus uses for several seconds under a
// steady signed load and starts it again on the same port and store (once for 3s; five times for
// 10s under -long). While it is down every request is answered 503 within 2 seconds, never 2xx;
// afterwards avatarbus stores again without being restarted; every event answered 2xx is in the
// stream, and none is stored twice.
func TestBrokerOutageUnderLoad(t *testing.T) {
	skipShort(t)
	brokerOutage(t, false)
}

// TestBrokerOutageUnderLoadBatch is the same outage with publish_mode batch: requests gathered
// into an atomic batch when the server went away are all answered 503, and none is stored twice
// after it comes back.
func TestBrokerOutageUnderLoadBatch(t *testing.T) {
	skipShort(t)
	brokerOutage(t, true)
}

func brokerOutage(t *testing.T, batch bool) {
	opts := brokertest.Options(t.TempDir())
	srv := brokertest.RunWithOptions(t, opts)
	opts.Port = brokertest.Port(srv) // restarts take the same port and store
	st := startStack(t, reliability.StackConfig{NATSURL: srv.ClientURL(), PublishTimeout: time.Second, Batch: batch})

	load := startLoad(&reliability.Load{URL: st.URL, Prefix: "outage", Workers: 4})
	type window struct{ down, up time.Time }
	var outages []window
	rounds, downFor, upFor := bounded(1, 5), bounded(3*time.Second, 10*time.Second), bounded(3*time.Second, 15*time.Second)
	for round := 1; round <= rounds; round++ {
		time.Sleep(upFor) // the server stays up this long: the behaviour under test
		brokertest.Stop(srv)
		w := window{down: time.Now()}
		time.Sleep(downFor) // the outage lasts this long: the behaviour under test
		w.up = time.Now()
		srv = brokertest.RunWithOptions(t, opts)
		outages = append(outages, w)
		waitfor.Cond(t, 15*time.Second, func() bool { return load.okSince(w.up) > 0 }, "2xx after the server came back")
		t.Logf("round %d: down %s; first store %s after the restart", round, downFor, recoveredAfter(load, w.up))
	}
	time.Sleep(upFor) // the load runs through this phase: the behaviour under test
	results := load.stop()

	tally := checkLoad(t, results, 2*time.Second)
	during := 0
	for _, r := range results {
		for _, w := range outages {
			if r.Start.After(w.down) && r.End.Before(w.up) {
				during++
				if r.Status != 503 {
					t.Errorf("%s sent while NATS was down: status %d", r.EventID, r.Status)
				}
			}
		}
	}
	if during == 0 {
		t.Fatal("no request was answered while NATS was down")
	}
	js := jetStream(t, srv.ClientURL())
	stored, unanswered := checkStoredOnce(t, js, tally)
	t.Logf("%s; %d answered while NATS was down, all 503", tally, during)
	t.Logf("stream: %d messages, %d events accepted, %d stored although answered 503", stored, len(tally.accepted), unanswered)
}

// recoveredAfter is how long after t0 the first request that was then answered 2xx started.
func recoveredAfter(r *running, t0 time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := time.Duration(-1)
	for _, res := range r.results {
		if res.OK() && res.Start.After(t0) && (first < 0 || res.Start.Sub(t0) < first) {
			first = res.Start.Sub(t0)
		}
	}
	return first.Round(time.Millisecond)
}
