package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/router"
)

// TestAdminAPIMounting: beyond loopback without admin_token the API is not there at all; with a
// token it asks for it; /healthz stays open either way.
func TestAdminAPIMounting(t *testing.T) {
	tests := []struct {
		listen, token string
		api           int // status of GET /api/v1/events without credentials
	}{
		{"0.0.0.0:9090", "", http.StatusNotFound},
		{"192.0.2.1:9090", "", http.StatusNotFound},
		{"0.0.0.0:9090", "tok", http.StatusUnauthorized},
		{"127.0.0.1:9090", "tok", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		cfg := &config.Config{AdminListen: tt.listen, AdminToken: tt.token, Stream: config.Stream{Name: "AVATAR", SubjectPrefix: "avatar"}}
		h := adminAPIHandler(cfg, nil, zerolog.Nop())
		admin := ingest.NewAdmin(ingest.AdminConfig{API: h, Log: zerolog.Nop()})
		for path, want := range map[string]int{"/api/v1/events": tt.api, "/healthz": http.StatusOK} {
			rec := httptest.NewRecorder()
			admin.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("%s token %q: GET %s = %d, want %d", tt.listen, tt.token, path, rec.Code, want)
			}
		}
	}
}

func TestAdminAPIRedriveOne(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: router.DefaultDeadLetterStream, Subjects: []string{"dlq.>"}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("webhook-id"))
		mu.Unlock()
	}))
	defer rc.Close()
	letter := func(consumer, id string) uint64 {
		h := nats.Header{}
		h.Set(router.HeaderDeadLetterConsumer, consumer)
		h.Set(router.HeaderDeadLetterSubject, "avatar.video.completed.heygen")
		h.Set(router.HeaderDeadLetterSequence, "1")
		h.Set(router.HeaderDeadLetterReason, "500")
		body := `{"specversion":"1.0","id":"` + id + `","source":"/platforms/heygen","type":"avatar.video.completed","platform":"heygen","data":{"raw":{}}}`
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: "dlq.avatar.video.completed.heygen", Data: []byte(body), Header: h})
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	cfg := &config.Config{Stream: config.Stream{Name: "AVATAR", SubjectPrefix: "avatar"}, Routes: []config.Route{{Name: "crm", URL: rc.URL}}}
	redrive := redriveOne(cfg, js, map[string]deliver.Target{"crm": {URL: rc.URL}})
	ok, gone := letter("route-crm", "evt-1"), letter("route-gone", "evt-2")
	if err := redrive(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "evt-1" {
		t.Errorf("route got %v, want [evt-1]", got)
	}
	if err := redrive(ctx, ok); !errors.Is(err, adminapi.ErrNotFound) {
		t.Errorf("second redrive of %d: %v, want ErrNotFound (deleted)", ok, err)
	}
	if err := redrive(ctx, gone); !errors.Is(err, adminapi.ErrBadRequest) {
		t.Errorf("dead letter of an unconfigured route: %v, want ErrBadRequest", err)
	}
}

// TestServeRefusesAnOpenAdminAPI: DESIGN §12 — serve does not start with admin_listen beyond
// loopback and no admin_token (it would open /api/v1 and /ui to the network); with a token from
// the environment the same file is accepted.
func TestServeRefusesAnOpenAdminAPI(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	yaml := strings.Replace(acmeConfig(listen, freeAddr(t), filepath.Join(dir, "js")),
		`admin_listen: "127.0.0.1:0"`, `admin_listen: "0.0.0.0:0"`, 1)
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)

	res := runCLI(t, "", "serve", "--config", cfgPath)
	if res.code() != 2 || !strings.Contains(res.err.Error(), `admin_listen: "0.0.0.0:0" is reachable beyond this host and admin_token is empty`) {
		t.Fatalf("serve: exit %d, err %v; want 2 and the admin_listen problem", res.code(), res.err)
	}
	if _, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
		t.Errorf("the ingest port %s is open: serve started", listen)
	}

	withToken := yaml + "admin_token: \"${TEST_ADMIN_TOKEN}\"\n"
	t.Setenv("TEST_ADMIN_TOKEN", "a-long-enough-admin-token-0123456789")
	if _, _, err := config.Load(config.LoadOptions{Path: writeFile(t, dir, "with-token.yaml", withToken)}); err != nil {
		t.Errorf("with admin_token from the environment: %v", err)
	}
}
