package reliability_test

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/broker/brokertest"
	"github.com/avatarbus/avatarbus/reliability"
)

// TestSilentPartition cuts avatarbus off from the cluster node it is connected to without closing
// the connection (packets stop, no FIN or RST: a firewall or a dead link, not a crashed server),
// under a steady signed load. avatarbus must notice by its pings, fail over to another node it
// learned from the cluster, and store again while the partition lasts; every request is answered
// 2xx or 503 within its publish timeout, and every event answered 2xx is stored exactly once.
func TestSilentPartition(t *testing.T) {
	skipShort(t)
	c := brokertest.RunCluster(t, 3)
	link := newPartitionableLink(t, "127.0.0.1:"+strconv.Itoa(brokertest.Port(c.Server(0))))
	const publishTimeout = time.Second
	// Only the link is given: the other nodes are learned from the cluster, as a client given one
	// seed URL learns them.
	// Pings every 500ms: a stale connection is declared after ~1.5s (serve's default is 5s).
	st := startStack(t, reliability.StackConfig{NATSURL: "nats://" + link.addr(), Replicas: 3, PublishTimeout: publishTimeout,
		PingInterval: 500 * time.Millisecond})
	js := jetStream(t, c.URLs())
	waitFor(t, 20*time.Second, "stream leader elected", func() bool { return c.StreamLeader(reliability.StreamName) >= 0 })

	load := startLoad(&reliability.Load{URL: st.URL, Prefix: "partition", Workers: 4})
	phase := bounded(2*time.Second, 10*time.Second)
	time.Sleep(phase)
	if load.okSince(time.Time{}) == 0 {
		t.Fatal("no 2xx before the partition")
	}
	link.partition()
	cut := time.Now()
	waitFor(t, 20*time.Second, "2xx while the partition lasts (failover to another node)", func() bool { return load.okSince(cut.Add(time.Second)) > 0 })
	t.Logf("partitioned from node 0; stores resumed after %s", recoveredAfter(load, cut))
	time.Sleep(phase)
	link.heal()
	healed := time.Now()
	time.Sleep(phase)
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

// partitionableLink is a TCP proxy on loopback to one server. partition stops it forwarding in
// both directions, on open and on new connections, without closing anything; heal resumes it.
type partitionableLink struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	closed bool
	healed *sync.Cond
	conns  []net.Conn
}

func newPartitionableLink(t *testing.T, target string) *partitionableLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &partitionableLink{ln: ln, target: target}
	l.healed = sync.NewCond(&l.mu)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

func (l *partitionableLink) addr() string { return l.ln.Addr().String() }

func (l *partitionableLink) partition() {
	l.mu.Lock()
	l.cut = true
	l.mu.Unlock()
}

func (l *partitionableLink) heal() {
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
	l.healed.Broadcast()
}

// waitHealed blocks while the link is cut; it returns false once the link is closed.
func (l *partitionableLink) waitHealed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.cut && !l.closed {
		l.healed.Wait()
	}
	return !l.closed
}

func (l *partitionableLink) accept() {
	for {
		down, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.serve(down)
	}
}

// track keeps c to close with the link; it closes c at once when the link is closed already.
func (l *partitionableLink) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return false
	}
	l.conns = append(l.conns, c)
	return true
}

func (l *partitionableLink) serve(down net.Conn) {
	if !l.track(down) || !l.waitHealed() { // a connection opened during the partition hangs, like a SYN into a void
		return
	}
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		_ = down.Close()
		return
	}
	if !l.track(up) {
		_ = down.Close()
		return
	}
	go l.pipe(up, down)
	l.pipe(down, up)
}

// pipe copies src to dst, holding what it read while the link is cut, as the network would.
func (l *partitionableLink) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !l.waitHealed() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *partitionableLink) close() {
	_ = l.ln.Close()
	l.mu.Lock()
	conns := l.conns
	l.conns, l.closed = nil, true
	l.mu.Unlock()
	l.healed.Broadcast()
	for _, c := range conns {
		_ = c.Close()
	}
}
