package broker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/redact"
)

// ClientConfig says how a command that talks to NATS as a client (tail, replay, dlq, forward,
// object, verify --from-quarantine) finds the server serve runs or uses: Conn.URL, or, when it is
// empty, the embedded server at EmbeddedListen, logged in to as serve's own user.
type ClientConfig struct {
	// Conn is nats.url with its credentials and TLS; Conn.Name is the client's name.
	Conn ConnConfig
	// EmbeddedListen is nats.embedded.listen, dialed when Conn.URL is empty.
	EmbeddedListen string
	// EmbeddedAuth is nats.embedded.auth: the embedded server requires a login.
	EmbeddedAuth bool
	// Given are the embedded server's logins from the config, nil when it gives none; then the
	// credentials file at CredentialsPath (written by serve) holds them.
	Given           *Credentials
	CredentialsPath string
	// Errors receives the connection's asynchronous events (disconnects, reconnects); it must be
	// safe for concurrent use.
	Errors io.Writer
}

// URL is the URL the client connects to: Conn.URL, or the embedded server's listen address.
func (c ClientConfig) URL() (string, error) {
	if c.Conn.URL != "" {
		return c.Conn.URL, nil
	}
	host, port, err := net.SplitHostPort(c.EmbeddedListen)
	if err != nil {
		return "", fmt.Errorf("nats.embedded.listen %q: %w", c.EmbeddedListen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("nats.embedded.listen %q picks a random port: give --nats-url", c.EmbeddedListen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "nats://" + net.JoinHostPort(host, port), nil
}

// embeddedLogin is how a client logs in to the embedded server that serve runs with the same
// config: as user avatarbus (the commands are the operator's: replay publishes, dlq deletes), with
// the password of the config or of the credentials file serve wrote. None when the config gives
// its own nats credentials (creds, user, token), turns auth off, or the file does not exist yet
// (serve has not run: connecting fails and says so; a server without auth ignores a login, so
// with an explicit URL the file is used when it exists).
func (c ClientConfig) embeddedLogin() ([]nats.Option, error) {
	if !c.EmbeddedAuth || c.Conn.Creds != "" || c.Conn.User != "" || c.Conn.Token != "" {
		return nil, nil
	}
	if c.Given != nil {
		return []nats.Option{c.Given.Avatarbus.Option()}, nil
	}
	creds, err := ReadCredentials(c.CredentialsPath)
	switch {
	case err == nil:
		return []nats.Option{creds.Avatarbus.Option()}, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	default:
		return nil, err
	}
}

// clientOptions are the options of a client connection: fail fast while disconnected (a publish
// is never buffered across a reconnect), reconnect for ever (tail follows across restarts of the
// server), report disconnects on c.Errors.
func (c ClientConfig) clientOptions() ([]nats.Option, error) {
	w := c.Errors
	if w == nil {
		w = io.Discard
	}
	opts := []nats.Option{
		nats.Name(c.Conn.Name),
		nats.Timeout(5 * time.Second),
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(w, "avatarbus: disconnected from NATS (%v); reconnecting\n", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			fmt.Fprintf(w, "avatarbus: reconnected to NATS at %s\n", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			fmt.Fprintf(w, "avatarbus: NATS: %v\n", err)
		}),
	}
	auth, err := c.Conn.AuthOptions()
	if err != nil {
		return nil, err
	}
	login, err := c.embeddedLogin()
	if err != nil {
		return nil, err
	}
	opts = append(opts, PingOptions(c.Conn.PingInterval)...)
	return append(append(opts, auth...), login...), nil
}

// DialClient connects to the server c names and returns the connection with its JetStream
// context. A failure says what to check: the URL, serve, or the embedded server's login.
func DialClient(c ClientConfig) (*nats.Conn, jetstream.JetStream, error) {
	u, err := c.URL()
	if err != nil {
		return nil, nil, err
	}
	opts, err := c.clientOptions()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(u, opts...)
	if err != nil {
		hint := "set nats.url in the config or give --nats-url"
		if errors.Is(err, nats.ErrAuthorization) {
			hint = "the embedded server requires a login: give the --config that serve runs with (its credentials file is " +
				c.CredentialsPath + "), or nats.user/nats.password"
		} else if c.Conn.URL == "" {
			hint = "is avatarbus serve running? it serves NATS at nats.embedded.listen; or " + hint
		}
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w (%s)", redact.URLs(u), err, hint)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
