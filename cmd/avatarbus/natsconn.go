package main

import (
	"io"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
)

// The commands that talk to NATS as clients (tail, replay, dlq, forward, object) find the server
// the way serve does: --config FILE (default avatarbus.yaml when present) and the AVATARBUS_*
// environment give nats.url, or, when it is empty, the embedded server that serve runs at
// nats.embedded.listen; --nats-url overrides nats.url. Credentials and TLS come from the same
// config (nats.creds, user/password, token, tls.*). broker.DialClient dials.

// addNATSFlags adds --config and --nats-url.
func addNATSFlags(cmd *cobra.Command) *configFlags {
	return addConfigFlags(cmd, map[string]string{"nats-url": "nats.url"})
}

// givenCredentials are the embedded server's logins from the config, or nil when it gives none
// (the credentials file then holds generated ones).
func givenCredentials(cfg *config.Config) *broker.Credentials {
	e := cfg.NATS.Embedded
	if e.AvatarbusPassword == "" {
		return nil
	}
	return &broker.Credentials{
		Avatarbus: broker.UserPassword{User: broker.AvatarbusUser, Password: e.AvatarbusPassword},
		Consumer:  broker.UserPassword{User: broker.ConsumerUser, Password: e.ConsumerPassword},
	}
}

// clientConfig is how client name reaches the NATS server of cfg; stderr gets the connection's
// events and must be safe for concurrent use (a lockedWriter).
func clientConfig(cfg *config.Config, name string, stderr io.Writer) broker.ClientConfig {
	conn := connConfig(cfg)
	conn.Name = name
	return broker.ClientConfig{
		Conn:            conn,
		EmbeddedListen:  cfg.NATS.Embedded.Listen,
		EmbeddedAuth:    cfg.NATS.Embedded.Auth,
		Given:           givenCredentials(cfg),
		CredentialsPath: cfg.NATS.Embedded.CredentialsPath(),
		Errors:          stderr,
	}
}

// loadNATSConfig reads the config of a NATS client command: file, environment, --nats-url.
func loadNATSConfig(cmd *cobra.Command, cf *configFlags) (*config.Config, error) {
	cfg, _, err := cf.load(cmd)
	return cfg, err
}

// dialJetStream connects client name to the NATS server of cfg (broker.DialClient).
func dialJetStream(cfg *config.Config, name string, stderr io.Writer) (*nats.Conn, jetstream.JetStream, error) {
	return broker.DialClient(clientConfig(cfg, name, stderr))
}

// lockedWriter serializes the writes of the command and of the NATS callbacks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
