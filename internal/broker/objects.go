package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/record"

	"github.com/avatarbus/avatarbus/subjects"
)

// ObjectsSuffix names the object store bucket of large payloads: stream name + ObjectsSuffix
// (AVATAR_OBJECTS).
const ObjectsSuffix = subjects.ObjectsSuffix

// RefScheme starts every object reference: nats://<bucket>/<object name>. It names a JetStream
// Object Store object; any NATS client with object store support reads it (bucket, then name).
const RefScheme = "nats://"

// DefaultObjectTimeout bounds one object write when ObjectsConfig.Timeout is zero. It is far above
// the publish timeout: a call recording is tens of MiB, written in 128 KiB chunks.
const DefaultObjectTimeout = 20 * time.Second

// ErrBadRef is returned (wrapped) for a string that is not an object reference.
var ErrBadRef = errors.New("not an object reference")

// ObjectsConfig is what avatarbus decides about the object store bucket: like the stream it serves,
// file storage with the stream's replicas, objects kept as long as the events that refer to them.
type ObjectsConfig struct {
	Bucket   string
	Replicas int
	TTL      time.Duration // the stream's max age; 0 keeps objects forever
	// Timeout bounds each Put; 0 = DefaultObjectTimeout.
	Timeout time.Duration
}

// ObjectRef is where a stored object is and what it holds (package record).
type ObjectRef = record.ObjectRef

// Objects stores large payloads in a JetStream Object Store bucket.
type Objects struct {
	js      jetstream.JetStream
	bucket  string
	timeout time.Duration
}

// EnsureObjects creates the bucket or updates it to cfg, as EnsureStream does for the stream.
func EnsureObjects(ctx context.Context, js jetstream.JetStream, cfg ObjectsConfig) error {
	_, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      cfg.Bucket,
		Description: "avatarbus: payload fields too large for an event, referred to by nats:// URLs",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		TTL:         cfg.TTL,
	})
	if err != nil {
		return fmt.Errorf("object store %s: %w", cfg.Bucket, err)
	}
	return nil
}

// NewObjects returns the object store bucket through js. It does not create the bucket (see
// EnsureObjects); timeout bounds each Put (0 = DefaultObjectTimeout).
func NewObjects(js jetstream.JetStream, bucket string, timeout time.Duration) *Objects {
	if timeout <= 0 {
		timeout = DefaultObjectTimeout
	}
	return &Objects{js: js, bucket: bucket, timeout: timeout}
}

// Bucket is the bucket's name.
func (o *Objects) Bucket() string { return o.bucket }

// Put stores data as the object name (replacing an object of that name: a redelivered event
// overwrites its own objects instead of adding new ones) and returns its reference. An error wraps
// ErrUnavailable: the object is not stored, and nothing that refers to it may be published.
func (o *Objects) Put(ctx context.Context, name, contentType string, data []byte) (ObjectRef, error) {
	if nc := o.js.Conn(); !nc.IsConnected() {
		// Fail now rather than wait for the deadline, as Publish does.
		return ObjectRef{}, fmt.Errorf("%w: %s", ErrUnavailable, nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	store, err := o.js.ObjectStore(ctx, o.bucket)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("%w: object store %s: %w", ErrUnavailable, o.bucket, err)
	}
	meta := jetstream.ObjectMeta{Name: name}
	if contentType != "" {
		meta.Headers = nats.Header{"Content-Type": {contentType}}
	}
	info, err := store.Put(ctx, meta, bytes.NewReader(data))
	if err != nil {
		return ObjectRef{}, fmt.Errorf("%w: put object %s: %w", ErrUnavailable, name, err)
	}
	return ObjectRef{URL: o.Ref(name), Name: name, Size: int64(info.Size), Digest: info.Digest}, nil
}

// Ref is the reference URL of the object name in this bucket.
func (o *Objects) Ref(name string) string { return RefScheme + o.bucket + "/" + name }

// ParseRef splits a reference nats://<bucket>/<name> into bucket and name.
func ParseRef(ref string) (bucket, name string, err error) {
	rest, ok := strings.CutPrefix(ref, RefScheme)
	if !ok {
		return "", "", fmt.Errorf("%w: %q does not start with %s", ErrBadRef, ref, RefScheme)
	}
	bucket, name, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || name == "" {
		return "", "", fmt.Errorf("%w: %q is not %s<bucket>/<name>", ErrBadRef, ref, RefScheme)
	}
	return bucket, name, nil
}

// ObjectInfo is what the bucket knows about an object.
type ObjectInfo struct {
	Bucket, Name, ContentType, Digest string
	Size                              int64
	Modified                          time.Time
}

// Info returns what the bucket knows about the object name.
func (o *Objects) Info(ctx context.Context, name string) (ObjectInfo, error) {
	store, err := o.js.ObjectStore(ctx, o.bucket)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("object store %s: %w", o.bucket, err)
	}
	info, err := store.GetInfo(ctx, name)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("object %s: %w", name, err)
	}
	return objectInfo(info), nil
}

// Get streams the object name into w and returns its info. The object store's reader checks the
// digest at the end (jetstream.ErrDigestMismatch); Get checks it again on the bytes it wrote, so
// a copy it reports as complete is the stored object.
func (o *Objects) Get(ctx context.Context, name string, w io.Writer) (ObjectInfo, error) {
	store, err := o.js.ObjectStore(ctx, o.bucket)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("object store %s: %w", o.bucket, err)
	}
	res, err := store.Get(ctx, name)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("object %s: %w", name, err)
	}
	defer res.Close()
	ri, err := res.Info()
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("object %s: %w", name, err)
	}
	info := objectInfo(ri)
	h := newDigest()
	n, err := io.Copy(io.MultiWriter(w, h), res)
	if err != nil {
		return info, fmt.Errorf("object %s: %w", name, err)
	}
	if n != info.Size {
		return info, fmt.Errorf("object %s: read %d bytes, the object has %d", name, n, info.Size)
	}
	if got := h.value(); got != info.Digest {
		return info, fmt.Errorf("object %s: %w: read %s, stored %s", name, jetstream.ErrDigestMismatch, got, info.Digest)
	}
	return info, nil
}

func objectInfo(i *jetstream.ObjectInfo) ObjectInfo {
	return ObjectInfo{
		Bucket: i.Bucket, Name: i.Name, ContentType: i.Headers.Get("Content-Type"), Digest: i.Digest,
		Size: int64(i.Size), Modified: i.ModTime,
	}
}

// digest computes an object store digest ("SHA-256=<base64url>") while bytes are written to it.
type digest struct{ hash.Hash }

func newDigest() digest { return digest{sha256.New()} }

func (d digest) value() string { return jetstream.GetObjectDigestValue(d.Hash) }

// Digest returns the object store digest of b, as ObjectRef.Digest and the bucket hold it.
func Digest(b []byte) string {
	d := newDigest()
	d.Write(b)
	return d.value()
}
