package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/internal/platformapi/platformapitest"
)

const heygenCreated = `{"data":{"endpoint_id":"ep_1","url":"https://hooks.example.com/webhooks/heygen","events":["avatar_video.success"],"status":"enabled","created_at":"2026-01-02T03:04:05Z","secret":"whsec_c2VjcmV0LXZhbHVl"}}`

// heygenEventTypes answers GET /v3/webhooks/event-types as developers.heygen.com/docs/webhook-events shows.
var heygenEventTypes = platformapitest.Call{Method: "GET", Path: "/v3/webhooks/event-types", Header: map[string]string{"X-Api-Key": "hg-key"}, Status: 200,
	Answer: `{"data":[{"event_type":"avatar_video.success","description":"Fired when an avatar video completes successfully."},` +
		`{"event_type":"avatar_video.fail","description":"Fired when an avatar video generation fails."},` +
		`{"event_type":"video_translate.success","description":"Video translation completed."}],"has_more":false,"next_token":null}`}

// heygenNoEndpoints answers the endpoint listing with none registered.
var heygenNoEndpoints = platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100", Header: map[string]string{"X-Api-Key": "hg-key"},
	Status: 200, Answer: `{"data":[],"has_more":false,"next_token":null}`}

func TestRegisterHeyGenWritesTheSecret(t *testing.T) {
	t.Setenv("HEYGEN_API_KEY", "hg-key")
	base := platformapitest.Serve(t, heygenEventTypes, heygenNoEndpoints, platformapitest.Call{Method: "POST", Path: "/v3/webhooks/endpoints",
		Header: map[string]string{"X-Api-Key": "hg-key", "Content-Type": "application/json"},
		Body:   `{"url":"https://hooks.example.com/webhooks/heygen","events":["avatar_video.success","avatar_video.fail"]}`,
		Status: 200, Answer: heygenCreated})
	file := filepath.Join(t.TempDir(), "heygen.secret")
	r := runCLI(t, "", "register", "heygen", "--url", "https://hooks.example.com/webhooks/heygen",
		"--events", "avatar_video.success,avatar_video.fail", "--write-secret", file, "--api-base", base)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil || string(b) != "whsec_c2VjcmV0LXZhbHVl\n" {
		t.Fatalf("secret file: %q, %v", b, err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %04o, want 0600", st.Mode().Perm())
	}
	if strings.Contains(r.stdout+r.stderr, "whsec_") {
		t.Fatalf("the secret was printed without --show-secret:\n%s", r.stdout)
	}
	for _, want := range []string{"Registered heygen webhook ep_1", "- name: heygen", "platform: heygen", `secrets: ["@` + file + `"]`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".heygen.secret.*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestRegisterShowSecretAndSourceName(t *testing.T) {
	base := platformapitest.Serve(t, platformapitest.Call{Method: "POST", Path: "/v1/workspace/webhooks",
		Header: map[string]string{"xi-api-key": "el-key"},
		Body:   `{"settings":{"auth_type":"hmac","name":"prod","webhook_url":"https://hooks.example.com/webhooks/voice"}}`,
		Status: 200, Answer: `{"webhook_id":"w_1","webhook_secret":"wsec_shown"}`},
		// Retries on, with the fields the endpoint requires (elevenlabs-python webhooks update).
		platformapitest.Call{Method: "PATCH", Path: "/v1/workspace/webhooks/w_1", Header: map[string]string{"xi-api-key": "el-key", "Content-Type": "application/json"},
			Body: `{"is_disabled":false,"name":"prod","retry_enabled":true}`, Status: 200, Answer: `{"status":"ok"}`})
	r := runCLI(t, "", "register", "elevenlabs", "--url", "https://hooks.example.com/webhooks/voice", "--name", "prod",
		"--show-secret", "--api-key", "el-key", "--api-base", base)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{"Secret: wsec_shown", "Retries turned on", "- name: voice", `"${ELEVENLABS_WEBHOOK_SECRET}"`, "Post-call webhook"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestRegisterRefusesBeforeCallingTheAPI(t *testing.T) {
	base := platformapitest.Serve(t) // any request fails the test
	t.Setenv("HEYGEN_API_KEY", "hg-key")
	t.Setenv("SYNTHESIA_API_KEY", "")
	open := filepath.Join(t.TempDir(), "open.secret")
	if err := os.WriteFile(open, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nowhere to keep the secret", []string{"register", "heygen", "--url", "https://h.example/webhooks/heygen"}, "--write-secret"},
		{"file readable by others", []string{"register", "heygen", "--url", "https://h.example/webhooks/heygen", "--write-secret", open}, "mode 0644"},
		{"no key", []string{"register", "synthesia", "--url", "https://h.example/webhooks/s", "--show-secret"}, "SYNTHESIA_API_KEY"},
		{"no API", []string{"register", "did", "--url", "https://h.example/webhooks/did", "--show-secret"}, "callback-url"},
		{"bad url", []string{"register", "heygen", "--url", "hooks.example.com", "--show-secret"}, "absolute https URL"},
		{"synthesia event", []string{"register", "synthesia", "--url", "https://h.example/webhooks/s", "--show-secret", "--api-key", "k", "--events", "video.done"}, "video.done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append(tt.args, "--api-base", base)...)
			if r.code() == 0 || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("exit %d, err %v; want an error mentioning %q", r.code(), r.err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(open); string(b) != "old\n" {
		t.Fatalf("the refused file was changed: %q", b)
	}
}

func TestRegisterAPIErrorsExitNonZero(t *testing.T) {
	tests := []struct {
		status int
		answer string
		want   []string
	}{
		{401, `{"message":"Invalid API key"}`, []string{"401 Unauthorized", "Invalid API key", "SYNTHESIA_API_KEY"}},
		{429, `{"message":"Too many requests"}`, []string{"429 Too Many Requests", "retry in a minute"}},
		{500, `oops`, []string{"500 Internal Server Error", "retry later"}},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{Method: "POST", Path: "/v2/webhooks", Header: map[string]string{"Authorization": "syn-key"},
				Body: `{"url":"https://h.example/webhooks/synthesia","events":["video.completed","video.failed"]}`, Status: tt.status, Answer: tt.answer})
			file := filepath.Join(t.TempDir(), "s.secret")
			r := runCLI(t, "", "register", "synthesia", "--url", "https://h.example/webhooks/synthesia", "--write-secret", file,
				"--api-key", "syn-key", "--api-base", base)
			if r.code() != 1 {
				t.Fatalf("exit %d (%v), want 1", r.code(), r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q lacks %q", r.err, w)
				}
			}
			if strings.Contains(r.err.Error(), "syn-key") {
				t.Fatalf("the API key leaked: %v", r.err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 0 {
				t.Fatalf("files left after a failed registration: %v", entries)
			}
		})
	}
}

func TestWebhooksListDeleteRotate(t *testing.T) {
	t.Setenv("HEYGEN_API_KEY", "hg-key")
	file := filepath.Join(t.TempDir(), "heygen.secret")
	if err := os.WriteFile(file, []byte("whsec_old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := `{"data":[{"endpoint_id":"ep_1","url":"https://h.example/webhooks/heygen","events":null,"status":"enabled","created_at":"2026-01-02T03:04:05Z","secret":null}],"has_more":false}`
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100", Header: map[string]string{"X-Api-Key": "hg-key"}, Status: 200, Answer: list},
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100", Status: 200, Answer: list},
		platformapitest.Call{Method: "POST", Path: "/v3/webhooks/endpoints/ep_1/rotate-secret", Header: map[string]string{"X-Api-Key": "hg-key"}, Status: 200,
			Answer: `{"data":{"endpoint_id":"ep_1","secret":"whsec_new"}}`},
		platformapitest.Call{Method: "DELETE", Path: "/v3/webhooks/endpoints/ep_1", Header: map[string]string{"X-Api-Key": "hg-key"}, Status: 200, Answer: `{"data":{}}`},
		platformapitest.Call{Method: "DELETE", Path: "/v3/webhooks/endpoints/ep_404", Status: 404, Answer: `{"error":{"message":"endpoint not found"}}`},
	)
	r := runCLI(t, "", "webhooks", "list", "heygen", "--api-base", base)
	if r.err != nil || !strings.Contains(r.stdout, "ep_1") || !strings.Contains(r.stdout, "enabled") || !strings.Contains(r.stdout, "https://h.example/webhooks/heygen") {
		t.Fatalf("list: %v\n%s", r.err, r.stdout)
	}
	r = runCLI(t, "", "webhooks", "list", "heygen", "--json", "--api-base", base)
	var hooks []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &hooks); err != nil || len(hooks) != 1 || hooks[0]["id"] != "ep_1" {
		t.Fatalf("list --json: %v %v\n%s", r.err, err, r.stdout)
	}
	r = runCLI(t, "", "webhooks", "rotate", "heygen", "ep_1", "--write-secret", file, "--api-base", base)
	if r.err != nil {
		t.Fatalf("rotate: %v", r.err)
	}
	if b, _ := os.ReadFile(file); string(b) != "whsec_new\n" || strings.Contains(r.stdout, "whsec_new") || !strings.Contains(r.stdout, "SIGHUP") {
		t.Fatalf("rotate: file %q, stdout:\n%s", b, r.stdout)
	}
	if r = runCLI(t, "", "webhooks", "delete", "heygen", "ep_1", "--api-base", base); r.err != nil || !strings.Contains(r.stdout, "Deleted heygen webhook ep_1") {
		t.Fatalf("delete: %v %s", r.err, r.stdout)
	}
	if r = runCLI(t, "", "webhooks", "delete", "heygen", "ep_404", "--api-base", base); r.code() != 1 || !strings.Contains(r.err.Error(), "endpoint not found") {
		t.Fatalf("delete unknown: exit %d %v", r.code(), r.err)
	}
	if r = runCLI(t, "", "webhooks", "rotate", "synthesia", "wh_1", "--show-secret", "--api-key", "k"); r.code() == 0 || !strings.Contains(r.err.Error(), "cannot rotate") {
		t.Fatalf("rotate synthesia: exit %d %v", r.code(), r.err)
	}
}

// TestRegisterHeyGenUpdatesAnExistingEndpoint: a second register of the same URL replaces the
// endpoint's events (PATCH) instead of creating another endpoint, and writes no secret.
func TestRegisterHeyGenUpdatesAnExistingEndpoint(t *testing.T) {
	t.Setenv("HEYGEN_API_KEY", "hg-key")
	const u = "https://hooks.example.com/webhooks/heygen"
	base := platformapitest.Serve(t, heygenEventTypes,
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100", Header: map[string]string{"X-Api-Key": "hg-key"}, Status: 200,
			Answer: `{"data":[{"endpoint_id":"ep_other","url":"https://elsewhere.example/x","events":null,"status":"enabled","secret":null},` +
				`{"endpoint_id":"ep_9","url":"` + u + `","events":["avatar_video.success"],"status":"enabled","secret":null}],"has_more":false}`},
		platformapitest.Call{Method: "PATCH", Path: "/v3/webhooks/endpoints/ep_9", Header: map[string]string{"X-Api-Key": "hg-key", "Content-Type": "application/json"},
			Body:   `{"events":["avatar_video.success","video_translate.success"]}`,
			Status: 200, Answer: `{"data":{"endpoint_id":"ep_9","url":"` + u + `","events":["avatar_video.success","video_translate.success"],"status":"enabled"}}`})
	file := filepath.Join(t.TempDir(), "heygen.secret")
	r := runCLI(t, "", "register", "heygen", "--url", u, "--events", "avatar_video.success,video_translate.success", "--write-secret", file, "--api-base", base)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{"Updated heygen webhook ep_9", "now avatar_video.success,video_translate.success (were avatar_video.success)", "No new secret"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a secret file was written on update: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".heygen.secret.*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestRegisterHeyGenRefusesUnknownEvents: an event name HeyGen does not list is refused after the
// event-types call, before anything is created or changed (the fake fails on any further call).
func TestRegisterHeyGenRefusesUnknownEvents(t *testing.T) {
	t.Setenv("HEYGEN_API_KEY", "hg-key")
	base := platformapitest.Serve(t, heygenEventTypes)
	r := runCLI(t, "", "register", "heygen", "--url", "https://hooks.example.com/webhooks/heygen",
		"--events", "avatar_video.success,video.completed", "--show-secret", "--api-base", base)
	if r.code() != 2 {
		t.Fatalf("exit %d, want 2: %v", r.code(), r.err)
	}
	for _, want := range []string{`"video.completed"`, "avatar_video.fail, avatar_video.success, video_translate.success", "nothing was changed"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, r.err)
		}
	}
}

// TestRegisterElevenLabsRetryFailureIsAWarning: the webhook is registered and its secret kept even
// when turning retries on fails.
func TestRegisterElevenLabsRetryFailureIsAWarning(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "POST", Path: "/v1/workspace/webhooks", Header: map[string]string{"xi-api-key": "el-key"},
			Body:   `{"settings":{"auth_type":"hmac","name":"avatarbus","webhook_url":"https://hooks.example.com/webhooks/elevenlabs"}}`,
			Status: 200, Answer: `{"webhook_id":"w_2","webhook_secret":"wsec_kept"}`},
		platformapitest.Call{Method: "PATCH", Path: "/v1/workspace/webhooks/w_2", Body: `{"is_disabled":false,"name":"avatarbus","retry_enabled":true}`,
			Status: 422, Answer: `{"detail":"retry_enabled is not available on this plan"}`})
	file := filepath.Join(t.TempDir(), "el.secret")
	r := runCLI(t, "", "register", "elevenlabs", "--url", "https://hooks.example.com/webhooks/elevenlabs",
		"--write-secret", file, "--api-key", "el-key", "--api-base", base)
	if r.err != nil {
		t.Fatalf("a failed retry switch failed the registration: %v\n%s", r.err, r.stderr)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "wsec_kept\n" {
		t.Fatalf("secret file %q, %v", b, err)
	}
	if !strings.Contains(r.stderr, "warning: the webhook is registered, but its retries could not be turned on") || strings.Contains(r.stdout, "Retries turned on") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}
