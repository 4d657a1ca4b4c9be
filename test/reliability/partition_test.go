package reliability_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// TestSilentPartition cuts avatarbus off from the cluster node it is connected to without closing
// the connection (packets stop, no FIN or RST: a firewall or a dead link, not a crashed server),
// under a steady signed load. avatarbus must notice by its pings, fail over to another node it
// learned from the cluster, and store again while the partition lasts; every request is answered
// 2xx or 503 within its publish timeout, and every event answered 2xx is stored exactly once.
func TestSilentPartition(t *testing.T) {
	skipShort(t)
	c := brokertest.RunCluster(t, 3)
	link := brokertest.NewLink(t, "127.0.0.1:"+strconv.Itoa(brokertest.Port(c.Server(0))))
	const publishTimeout = time.Second
	// Only the link is given: the other nodes are learned from the cluster, as a client given one
	// seed URL learns them.
	// Pings every 500ms: a stale connection is declared after ~1.5s (serve's default is 5s).
	st := startStack(t, reliability.StackConfig{NATSURL: "nats://" + link.Addr(), Replicas: 3, PublishTimeout: publishTimeout,
		PingInterval: 500 * time.Millisecond})
	js := jetStream(t, c.URLs())
	waitfor.Cond(t, 20*time.Second, func() bool { return c.StreamLeader(reliability.StreamName) >= 0 }, "stream leader elected")

	load := startLoad(&reliability.Load{URL: st.URL, Prefix: "partition", Workers: 4})
	phase := bounded(2*time.Second, 10*time.Second)
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	if load.okSince(time.Time{}) == 0 {
		t.Fatal("no 2xx before the partition")
	}
	link.Cut()
	cut := time.Now()
	waitfor.Cond(t, 20*time.Second, func() bool { return load.okSince(cut.Add(time.Second)) > 0 }, "2xx while the partition lasts (failover to another node)")
	t.Logf("partitioned from node 0; stores resumed after %s", recoveredAfter(load, cut))
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	link.Heal()
	healed := time.Now()
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	if load.okSince(healed) == 0 {
		t.Fatal("no 2xx after the partition healed")
	}
	results := load.stop()

	tally := checkLoad(t, results, publishTimeout+2*time.Second)
	waitReplicasCurrent(t, js)
	stored, unanswered := checkStoredOnce(t, js, tally)
	t.Logf("%s", tally)
	t.Logf("stream: %d messages, %d events accepted, %d stored although answered 503", stored, len(tally.accepted), unanswered)
}

// TestClusterPartition cuts the stream leader's node off from the two others (its route
// connections stop carrying anything, without closing) under load from two avatarbus instances:
// one connected to a node of the majority, one to the cut-off leader itself. The majority elects
// a new leader and its avatarbus stores again while the partition lasts; the minority's avatarbus
// answers 503, never 2xx, since nothing can be stored without a majority; after the partition
// heals both store again, the old leader catches up, and every event answered 2xx is stored
// exactly once.
func TestClusterPartition(t *testing.T) {
	skipShort(t)
	c := brokertest.RunPartitionableCluster(t, 3)
	const publishTimeout = time.Second
	startStack(t, reliability.StackConfig{NATSURL: c.URLs(), Replicas: 3, PublishTimeout: publishTimeout}) // creates the stream
	js := jetStream(t, c.URLs())
	waitfor.Cond(t, 20*time.Second, func() bool { return c.StreamLeader(reliability.StreamName) >= 0 }, "stream leader elected")
	leader := c.StreamLeader(reliability.StreamName)
	majorityNode := (leader + 1) % 3
	majority := startStack(t, reliability.StackConfig{NATSURL: c.ClientURL(majorityNode), Replicas: 3, PublishTimeout: publishTimeout})
	minority := startStack(t, reliability.StackConfig{NATSURL: c.ClientURL(leader), Replicas: 3, PublishTimeout: publishTimeout})

	loadA := startLoad(&reliability.Load{URL: majority.URL, Prefix: "majority", Workers: 3})
	loadB := startLoad(&reliability.Load{URL: minority.URL, Prefix: "minority", Workers: 3})
	phase := bounded(2*time.Second, 10*time.Second)
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	reconnectsBefore := minority.Broker.Conn.Stats().Reconnects
	onLeader := sameServer(minority.Broker.Conn.ConnectedUrl(), c.ClientURL(leader))
	c.Partition(leader)
	cut := time.Now()
	// Usually 4-7 s (a new stream leader among the two); a machine starved by the rest of the
	// suite has taken over 30 s, so the bound is generous: it is the outcome, not the speed, that is
	// under test here.
	waitfor.Cond(t, 90*time.Second, func() bool {
		return loadA.okSince(cut.Add(publishTimeout)) > 0
	}, "2xx on the majority side while the partition lasts")
	t.Logf("leader %s cut off; the majority (%s) stored again after %s", c.Name(leader), c.Name(majorityNode), recoveredAfter(loadA, cut.Add(publishTimeout)))
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	c.Heal(leader)
	healed := time.Now()
	// The minority's avatarbus stays on the cut-off node unless its connection was replaced (two
	// missed pings, e.g. on a starved machine): then it reached a majority node, whose 2xx are true.
	failedOver := !onLeader || minority.Broker.Conn.Stats().Reconnects > reconnectsBefore
	waitfor.Cond(t, 30*time.Second, func() bool { return loadB.okSince(healed) > 0 }, "2xx on the former minority side after the partition healed")
	t.Logf("partition healed; %s's avatarbus stored again after %s", c.Name(leader), recoveredAfter(loadB, healed))
	time.Sleep(phase) // the load runs through this phase: the behaviour under test
	resultsA, resultsB := loadA.stop(), loadB.stop()

	// Cut off from the majority, nothing sent to the old leader after the cut can be stored, unless
	// it still reaches the majority: its client failed over, or the cut let some traffic through
	// (seen on loaded CI machines: 474 2xx from one worker, every one of them found once in the
	// majority's stream). A 2xx is a lie only when its event is not on the majority:
	// checkStoredOnce below fails on that, whatever the path.
	during, duplicates, reached := storedBetween(resultsB, cut, healed)
	if during == 0 {
		t.Fatal("no request was answered while the partition lasted")
	}
	switch {
	case len(reached) == 0:
	case failedOver:
		t.Logf("the minority's avatarbus reconnected during the partition (now on %s): %d 2xx stored through the majority",
			minority.Broker.Conn.ConnectedUrlRedacted(), len(reached))
	default:
		t.Logf("%d requests to the cut-off node were answered 2xx: the cut let their publishes reach the majority; each must be in its stream once (checked next)",
			len(reached))
	}
	tally := checkLoad(t, append(resultsA, resultsB...), publishTimeout+2*time.Second)
	// Every acknowledged event is on the majority, which the stream is read from. The old leader
	// catching up is nats-server's business: it usually does within seconds, but a catch-up can
	// stall (seen once here: 2301 behind for a minute; cf. nats-io/nats-server#6964), so it is
	// reported, not required.
	if last, ok := replicasCurrent(js, 30*time.Second); !ok {
		t.Logf("the old leader had not caught up after 30s: %s", last)
	}
	stored, unanswered := checkStoredOnce(t, js, tally)
	t.Logf("%s; %d requests to the cut-off node during the partition, %d stored through the majority (%d retries of earlier events answered as duplicates)",
		tally, during, len(reached), duplicates)
	t.Logf("stream: %d messages, %d events accepted, %d stored although answered 503", stored, len(tally.accepted), unanswered)
}

// sameServer reports whether two NATS URLs name the same host and port.
func sameServer(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Host == ub.Host
}
