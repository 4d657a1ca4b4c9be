package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
)

// TestConsoleMounting: the console is there exactly when the API is, and with admin_token it
// sends a browser to its login form.
func TestConsoleMounting(t *testing.T) {
	tests := []struct {
		listen, token string
		ui, login     int    // status of GET /ui/ and GET /ui/login without credentials
		location      string // of GET /ui/
	}{
		{"0.0.0.0:9090", "", http.StatusNotFound, http.StatusNotFound, ""},
		{"0.0.0.0:9090", "tok", http.StatusSeeOther, http.StatusOK, "/ui/login"},
		{"127.0.0.1:9090", "tok", http.StatusSeeOther, http.StatusOK, "/ui/login"},
	}
	for _, tt := range tests {
		cfg := &config.Config{AdminListen: tt.listen, AdminToken: tt.token, Stream: config.Stream{Name: "AVATAR", SubjectPrefix: "avatar"}}
		api := adminAPIHandler(cfg, nil, zerolog.Nop())
		admin := ingest.NewAdmin(ingest.AdminConfig{API: api, UI: consoleHandler(cfg, api, zerolog.Nop()), Log: zerolog.Nop()})
		for path, want := range map[string]int{"/ui/": tt.ui, "/ui/login": tt.login} {
			rec := httptest.NewRecorder()
			admin.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("%s token %q: GET %s = %d, want %d", tt.listen, tt.token, path, rec.Code, want)
			}
			if path == "/ui/" && rec.Header().Get("Location") != tt.location {
				t.Errorf("%s token %q: GET /ui/ to %q, want %q", tt.listen, tt.token, rec.Header().Get("Location"), tt.location)
			}
		}
	}
}
