package reliability_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// faultyCluster is a three-node JetStream cluster whose nodes a test can take down and bring back.
type faultyCluster interface {
	URLs() string
	Name(i int) string
	// Down takes node i down (how depends on the cluster); Up brings it back with its store.
	Down(i int)
	Up(i int)
}

// inProcess is brokertest's in-process cluster. Down is a server Shutdown, which hands stream
// leadership over first: the planned stop of a rolling restart.
type inProcess struct{ *brokertest.Cluster }

func (c inProcess) Down(i int) { c.Stop(i) }
func (c inProcess) Up(i int)   { c.Restart(i) }

// TestClusterLeaderShutdown stops the stream leader of an in-process three-node cluster under
// load and restarts it later.
func TestClusterLeaderShutdown(t *testing.T) {
	skipShort(t)
	failover(t, inProcess{brokertest.RunCluster(t, 3)}, false)
}

// TestClusterLeaderKilled kills the stream leader with SIGKILL: the nodes are nats-server
// processes (the version go.mod pins), so the leader gets no chance to hand over.
func TestClusterLeaderKilled(t *testing.T) {
	skipShort(t)
	failover(t, runProcessCluster(t, 3), false)
}

// TestClusterLeaderKilledBatch is the same SIGKILL with publish_mode batch (atomic batches, group
// commit): every request is still answered 2xx or 503 in time, and what was answered 2xx is on
// every replica once.
func TestClusterLeaderKilledBatch(t *testing.T) {
	skipShort(t)
	failover(t, runProcessCluster(t, 3), true)
}

// failover runs avatarbus against c (publishing in batch mode when batch) with an R3 stream, takes the stream's leader down under a
// steady signed load and brings it back later (once; four times under -long). Every request must
// be answered 2xx or 503 within its publish timeout (plus processing), 2xx must resume after each
// loss, and every event answered 2xx must be stored exactly once, on every replica.
func failover(t *testing.T, c faultyCluster, batch bool) {
	const publishTimeout = time.Second
	st := startStack(t, reliability.StackConfig{NATSURL: c.URLs(), Replicas: 3, PublishTimeout: publishTimeout, Batch: batch})
	js := jetStream(t, c.URLs())
	leaderOf := func() int { return streamLeader(js, c) }
	waitfor.Cond(t, 20*time.Second, func() bool { return leaderOf() >= 0 }, "stream leader elected")

	load := startLoad(&reliability.Load{URL: st.URL, Prefix: "failover", Workers: 4})
	rounds, phase := bounded(1, 4), bounded(3*time.Second, 20*time.Second)
	for round := 1; round <= rounds; round++ {
		time.Sleep(phase) // the load runs through this phase: the behaviour under test
		leader := leaderOf()
		if leader < 0 {
			t.Fatalf("round %d: no stream leader before the fault", round)
		}
		c.Down(leader)
		down := time.Now()
		waitfor.Cond(t, 30*time.Second, func() bool {
			l := leaderOf()
			return l >= 0 && l != leader
		}, "a new stream leader")
		elected := time.Since(down)
		waitfor.Cond(t, 30*time.Second, func() bool { return load.okSince(down.Add(elected)) > 0 }, "2xx answers after the leader went down")
		t.Logf("round %d: leader %s down; new leader %s after %s; stores resumed after %s",
			round, c.Name(leader), c.Name(leaderOf()), elected.Round(time.Millisecond), time.Since(down).Round(time.Millisecond))
		time.Sleep(phase) // the load runs through this phase: the behaviour under test
		c.Up(leader)
		up := time.Now()
		time.Sleep(phase) // the load runs through this phase: the behaviour under test
		if load.okSince(up) == 0 {
			t.Fatalf("round %d: no 2xx after %s rejoined", round, c.Name(leader))
		}
	}
	results := load.stop()

	tally := checkLoad(t, results, publishTimeout+2*time.Second)
	if tally.ok < 10 {
		t.Fatalf("the load did not run: %s", tally)
	}
	waitReplicasCurrent(t, js)
	stored, unanswered := checkStoredOnce(t, js, tally)
	t.Logf("%s", tally)
	t.Logf("stream: %d messages, %d events accepted, %d stored although answered 503 (deduplicated on retry)", stored, len(tally.accepted), unanswered)
}

// streamLeader returns the index of the node that leads the stream, or -1.
func streamLeader(js jetstream.JetStream, c faultyCluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, reliability.StreamName)
	if err != nil || s.CachedInfo().Cluster == nil {
		return -1
	}
	for i := range 3 {
		if c.Name(i) == s.CachedInfo().Cluster.Leader {
			return i
		}
	}
	return -1
}

// waitReplicasCurrent waits until the stream's followers have caught up (the restarted node
// included), so that what is read back is what every replica holds. On failure it says what the
// stream reported last.
func waitReplicasCurrent(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	if last, ok := replicasCurrent(js, 60*time.Second); !ok {
		t.Fatalf("replicas not all current within 60s: %s", last)
	}
}

// replicasCurrent waits up to timeout until both followers of the stream are current; it returns
// false and what the stream reported last when they are not.
func replicasCurrent(js jetstream.JetStream, timeout time.Duration) (string, bool) {
	last := "no answer"
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, reliability.StreamName)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case s.CachedInfo().Cluster == nil:
			last = "no cluster info"
		default:
			ci := s.CachedInfo().Cluster
			current := len(ci.Replicas) == 2
			last = "leader " + ci.Leader
			for _, r := range ci.Replicas {
				last += fmt.Sprintf("; %s current=%v lag=%d offline=%v", r.Name, r.Current, r.Lag, r.Offline)
				current = current && r.Current && r.Lag == 0 && !r.Offline
			}
			if current {
				return last, true
			}
		}
		if time.Now().After(deadline) {
			return last, false
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// TestClusterQuorumLoss stops two of three nodes under load: with no majority nothing can be
// stored, so every request is answered 503 (never 2xx) within the publish timeout; when one node
// returns, the majority is back and stores resume. Every event answered 2xx is stored once.
func TestClusterQuorumLoss(t *testing.T) {
	skipShort(t)
	const publishTimeout = time.Second
	c := brokertest.RunCluster(t, 3)
	st := startStack(t, reliability.StackConfig{NATSURL: c.URLs(), Replicas: 3, PublishTimeout: publishTimeout})
	js := jetStream(t, c.URLs())
	waitfor.Cond(t, 20*time.Second, func() bool { return streamLeader(js, inProcess{c}) >= 0 }, "stream leader elected")

	load := startLoad(&reliability.Load{URL: st.URL, Prefix: "quorum", Workers: 4})
	phase := bounded(3*time.Second, 20*time.Second)
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	c.Stop(1)
	c.Stop(2)
	lost := time.Now()
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	back := time.Now()
	c.Restart(1)
	waitfor.Cond(t, 30*time.Second, func() bool { return load.okSince(back) > 0 }, "2xx after the majority came back")
	resumed := time.Since(back)
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	c.Restart(2)
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	results := load.stop()

	tally := checkLoad(t, results, publishTimeout+2*time.Second)
	during, duplicates := noStoreWithoutMajority(t, results, lost, back)
	waitReplicasCurrent(t, js)
	stored, unanswered := checkStoredOnce(t, js, tally)
	t.Logf("%s; %d answered without a majority, none stored (%d retries of earlier events answered as duplicates); stores resumed %s after a second node returned",
		tally, during, duplicates, resumed.Round(time.Millisecond))
	t.Logf("stream: %d messages, %d events accepted, %d stored although answered 503", stored, len(tally.accepted), unanswered)
}
