// Package brokertest starts real in-process nats-servers with JetStream for tests, the way
// httptest starts HTTP servers: free ports, temporary storage, shut down by t.Cleanup.
package brokertest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker"
)

// Options returns server options for a JetStream server on a free loopback port storing in dir.
func Options(dir string) *server.Options {
	return &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  dir,
		NoSigs:    true,
		NoLog:     true,
	}
}

// RunJetStream starts a JetStream server with a fresh store and stops it when the test ends.
func RunJetStream(t testing.TB) *server.Server {
	t.Helper()
	return RunWithOptions(t, Options(t.TempDir()))
}

// RunWithOptions starts a server with opts and stops it when the test ends. Use it to restart a
// server on the same port and store dir (opts.Port set to the old port).
func RunWithOptions(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("brokertest: new server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatalf("brokertest: server not ready")
	}
	t.Cleanup(func() { Stop(srv) })
	return srv
}

// Stop shuts srv down and waits until it is gone. Stopping twice is harmless.
func Stop(srv *server.Server) {
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Port returns the client port srv listens on.
func Port(srv *server.Server) int {
	return srv.Addr().(*net.TCPAddr).Port
}

// Cluster is a JetStream cluster of in-process servers on loopback, started by RunCluster. Its
// nodes can be stopped and restarted on the same ports and stores, to test failover.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	servers []*server.Server // nil while a node is stopped
	opts    []*server.Options
	links   [][]*Link // links[i][j] carries node i's route connections to node j; nil without links
}

// RunCluster starts an n-node JetStream cluster (file storage, fresh stores) on free loopback
// ports, waits until it has elected a JetStream meta leader that sees every node, and stops every
// node when the test ends.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return runCluster(t, n, false)
}

// RunPartitionableCluster is RunCluster with every route connection between two nodes going
// through a Link, so that Partition cuts a node off from the others while its clients still reach
// it, and Heal joins it back. The nodes ping each other every second, so a cut route is noticed
// within seconds rather than minutes.
func RunPartitionableCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return runCluster(t, n, true)
}

func runCluster(t testing.TB, n int, viaLinks bool) *Cluster {
	t.Helper()
	ports := FreePorts(t, 2*n) // a client and a route port per node, known before any node starts
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i])
	}
	c := &Cluster{t: t, servers: make([]*server.Server, n), opts: make([]*server.Options, n)}
	if viaLinks {
		c.links = make([][]*Link, n)
		for i := range n {
			c.links[i] = make([]*Link, n)
			for j := range n {
				if i != j {
					c.links[i][j] = NewLink(t, fmt.Sprintf("127.0.0.1:%d", ports[n+j]))
				}
			}
		}
	}
	for i := range n {
		o := Options(t.TempDir())
		o.ServerName = fmt.Sprintf("n%d", i+1)
		o.Port = ports[i]
		o.Cluster = server.ClusterOpts{Name: "brokertest", Host: "127.0.0.1", Port: ports[n+i]}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		if viaLinks {
			var via []string
			for j := range n {
				if j != i {
					via = append(via, "nats-route://"+c.links[i][j].Addr())
				}
			}
			o.Routes = server.RoutesFromStr(strings.Join(via, ","))
			o.Cluster.NoAdvertise = true // nodes must not learn, and use, each other's direct addresses
			o.PingInterval, o.MaxPingsOut = time.Second, 2
		}
		c.opts[i] = o
	}
	for i := range n {
		c.servers[i] = c.start(i)
	}
	t.Cleanup(func() {
		for i := range n {
			c.Stop(i)
		}
	})
	c.WaitReady(30 * time.Second)
	return c
}

// FreePorts reserves n distinct free loopback ports by listening on them at once, then releases
// them for servers to take (another process could take one meanwhile: rare, and a test failure).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("brokertest: free port: %v", err)
		}
		lns[i], ports[i] = ln, ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

