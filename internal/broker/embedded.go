package broker

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// EmbeddedConfig configures the in-process nats-server that avatarbus runs when no external NATS
// URL is configured.
type EmbeddedConfig struct {
	// Listen is the host:port other services connect to. Port 0 picks a free port.
	Listen string
	// StoreDir holds JetStream's files.
	StoreDir string
	// SyncInterval is how often JetStream fsyncs its files; SyncAlways fsyncs every write.
	SyncInterval time.Duration
	SyncAlways   bool
	// ServerName names the server in logs and in the cluster.
	ServerName string
	// NoAuth lets clients in without logging in: any local process can then publish to the stream
	// or purge it. The zero value requires auth, with users AvatarbusUser and ConsumerUser.
	NoAuth bool
	// Credentials are the users' logins; nil means the credentials file, generated on first start.
	Credentials *Credentials
	// CredentialsFile is that file, default <StoreDir>/nats-credentials.json (CredentialsPath).
	CredentialsFile string
}

// CredentialsPath is where generated credentials are kept: CredentialsFile, or the default
// inside the store dir, so they move with the store.
func (cfg EmbeddedConfig) CredentialsPath() string {
	if cfg.CredentialsFile != "" {
		return cfg.CredentialsFile
	}
	return filepath.Join(cfg.StoreDir, CredentialsFileName)
}

// StartEmbedded starts an in-process nats-server with JetStream file storage and waits until it
// accepts connections. Unless cfg.NoAuth, it requires the logins of cfg.Credentials (Open
// resolves them). The caller stops it with Shutdown and WaitForShutdown.
func StartEmbedded(cfg EmbeddedConfig, log zerolog.Logger) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded nats listen %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded nats store_dir: %w", err)
	}
	opts := &server.Options{
		ServerName:   cfg.ServerName,
		Host:         host,
		Port:         port,
		JetStream:    true,
		StoreDir:     cfg.StoreDir,
		SyncInterval: cfg.SyncInterval,
		SyncAlways:   cfg.SyncAlways,
		NoSigs:       true, // avatarbus owns signal handling and stops the server in order
		MaxPayload:   8 << 20,
	}
	if !cfg.NoAuth {
		if cfg.Credentials == nil {
			return nil, fmt.Errorf("%w: embedded nats requires auth but has no credentials", ErrCredentials)
		}
		opts.Users = cfg.Credentials.users() // no NoAuthUser: a client without a login is refused
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.SetLoggerV2(serverLogger{log.With().Str("component", "nats-server").Logger()}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready within 10s (is the port in use? see the log above)")
	}
	return srv, nil
}

// serverLogger writes nats-server's log lines through zerolog.
type serverLogger struct{ log zerolog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) } // the banner is noise at info
func (l serverLogger) Warnf(format string, v ...any) {
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		// The users' passwords are random (or the operator's) and kept in a 0600 file; bcrypt
		// would cost every login ~100ms of CPU, a lever for whoever can reach the port.
		l.log.Debug().Msgf(format, v...)
		return
	}
	l.log.Warn().Msgf(format, v...)
}
func (l serverLogger) Fatalf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l serverLogger) Errorf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l serverLogger) Debugf(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l serverLogger) Tracef(format string, v ...any) { l.log.Trace().Msgf(format, v...) }
