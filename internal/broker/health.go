package broker

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Storage health: "can store", not only "connected".
//
// When a JetStream file store fails a write (too many open files, disk errors), nats-server
// v2.15.2 keeps the error on the store and on the stream and returns it for every later write
// without answering the publisher (server/filestore.go setWriteErr: "Critical write error";
// server/stream.go processJetStreamMsg: "We don't want to respond back to the user" then
// mset.setWriteErrLocked). The stream stays listed and the connection stays up, so the only
// sign a client sees is that acks stop coming. Nothing clears the error but a new store: the
// stream's recovery from disk when the server starts again. The server's own health check
// reports it (server/monitor.go healthz: "JetStream stream '$G > AVATAR' write error: ...").
// CONFIRMED: read in github.com/nats-io/nats-server v2.15.2 (the version in go.mod), and
// reproduced by cmd/avatarbus TestServeSurvivesIdleConnectionFlood and
// TestEmbeddedStoreWriteErrorHeals (the write that fails is the store's periodic sync opening
// msgs/index.db: "open .../msgs/index.db: too many open files").
//
// So readiness fails when a publish failed for a storage reason (an ack that did not come while
// connected, or a store-failure API error) within StorageFailureWindow, and, with the embedded
// server, when the server's own health check (Server.Healthz) reports a failure. That check
// cannot see while the process has no file handle left (it lists the store directory and ignores
// the error), hence the publish outcomes too. With the embedded server, the broker restarts the
// server in process on the same store and port when its health check fails; its connection
// reconnects by itself (see serverSwitch). With an external server, which avatarbus cannot
// restart, and with an embedded one that does not come back, the broker reports a fatal error
// (Fatal) once storing has failed for longer than Config.StorageFailureExit, so that serve exits
// non-zero and its supervisor restarts it.

// ErrStorage is returned (wrapped with the cause) by Ready when JetStream cannot store now.
var ErrStorage = errors.New("jetstream cannot store")

// StorageFailureWindow is how long a publish that failed for a storage reason keeps an external
// server's readiness failing (unless a publish succeeds meanwhile).
const StorageFailureWindow = 10 * time.Second

// DefaultHealInterval is how often the embedded server's health is checked.
const DefaultHealInterval = time.Second

// JetStream API error codes that mean the server could not store (nats-server
// server/jetstream_errors_generated.go: JSStreamStoreFailedF 10077, JSInsufficientResourcesErr
// 10023).
const (
	errCodeStoreFailed           jetstream.ErrorCode = 10077
	errCodeInsufficientResources jetstream.ErrorCode = 10023
)

// isStorageFailure reports whether a failed publish points at the server's storage: a
// store-failure API error, or an ack that did not come (the publisher fails fast while
// disconnected, so a timeout means the server got the message and did not answer, which is what
// it does on a store write error; an overloaded server does it too, and is not ready either).
func isStorageFailure(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == errCodeStoreFailed || apiErr.ErrorCode == errCodeInsufficientResources
	}
	return errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, errBatchNoAck)
}

// storageState remembers the run of publishes that failed for a storage reason.
type storageState struct {
	mu      sync.Mutex
	since   time.Time // first failure of the current run; zero when the last outcome was a success
	last    time.Time // last failure
	lastErr error
}

// observe records the outcome of a publish (nil: stored).
func (s *storageState) observe(err error, now time.Time) {
	if err != nil && !isStorageFailure(err) {
		return // not a storage reason: says nothing either way
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.since, s.lastErr = time.Time{}, nil
		return
	}
	if s.since.IsZero() {
		s.since = now
	}
	s.last, s.lastErr = now, err
}

// recent returns the last storage failure when it is within StorageFailureWindow of now, and
// when the run of failures began.
func (s *storageState) recent(now time.Time) (err error, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since.IsZero() || now.Sub(s.last) > StorageFailureWindow {
		return nil, time.Time{}
	}
	return s.lastErr, s.since
}

// reset forgets the failures (after the embedded server was restarted).
func (s *storageState) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since, s.lastErr = time.Time{}, nil
}

// serverSwitch is the in-process connection provider of the embedded server that stays valid
// across restarts: nats.go asks it for a new pipe on every reconnect, and gets the current server.
type serverSwitch struct{ cur atomic.Pointer[server.Server] }

