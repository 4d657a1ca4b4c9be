package platformapi

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/platformapi/platformapitest"
)

const testKey = "key-0123456789abcdef"

var ctx = context.Background()

func TestHeyGenCreate(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		body   string
	}{
		{"some events", []string{"avatar_video.success", "avatar_video.fail"},
			`{"url":"https://hooks.example.com/webhooks/heygen","events":["avatar_video.success","avatar_video.fail"]}`},
		{"all events", nil, `{"url":"https://hooks.example.com/webhooks/heygen"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{
				Method: "POST", Path: "/v3/webhooks/endpoints",
				Header: map[string]string{"X-Api-Key": testKey, "Content-Type": "application/json", "User-Agent": "avatarbus", "Authorization": ""},
				Body:   tt.body, Status: 200,
				Answer: `{"data":{"endpoint_id":"ep_1","url":"https://hooks.example.com/webhooks/heygen","events":null,"status":"enabled","created_at":"2026-01-02T03:04:05Z","secret":"whsec_k7x9m2"}}`,
			})
			h, err := NewHeyGen(Options{Base: base, Key: testKey})
			if err != nil {
				t.Fatal(err)
			}
			w, err := h.Create(ctx, Registration{URL: "https://hooks.example.com/webhooks/heygen", Events: tt.events})
			if err != nil {
				t.Fatal(err)
			}
			want := Webhook{ID: "ep_1", URL: "https://hooks.example.com/webhooks/heygen", Status: "enabled", Created: "2026-01-02T03:04:05Z", Secret: "whsec_k7x9m2"}
			if !reflect.DeepEqual(w, want) {
				t.Fatalf("got %+v, want %+v", w, want)
			}
		})
	}
}

func TestHeyGenListFollowsPages(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100", Header: map[string]string{"X-Api-Key": testKey}, Status: 200,
			Answer: `{"data":[{"endpoint_id":"ep_1","url":"https://a","status":"enabled","created_at":"t1","secret":null}],"has_more":true,"next_token":"tok 2"}`},
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/endpoints", Query: "limit=100&token=tok+2", Header: map[string]string{"X-Api-Key": testKey}, Status: 200,
			Answer: `{"data":[{"endpoint_id":"ep_2","url":"https://b","events":["avatar_video.success"],"status":"disabled","created_at":"t2"}],"has_more":false,"next_token":null}`},
	)
	h, _ := NewHeyGen(Options{Base: base, Key: testKey})
	got, err := h.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{ID: "ep_1", URL: "https://a", Status: "enabled", Created: "t1"},
		{ID: "ep_2", URL: "https://b", Events: []string{"avatar_video.success"}, Status: "disabled", Created: "t2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestHeyGenDeleteAndRotate(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "DELETE", Path: "/v3/webhooks/endpoints/ep_1", Header: map[string]string{"X-Api-Key": testKey, "Content-Type": ""}, Status: 200, Answer: `{"data":{},"error":null}`},
		platformapitest.Call{Method: "POST", Path: "/v3/webhooks/endpoints/ep_2/rotate-secret", Header: map[string]string{"X-Api-Key": testKey}, Status: 200,
			Answer: `{"data":{"endpoint_id":"ep_2","secret":"whsec_new"}}`},
	)
	h, _ := NewHeyGen(Options{Base: base, Key: testKey})
	if err := h.Delete(ctx, "ep_1"); err != nil {
		t.Fatal(err)
	}
	w, err := h.Rotate(ctx, "ep_2")
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "ep_2" || w.Secret != "whsec_new" {
		t.Fatalf("rotate: %+v", w)
	}
}

func TestSynthesia(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "POST", Path: "/v2/webhooks", Header: map[string]string{"Authorization": testKey, "Content-Type": "application/json"},
			Body:   `{"url":"https://hooks.example.com/webhooks/synthesia","events":["video.completed","video.failed"]}`,
			Status: 201, Answer: `{"id":"wh_1","url":"https://hooks.example.com/webhooks/synthesia","status":"active","secret":"1234-abcd","createdAt":1700000000,"lastUpdatedAt":1700000000}`},
		platformapitest.Call{Method: "GET", Path: "/v2/webhooks", Query: "limit=100&offset=0", Header: map[string]string{"Authorization": testKey}, Status: 200,
			Answer: `{"webhooks":[{"id":"wh_1","url":"https://x","status":"active","createdAt":1700000000}],"nextOffset":1}`},
		platformapitest.Call{Method: "DELETE", Path: "/v2/webhooks/wh_1", Header: map[string]string{"Authorization": testKey}, Status: 204},
	)
	s, _ := NewSynthesia(Options{Base: base, Key: testKey})
	w, err := s.Create(ctx, Registration{URL: "https://hooks.example.com/webhooks/synthesia"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "wh_1" || w.Secret != "1234-abcd" || w.Created != "1700000000" || w.Status != "active" {
		t.Fatalf("create: %+v", w)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "wh_1" || list[0].Secret != "" {
		t.Fatalf("list: %+v", list)
	}
	if err := s.Delete(ctx, "wh_1"); err != nil {
		t.Fatal(err)
	}
}

func TestSynthesiaRefusesUnknownEventsWithoutACall(t *testing.T) {
	s, _ := NewSynthesia(Options{Base: platformapitest.Serve(t), Key: testKey})
	_, err := s.Create(ctx, Registration{URL: "https://x", Events: []string{"video.done"}})
	if !errors.Is(err, ErrEvents) || !strings.Contains(err.Error(), "video.done") {
		t.Fatalf("err = %v, want ErrEvents naming video.done", err)
	}
}

func TestElevenLabs(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "POST", Path: "/v1/workspace/webhooks", Header: map[string]string{"xi-api-key": testKey, "Content-Type": "application/json"},
			Body:   `{"settings":{"auth_type":"hmac","name":"avatarbus","webhook_url":"https://hooks.example.com/webhooks/elevenlabs"}}`,
			Status: 200, Answer: `{"webhook_id":"w_1","webhook_secret":"wsec_abc"}`},
		platformapitest.Call{Method: "GET", Path: "/v1/workspace/webhooks", Header: map[string]string{"xi-api-key": testKey}, Status: 200,
			Answer: `{"webhooks":[{"name":"avatarbus","webhook_id":"w_1","webhook_url":"https://x","is_disabled":false,"is_auto_disabled":true,"created_at_unix":1700000000,"auth_type":"hmac"}]}`},
		platformapitest.Call{Method: "DELETE", Path: "/v1/workspace/webhooks/w_1", Header: map[string]string{"xi-api-key": testKey}, Status: 200, Answer: `{}`},
	)
	e, _ := NewElevenLabs(Options{Base: base, Key: testKey})
	w, err := e.Create(ctx, Registration{URL: "https://hooks.example.com/webhooks/elevenlabs"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "w_1" || w.Secret != "wsec_abc" {
		t.Fatalf("create: %+v", w)
	}
	list, err := e.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Webhook{{ID: "w_1", URL: "https://x", Status: "auto-disabled", Created: "1700000000"}}; !reflect.DeepEqual(list, want) {
		t.Fatalf("list: %+v", list)
	}
	if err := e.Delete(ctx, "w_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create(ctx, Registration{URL: "https://x", Events: []string{"post_call_transcription"}}); !errors.Is(err, ErrEvents) {
		t.Fatalf("events: err = %v, want ErrEvents", err)
	}
}

func TestAPIErrorsAreClassified(t *testing.T) {
	tests := []struct {
		status  int
		answer  string
		want    error
		message string
	}{
		{401, `{"error":{"code":"invalid_api_key","message":"Invalid API key ` + testKey + `"}}`, ErrUnauthorized, "Invalid API key [redacted]"},
		{403, `{"detail":{"status":"forbidden","message":"missing permission"}}`, ErrUnauthorized, "missing permission"},
		{404, `{"message":"endpoint not found"}`, ErrNotFound, "endpoint not found"},
		{429, `{"msg":"slow   down\nplease"}`, ErrRateLimited, "slow down please"},
		{502, `<html>bad gateway</html>`, ErrServer, "<html>bad gateway</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			base := platformapitest.Serve(t, platformapitest.Call{Method: "DELETE", Path: "/v3/webhooks/endpoints/ep", Status: tt.status, Answer: tt.answer})
			h, _ := NewHeyGen(Options{Base: base, Key: testKey})
			err := h.Delete(ctx, "ep")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			ae, ok := errors.AsType[*APIError](err)
			if !ok || ae.Platform != "heygen" || ae.Status != tt.status || ae.Message != tt.message {
				t.Fatalf("err = %#v, want status %d message %q", err, tt.status, tt.message)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("the API key leaked into %q", err)
			}
		})
	}
}

func TestUnreachableAndTimeout(t *testing.T) {
	h, _ := NewHeyGen(Options{Base: "http://127.0.0.1:1", Key: testKey})
	if _, err := h.List(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("refused: err = %v, want ErrUnreachable", err)
	}

	slow := platformapitest.Hang(t)
	h, _ = NewHeyGen(Options{Base: slow, Key: testKey, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := h.List(ctx)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("slow: err = %v, want ErrUnreachable with timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

func TestOptions(t *testing.T) {
	if _, err := NewHeyGen(Options{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: err = %v", err)
	}
	for _, base := range []string{"ftp://x", "api.heygen.com", "http://x?y=1"} {
		if _, err := NewHeyGen(Options{Key: "k", Base: base}); err == nil {
			t.Fatalf("base %q accepted", base)
		}
	}
	// A base with a path prefix keeps it.
	base := platformapitest.Serve(t, platformapitest.Call{Method: "DELETE", Path: "/proxy/heygen/v3/webhooks/endpoints/a%2Fb", Status: 200, Answer: `{}`})
	h, _ := NewHeyGen(Options{Base: base + "/proxy/heygen/", Key: "k"})
	if err := h.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if err := h.Delete(ctx, ".."); !errors.Is(err, ErrBadID) {
		t.Fatalf(`id "..": err = %v, want ErrBadID`, err)
	}
	if _, err := NewRegistrar("did", Options{Key: "k"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("did registrar: err = %v", err)
	}
	if got := RegistrarPlatforms(); !reflect.DeepEqual(got, []string{"elevenlabs", "heygen", "synthesia"}) {
		t.Fatalf("RegistrarPlatforms = %v", got)
	}
}

func TestHeyGenUpdateEventsAndEventTypes(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "PATCH", Path: "/v3/webhooks/endpoints/ep_1", Header: map[string]string{"X-Api-Key": testKey, "Content-Type": "application/json"},
			Body: `{"events":["avatar_video.fail"]}`, Status: 200,
			Answer: `{"data":{"endpoint_id":"ep_1","url":"https://h/x","events":["avatar_video.fail"],"status":"enabled","secret":"whsec_echoed"}}`},
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/event-types", Header: map[string]string{"X-Api-Key": testKey}, Status: 200,
			Answer: `{"data":[{"event_type":"avatar_video.success","description":"d"}],"has_more":true,"next_token":"t 2"}`},
		platformapitest.Call{Method: "GET", Path: "/v3/webhooks/event-types", Query: "token=t+2", Header: map[string]string{"X-Api-Key": testKey}, Status: 200,
			Answer: `{"data":[{"event_type":"avatar_video.fail","description":"d"}],"has_more":false,"next_token":null}`})
	h, err := NewHeyGen(Options{Base: base, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	w, err := h.UpdateEvents(context.Background(), "ep_1", []string{"avatar_video.fail"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "ep_1" || len(w.Events) != 1 || w.Events[0] != "avatar_video.fail" || w.Secret != "" {
		t.Fatalf("%+v", w)
	}
	names, err := h.EventTypes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "avatar_video.success,avatar_video.fail" {
		t.Fatalf("event types %v", names)
	}
}

func TestElevenLabsEnableRetries(t *testing.T) {
	base := platformapitest.Serve(t,
		platformapitest.Call{Method: "PATCH", Path: "/v1/workspace/webhooks/w_1", Header: map[string]string{"xi-api-key": testKey, "Content-Type": "application/json"},
			Body: `{"is_disabled":false,"name":"avatarbus","retry_enabled":true}`, Status: 200, Answer: `{"status":"ok"}`},
		platformapitest.Call{Method: "PATCH", Path: "/v1/workspace/webhooks/w_2", Body: `{"is_disabled":false,"name":"prod","retry_enabled":true}`,
			Status: 422, Answer: `{"detail":"bad"}`})
	e, err := NewElevenLabs(Options{Base: base, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EnableRetries(context.Background(), "w_1", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.EnableRetries(context.Background(), "w_2", "prod"); err == nil {
		t.Fatal("a 422 was taken for success")
	}
}

func TestCheckEvents(t *testing.T) {
	valid := []string{"b", "a"}
	tests := []struct {
		events []string
		want   string // "" = accepted
	}{
		{nil, ""},
		{[]string{"a", "b"}, ""},
		{[]string{"a", "c", "d"}, `unknown ["c" "d"]; the platform accepts: a, b`},
	}
	for _, tt := range tests {
		err := CheckEvents(tt.events, valid)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.events, err)
			}
			continue
		}
		if !errors.Is(err, ErrEvents) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.events, err, tt.want)
		}
	}
}
