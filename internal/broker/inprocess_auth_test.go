package broker_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// TestInProcessClientsAuthenticate: serve reaches its embedded server through an in-process pipe
// (nats.InProcessServer), not its TCP listener. The pipe is no way around the server's auth: a
// client on it without a login, or with a wrong one, is refused like a TCP client, and the
// avatarbus login is let in. (A refused client learns it only after the server's write deadline,
// 10 s: the pipe is synchronous, so the server's -ERR waits while the client still writes its
// CONNECT and PING. Only code inside the process can open such a pipe.)
func TestInProcessClientsAuthenticate(t *testing.T) {
	t.Parallel()
	b := open(t, embeddedConfig(t.TempDir()))
	for _, tt := range []struct {
		name  string
		login []nats.Option
		ok    bool
	}{
		{"no login", nil, false},
		{"wrong password", []nats.Option{nats.UserInfo(b.EmbeddedCredentials().Avatarbus.User, "wrong")}, false},
		{"avatarbus login", brokertest.Login(b), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(b.Server), nats.Timeout(time.Second)}, tt.login...)...)
			if err == nil {
				defer nc.Close()
				if err := nc.Flush(); err != nil { // a round trip on the pipe
					t.Fatal(err)
				}
			}
			if tt.ok != (err == nil) {
				t.Fatalf("connect: %v, want connected %v", err, tt.ok)
			}
		})
	}
}
