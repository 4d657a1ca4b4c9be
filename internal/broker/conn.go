package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/redact"
)

// ConnConfig says how to reach an external NATS server or cluster.
type ConnConfig struct {
	URL      string // one or more comma-separated URLs
	Creds    string // creds file
	User     string
	Password string
	Token    string
	TLS      TLSConfig
	Name     string // connection name shown by the server
	// PingInterval is how often the connection is checked; 0 means DefaultPingInterval.
	PingInterval time.Duration
}

// DefaultPingInterval is how often avatarbus pings its NATS server. A connection that misses
// MaxPingsOutstanding pings in a row is declared stale and replaced (another node of the cluster,
// or the same server again), so a silent partition — no FIN, no RST — is noticed within about
// three intervals instead of nats.go's default of minutes, while every request meanwhile gets 503.
const DefaultPingInterval = 5 * time.Second

// MaxPingsOutstanding is how many pings may go unanswered before the connection is stale.
const MaxPingsOutstanding = 2

// PingOptions are the nats.go options that detect a dead connection after interval (0: the
// default); every long-lived client of avatarbus (serve, tail, forward) uses them.
func PingOptions(interval time.Duration) []nats.Option {
	if interval <= 0 {
		interval = DefaultPingInterval
	}
	return []nats.Option{nats.PingInterval(interval), nats.MaxPingsOutstanding(MaxPingsOutstanding)}
}

// TLSConfig holds client TLS settings; all empty means TLS only if the URL says tls://.
type TLSConfig struct {
	CA, Cert, Key      string
	InsecureSkipVerify bool
}

// connHandlers are what the connection callbacks need.
type connHandlers struct {
	log         zerolog.Logger
	closing     *atomic.Bool
	onReconnect func()
}

// connOptions are the options every avatarbus connection uses. Publishing must fail fast while
// disconnected (ReconnectBufSize -1): a publish buffered across a reconnect is not stored, and the
// ingest answers 2xx only for stored events.
func connOptions(name string, ping time.Duration, h connHandlers) []nats.Option {
	log := h.log
	return append(PingOptions(ping),
		nats.Name(name),
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.Timeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if h.closing.Load() {
				return
			}
			log.Warn().Err(err).Msg("disconnected from NATS; answering 503 until reconnected")
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info().Str("url", c.ConnectedUrlRedacted()).Msg("reconnected to NATS")
			if h.onReconnect != nil {
				go h.onReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("NATS async error")
		}),
	)
}

// AuthOptions are the nats.go options for cfg's credentials and TLS: what every client of the same
// server needs, whatever else it sets (serve's publisher, tail, replay, forward).
func (cfg ConnConfig) AuthOptions() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case cfg.Creds != "":
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.Cert != "" || cfg.TLS.Key != "" {
		if cfg.TLS.Cert == "" || cfg.TLS.Key == "" {
			return nil, errors.New("nats tls: cert and key must be set together")
		}
		opts = append(opts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	if cfg.TLS.InsecureSkipVerify {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec // explicit operator opt-in
	}
	return opts, nil
}

// dialExternal connects to the NATS server(s) of cfg.
func dialExternal(cfg ConnConfig, h connHandlers) (*nats.Conn, error) {
	auth, err := cfg.AuthOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.URL, append(connOptions(cfg.Name, cfg.PingInterval, h), auth...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redact.URLs(cfg.URL), err)
	}
	return nc, nil
}

// dialEmbedded connects to the in-process server without a socket, logging in with login; srv is
// asked for a new pipe on every reconnect (a restarted server: see serverSwitch).
func dialEmbedded(srv nats.InProcessConnProvider, name string, h connHandlers, login ...nats.Option) (*nats.Conn, error) {
	opts := append(connOptions(name, 0, h), nats.InProcessServer(srv))
	nc, err := nats.Connect("", append(opts, login...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded NATS: %w", err)
	}
	return nc, nil
}
