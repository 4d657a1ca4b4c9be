package broker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// TestObjectsBucket: Open creates the bucket like the stream (file storage, the stream's replicas
// and max age), a second Open with another TTL updates it, and an object put twice under one name
// is one object with the last content.
func TestObjectsBucket(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	cfg := broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(),
		Objects: &broker.ObjectsConfig{Bucket: "AVATAR_OBJECTS", Replicas: 1, TTL: time.Hour}}
	b := open(t, cfg)
	_, js := brokertest.Connect(t, srv.ClientURL())
	status := func() jetstream.ObjectStoreStatus {
		store, err := js.ObjectStore(context.Background(), "AVATAR_OBJECTS")
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.TTL() != time.Hour || st.Replicas() != 1 || st.Storage() != jetstream.FileStorage {
		t.Errorf("bucket: ttl %s replicas %d storage %s", st.TTL(), st.Replicas(), st.Storage())
	}

	o := b.Objects()
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 KB: several chunks
	ref, err := o.Put(ctx, "ev:1/data/full_audio", "audio/mpeg", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	if ref, err = o.Put(ctx, "ev:1/data/full_audio", "audio/mpeg", data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := broker.ObjectRef{URL: "nats://AVATAR_OBJECTS/ev:1/data/full_audio", Name: "ev:1/data/full_audio", Size: int64(len(data)),
		Digest: "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])}
	if ref != want || broker.Digest(data) != want.Digest {
		t.Errorf("ref %+v\nwant %+v", ref, want)
	}
	var got bytes.Buffer
	info, err := o.Get(ctx, ref.Name, &got)
	if err != nil || !bytes.Equal(got.Bytes(), data) || info.ContentType != "audio/mpeg" || info.Digest != ref.Digest {
		t.Fatalf("get: %v, %d bytes, %+v", err, got.Len(), info)
	}
	store, _ := js.ObjectStore(ctx, "AVATAR_OBJECTS")
	if list, err := store.List(ctx); err != nil || len(list) != 1 {
		t.Errorf("bucket lists %d objects (%v), want 1", len(list), err)
	}
	if _, err := o.Info(ctx, "nope"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("info of a missing object: %v", err)
	}

	b.Close()
	cfg.Objects.TTL = 2 * time.Hour
	open(t, cfg)
	if st := status(); st.TTL() != 2*time.Hour {
		t.Errorf("bucket ttl after a restart with 2h: %s", st.TTL())
	}

	// Without the bucket a put fails as unavailable: the caller answers 503.
	if err := js.DeleteObjectStore(ctx, "AVATAR_OBJECTS"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Put(ctx, "ev:2", "", data); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("put without a bucket: %v, want ErrUnavailable", err)
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct{ ref, bucket, name string }{
		{"nats://AVATAR_OBJECTS/elevenlabs:post_call_audio:c1/data/full_audio", "AVATAR_OBJECTS", "elevenlabs:post_call_audio:c1/data/full_audio"},
		{"nats://B/x", "B", "x"},
		{"nats://B/", "", ""},
		{"nats://B", "", ""},
		{"nats:///x", "", ""},
		{"https://B/x", "", ""},
		{"B/x", "", ""},
	}
	for _, tt := range tests {
		bucket, name, err := broker.ParseRef(tt.ref)
		if bucket != tt.bucket || name != tt.name || (err != nil) != (tt.bucket == "") {
			t.Errorf("ParseRef(%q) = %q, %q, %v", tt.ref, bucket, name, err)
		}
		if err != nil && !errors.Is(err, broker.ErrBadRef) {
			t.Errorf("ParseRef(%q): %v does not wrap ErrBadRef", tt.ref, err)
		}
	}
}
