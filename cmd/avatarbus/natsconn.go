package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
)

// The commands that talk to NATS as clients (tail, replay) find the server the way serve does:
// --config FILE (default avatarbus.yaml when present) and the AVATARBUS_* environment give nats.url,
// or, when it is empty, the embedded server that serve runs at nats.embedded.listen; --nats-url
// overrides nats.url. Credentials and TLS come from the same config (nats.creds, user/password,
// token, tls.*).

// addNATSFlags adds --config and --nats-url.
func addNATSFlags(cmd *cobra.Command) *configFlags {
	return addConfigFlags(cmd, map[string]string{"nats-url": "nats.url"})
}

// natsURL is the URL a client connects to: nats.url, or the embedded server's listen address.
func natsURL(cfg *config.Config) (string, error) {
	if cfg.NATS.URL != "" {
		return cfg.NATS.URL, nil
	}
	listen := cfg.NATS.Embedded.Listen
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("nats.embedded.listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("nats.embedded.listen %q picks a random port: give --nats-url", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "nats://" + net.JoinHostPort(host, port), nil
}

// natsClientOptions are the options of a command's connection: fail fast while disconnected (a
// publish is never buffered across a reconnect), reconnect for ever (tail follows across restarts
// of the server), report disconnects on stderr.
func natsClientOptions(cfg *config.Config, name string, stderr io.Writer) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(5 * time.Second),
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(stderr, "avatarbus: disconnected from NATS (%v); reconnecting\n", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			fmt.Fprintf(stderr, "avatarbus: reconnected to NATS at %s\n", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			fmt.Fprintf(stderr, "avatarbus: NATS: %v\n", err)
		}),
	}
	auth, err := connConfig(cfg).AuthOptions()
	if err != nil {
		return nil, err
	}
	login, err := embeddedLogin(cfg)
	if err != nil {
		return nil, err
	}
	auth = append(auth, login...)
	opts = append(opts, broker.PingOptions(cfg.NATS.PingInterval.Std())...)
	return append(opts, auth...), nil
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

// embeddedLogin is how a command logs in to the embedded server that serve runs with the same
// config: as user avatarbus (the commands are the operator's: replay publishes, dlq deletes), with
// the password of the config or of the credentials file serve wrote. None when the config gives
// its own nats credentials (creds, user, token), turns auth off, or the file does not exist yet
// (serve has not run: connecting fails and says so; a server without auth ignores a login, so
// with --nats-url the file is used when it exists).
func embeddedLogin(cfg *config.Config) ([]nats.Option, error) {
	n := cfg.NATS
	if !n.Embedded.Auth || n.Creds != "" || n.User != "" || n.Token != "" {
		return nil, nil
	}
	if c := givenCredentials(cfg); c != nil {
		return []nats.Option{c.Avatarbus.Option()}, nil
	}
	c, err := broker.ReadCredentials(n.Embedded.CredentialsPath())
	switch {
	case err == nil:
		return []nats.Option{c.Avatarbus.Option()}, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	default:
		return nil, err
	}
}

// loadNATSConfig reads the config of a NATS client command: file, environment, --nats-url.
func loadNATSConfig(cmd *cobra.Command, cf *configFlags) (*config.Config, error) {
	cfg, _, err := cf.load(cmd)
	return cfg, err
}

// dialNATS connects to the NATS server cfg names, as client name. Asynchronous connection events
// are reported on stderr, which must be safe for concurrent use (a lockedWriter).
func dialNATS(cfg *config.Config, name string, stderr io.Writer) (*nats.Conn, error) {
	u, err := natsURL(cfg)
	if err != nil {
		return nil, err
	}
	opts, err := natsClientOptions(cfg, name, stderr)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(u, opts...)
	if err != nil {
		hint := "set nats.url in the config or give --nats-url"
		if errors.Is(err, nats.ErrAuthorization) {
			hint = "the embedded server requires a login: give the --config that serve runs with (its credentials file is " +
				cfg.NATS.Embedded.CredentialsPath() + "), or nats.user/nats.password"
		} else if cfg.NATS.URL == "" {
			hint = "is avatarbus serve running? it serves NATS at nats.embedded.listen; or " + hint
		}
		return nil, fmt.Errorf("connect to NATS at %s: %w (%s)", broker.RedactURL(u), err, hint)
	}
	return nc, nil
}

// dialJetStream is dialNATS with the JetStream context of the connection.
func dialJetStream(cfg *config.Config, name string, stderr io.Writer) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := dialNATS(cfg, name, stderr)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
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
