// Package brokertest starts real in-process nats-servers with JetStream for tests, the way
// httptest starts HTTP servers: free ports, temporary storage, shut down by t.Cleanup.
package brokertest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
