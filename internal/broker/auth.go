package broker

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// The users of the embedded server when it requires auth (EmbeddedConfig.NoAuth false). Without
// them any local process could publish a forged "verified" event, pre-publish a Nats-Msg-Id so the
// genuine webhook is answered duplicate and never stored, or purge the stream.
const (
	// AvatarbusUser has every right: it is avatarbus's own connection and its CLI commands'.
	AvatarbusUser = "avatarbus"
	// ConsumerUser is for other services: read streams, create and use consumers, ack; never
	// publish to the stream subjects, purge, delete or update a stream.
	ConsumerUser = "consumer"
)

// CredentialsFileName is the file in the store dir that holds generated credentials.
const CredentialsFileName = "nats-credentials.json"

// ErrCredentials marks a credentials file that cannot be read, written or used.
var ErrCredentials = errors.New("embedded nats credentials")

// UserPassword is one user's login.
type UserPassword struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Option is the nats.go option that logs in as u.
func (u UserPassword) Option() nats.Option { return nats.UserInfo(u.User, u.Password) }

// Credentials are the logins of the embedded server's two users, as kept in the credentials file.
type Credentials struct {
	Avatarbus UserPassword `json:"avatarbus"`
	Consumer  UserPassword `json:"consumer"`
}

// NewCredentials returns the two users with random passwords (32 bytes from crypto/rand).
func NewCredentials() (Credentials, error) {
	var c Credentials
	for _, u := range []*UserPassword{&c.Avatarbus, &c.Consumer} {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return Credentials{}, fmt.Errorf("%w: random password: %w", ErrCredentials, err)
		}
		u.Password = base64.RawURLEncoding.EncodeToString(b) // never "$2…", which nats-server reads as bcrypt
	}
	c.Avatarbus.User, c.Consumer.User = AvatarbusUser, ConsumerUser
	return c, nil
}

func (c Credentials) check() error {
	if c.Avatarbus.User != AvatarbusUser || c.Consumer.User != ConsumerUser {
		return fmt.Errorf("%w: want users %q and %q", ErrCredentials, AvatarbusUser, ConsumerUser)
	}
	if c.Avatarbus.Password == "" || c.Consumer.Password == "" {
		return fmt.Errorf("%w: empty password", ErrCredentials)
	}
	if c.Avatarbus.Password == c.Consumer.Password {
		return fmt.Errorf("%w: users %s and %s have the same password", ErrCredentials, AvatarbusUser, ConsumerUser)
	}
	return nil
}

// ReadCredentials reads a credentials file written by LoadOrCreateCredentials. Its errors name the
// path, never a password.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("%w: %s is not a credentials file (JSON)", ErrCredentials, path)
	}
	if err := c.check(); err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadOrCreateCredentials reads the credentials file at path, or on first start writes new random
// credentials there (mode 0600, written whole then renamed, so a crash leaves no half file).
// created says which; a file readable by group or others is made 0600 again.
func LoadOrCreateCredentials(path string) (c Credentials, created bool, err error) {
	c, err = ReadCredentials(path)
	if err == nil {
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return Credentials{}, false, fmt.Errorf("%w: %w", ErrCredentials, err)
			}
		}
		return c, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, err
	}
	if c, err = NewCredentials(); err != nil {
		return Credentials{}, false, err
	}
	if err := writeCredentials(path, c); err != nil {
		return Credentials{}, false, err
	}
	return c, true, nil
}

func writeCredentials(path string, c Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	f, err := os.CreateTemp(dir, ".nats-credentials-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone after the rename; removes the leftover of a failure
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp makes 0600 already; say it where it matters
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrCredentials, path, err)
	}
	return nil
}

// users are the embedded server's users for c.
func (c Credentials) users() []*server.User {
	return []*server.User{
		{Username: c.Avatarbus.User, Password: c.Avatarbus.Password}, // nil permissions: everything
		{Username: c.Consumer.User, Password: c.Consumer.Password, Permissions: ConsumerPermissions()},
	}
}

// ConsumerPermissions are the rights of ConsumerUser: the JetStream API requests of a reader
// (nats.go jetstream, the nats CLI's consumer add/next/info and stream info/get/view, avatarbus
// tail), acks and flow-control replies. Anything else it publishes is refused: the stream subjects
// (forged events, planted Nats-Msg-Ids), $JS.API.STREAM.PURGE/DELETE/UPDATE/CREATE, MSG.DELETE.
// It may subscribe to anything (reading is its job), but it may not answer requests it sees
// (no _INBOX publish), so it cannot forge a PubAck. Subjects are nats-server's
// (server/jetstream_api.go, v2.15.2).
func ConsumerPermissions() *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.NAMES",
			"$JS.API.STREAM.LIST",
			"$JS.API.STREAM.INFO.*",
			"$JS.API.STREAM.MSG.GET.*",
			"$JS.API.DIRECT.GET.>",
			"$JS.API.CONSUMER.CREATE.*",   // ephemeral, old form
			"$JS.API.CONSUMER.CREATE.*.>", // named, with or without a filter subject
			"$JS.API.CONSUMER.DURABLE.CREATE.*.*",
			"$JS.API.CONSUMER.NAMES.*",
			"$JS.API.CONSUMER.LIST.*",
			"$JS.API.CONSUMER.INFO.*.*",
			"$JS.API.CONSUMER.DELETE.*.*",
			"$JS.API.CONSUMER.MSG.NEXT.*.*",
			"$JS.ACK.>", // ack, nak, term, in progress
			"$JS.FC.>",  // flow-control replies of push consumers (stream view, ordered consumers)
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{">"}},
	}
}