func (c *Cluster) start(i int) *server.Server {
	c.t.Helper()
	o := *c.opts[i] // the server keeps and edits its options; each start gets a copy
	srv, err := server.NewServer(&o)
	if err != nil {
		c.t.Fatalf("brokertest: new server %s: %v", o.ServerName, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("brokertest: server %s not ready", o.ServerName)
	}
	return srv
}

// Partition cuts node i off from every other node of a cluster started by RunPartitionableCluster:
// its route connections stop carrying anything, without being closed. Its clients still reach it.
func (c *Cluster) Partition(i int) { c.eachLinkOf(i, (*Link).Cut) }

// Heal ends the partition of node i.
func (c *Cluster) Heal(i int) { c.eachLinkOf(i, (*Link).Heal) }

func (c *Cluster) eachLinkOf(i int, f func(*Link)) {
	c.t.Helper()
	if c.links == nil {
		c.t.Fatalf("brokertest: the cluster was not started by RunPartitionableCluster")
	}
	for j := range c.links {
		if j != i {
			f(c.links[i][j])
			f(c.links[j][i])
		}
	}
}

// ClientURL returns node i's client URL, whether it runs or not.
func (c *Cluster) ClientURL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// Size is the number of nodes, running or stopped.
func (c *Cluster) Size() int { return len(c.opts) }

// Server returns node i, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// Name returns node i's server name (as in StreamInfo.Cluster.Leader).
func (c *Cluster) Name(i int) string { return c.opts[i].ServerName }

// URLs returns the client URLs of every node, running or not, comma-separated: what a client
// that should fail over is given.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.opts))
	for i := range c.opts {
		urls[i] = c.ClientURL(i)
	}
	return strings.Join(urls, ",")
}

// Stop shuts node i down and waits until it is gone. Stopping a stopped node is harmless.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	srv := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if srv != nil {
		Stop(srv)
	}
}

// Restart starts stopped node i again on its ports and store, so it rejoins with its data.
func (c *Cluster) Restart(i int) *server.Server {
	c.t.Helper()
	c.mu.Lock()
	running := c.servers[i] != nil
	c.mu.Unlock()
	if running {
		c.t.Fatalf("brokertest: restart of running node %s", c.Name(i))
	}
	srv := c.start(i)
	c.mu.Lock()
	c.servers[i] = srv
	c.mu.Unlock()
	return srv
}

// StreamLeader returns the index of the node leading stream (of the default account), or -1
// when no running node leads it now.
func (c *Cluster) StreamLeader(stream string) int {
	for i := range c.opts {
		if srv := c.Server(i); srv != nil && srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}

// WaitReady waits until a running node is the JetStream meta leader and that leader sees every
// running node online with JetStream (the peers it places replicas on), failing the test after
// timeout. A leader alone is not enough: until the others' first stats reach it, creating an R3
// stream fails with "no suitable peers for placement, peer offline" (seen in CI).
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		running := 0
		for i := range c.opts {
			if c.Server(i) != nil {
				running++
			}
		}
		for i := range c.opts {
			if srv := c.Server(i); srv != nil && srv.JetStreamIsLeader() && len(srv.JetStreamClusterPeers()) == running {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("brokertest: no JetStream meta leader seeing every running node within %s", timeout)
}

// Connect connects a client to url, as a service reading the stream would, and closes it when the
// test ends.
func Connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// ConnectEmbedded connects a client to the embedded server of b (started by broker.Open without a
// URL), logged in as user avatarbus unless the server requires no auth, and closes it when the test
// ends. opts come after the login, so a test can log in as someone else.
func ConnectEmbedded(t testing.TB, b *broker.Broker, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	if b.Server == nil {
		t.Fatal("brokertest: the broker runs no embedded server")
	}
	return Connect(t, b.Server.ClientURL(), append(Login(b), opts...)...)
}

// Login is the option that logs in to b's embedded server as user avatarbus; none when it requires
// no auth.
func Login(b *broker.Broker) []nats.Option {
	if c := b.EmbeddedCredentials(); c != nil {
		return []nats.Option{c.Avatarbus.Option()}
	}
	return nil
}
