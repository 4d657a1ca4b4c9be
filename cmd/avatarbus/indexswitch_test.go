package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/index"
)

// TestServeWithIndexOff: with index.enabled: false serve makes no index writer (no durable, no
// bucket), still records route attempts (their stream exists), and its admin API says the index
// is off.
func TestServeWithIndexOff(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	cfg := mustLoadConfig(t, acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream"))+"index: {enabled: false}\n")
	if cfg.Index.Enabled {
		t.Fatal("index.enabled: false not loaded")
	}
	startServe(t, cfg)
	_, js := connectEmbedded(t, natsListen)
	ctx := context.Background()
	if _, err := js.Consumer(ctx, "AVATAR", index.Durable); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("consumer %s: %v, want not found", index.Durable, err)
	}
	if _, err := js.KeyValue(ctx, "AVATAR"+index.BucketSuffix); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("bucket AVATAR_INDEX: %v, want not found", err)
	}
	if _, err := js.Stream(ctx, attemptsStream(cfg)); err != nil {
		t.Errorf("attempts stream: %v, want it kept with the index off", err)
	}
	rec := httptest.NewRecorder()
	adminAPIHandler(cfg, js, zerolog.Nop()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/timeline?correlation_id=job-42", nil))
	if rec.Code != http.StatusOK || rec.Header().Get(adminapi.IndexHeader) != "off" {
		t.Errorf("admin API: %d, %s %q, want 200 and off", rec.Code, adminapi.IndexHeader, rec.Header().Get(adminapi.IndexHeader))
	}
}