func (s *serverSwitch) InProcessConn() (net.Conn, error) {
	srv := s.cur.Load()
	if srv == nil {
		return nil, errors.New("embedded nats: no server")
	}
	return srv.InProcessConn()
}

// embeddedHealth is what the embedded server's own health check says of storing: nil unless
// JetStream is off (nats-server turns it off after a permission error on its store) or some
// stream or consumer keeps a write error. Other findings (a stream being deleted shows as "could
// not be recovered" for a moment) are not storage failures, and Ready checks the stream itself.
func embeddedHealth(srv *server.Server) error {
	h := srv.Healthz(&server.HealthzOptions{Details: true})
	var msgs []string
	for _, e := range h.Errors {
		if e.Type == server.HealthzErrorJetStream || e.Type == server.HealthzErrorConn || strings.Contains(e.Error, "write error") {
			msgs = append(msgs, e.Error)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: embedded server: %s", ErrStorage, strings.Join(msgs, "; "))
}

// storageErr reports why JetStream cannot store now, nil when it can (as far as is known).
func (b *Broker) storageErr(now time.Time) error {
	if srv := b.EmbeddedServer(); srv != nil {
		if err := embeddedHealth(srv); err != nil {
			return err
		}
	}
	if err, _ := b.storage.recent(now); err != nil {
		return fmt.Errorf("%w: a publish failed: %w", ErrStorage, err)
	}
	return nil
}

// EmbeddedServer returns the embedded server running now (it changes when the server is
// restarted), nil with an external server.
func (b *Broker) EmbeddedServer() *server.Server {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	return b.Server
}

// Fatal delivers an error when JetStream has not been able to store for longer than
// Config.StorageFailureExit and avatarbus cannot heal it: the process should exit non-zero so
// that its supervisor restarts it. It never delivers with StorageFailureExit 0.
func (b *Broker) Fatal() <-chan error { return b.fatal }

// reportFatal delivers err on Fatal once.
func (b *Broker) reportFatal(err error) {
	select {
	case b.fatal <- err:
	default:
	}
}

// watchStorage runs until stop is closed: with the embedded server, it restarts the server when
// its health check fails; with either, it reports a fatal error when storing has failed for longer
// than Config.StorageFailureExit.
func (b *Broker) watchStorage(stop <-chan struct{}, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var failingSince time.Time // embedded: first failed health check of the current run
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			if srv := b.EmbeddedServer(); srv != nil {
				err := embeddedHealth(srv)
				if err == nil {
					failingSince = time.Time{}
					continue
				}
				if failingSince.IsZero() {
					failingSince = now
				}
				b.log.Error().Err(err).Msg("embedded JetStream cannot store; restarting it on the same store")
				if rerr := b.restartEmbedded(); rerr != nil {
					b.log.Error().Err(rerr).Msg("embedded NATS restart failed; retrying")
				} else {
					b.storage.reset()
					b.log.Info().Msg("embedded NATS restarted")
				}
				if bound := b.cfg.StorageFailureExit; bound > 0 && now.Sub(failingSince) > bound {
					b.reportFatal(fmt.Errorf("%w for %s, restarting the embedded server did not help: %w", ErrStorage, now.Sub(failingSince).Round(time.Second), err))
				}
				continue
			}
			if err, since := b.storage.recent(now); err != nil {
				if bound := b.cfg.StorageFailureExit; bound > 0 && now.Sub(since) > bound {
					b.reportFatal(fmt.Errorf("%w for %s (external NATS; a restart of avatarbus may reach a healthy server): %w", ErrStorage, now.Sub(since).Round(time.Second), err))
				}
			}
		}
	}
}

// restartEmbedded stops the embedded server and starts it again on the same store and port. The
// connection, which reaches it through b.sw, reconnects by itself and its reconnect handler puts
// the streams back (they are recovered from the store anyway).
func (b *Broker) restartEmbedded() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.closing.Load() || b.Server == nil {
		return nil
	}
	old := b.Server
	old.Shutdown()
	old.WaitForShutdown()
	cfg := b.cfg.Embedded
	cfg.Listen = b.embeddedAddr // the port it had, also when the config said port 0
	srv, err := StartEmbedded(cfg, b.log)
	if err != nil {
		return err // b.Server stays the stopped one: the next check tries again
	}
	b.Server = srv
	b.sw.cur.Store(srv)
	return nil
}
