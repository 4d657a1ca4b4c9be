package adminapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/adminapi/adminapitest"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/router"
)

const token = "s3cret-admin-token"

var t0 = time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)

type env struct {
	js    jetstream.JetStream
	srv   *httptest.Server // the admin server with the API mounted
	recv  *adminapitest.Receiver
	token string
	idx   *scanIndex // nil unless indexed
}

// setup starts JetStream with the event, dead-letter and quarantine streams, stores 5 events
// (seq 1..5), and serves the API inside ingest's admin server.
func setup(t *testing.T, tok string) *env {
	t.Helper()
	return setupWith(t, tok, false)
}

// scanIndex is the EventIndex fallback of these tests: it reads the whole stream (real JetStream)
// and answers the entries whose id, resource id or correlation id is key, by Time then Seq.
type scanIndex struct {
	js      jetstream.JetStream
	lookups atomic.Int32
}

func (x *scanIndex) Lookup(ctx context.Context, key string) ([]adminapi.Entry, error) {
	x.lookups.Add(1)
	s, err := x.js.Stream(ctx, "AVATAR")
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []adminapi.Entry
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		ev, err := envelope.Unmarshal(m.Data)
		if err != nil || (ev.ID != key && ev.Data.ResourceID != key && ev.CorrelationID != key) {
			continue
		}
		out = append(out, adminapi.Entry{Seq: seq, ID: ev.ID, ResourceID: ev.Data.ResourceID, CorrelationID: ev.CorrelationID,
			Platform: ev.Platform, Type: ev.Type, Time: ev.ReceivedAt})
	}
	return out, nil
}

func setupWith(t *testing.T, tok string, indexed bool) *env {
	t.Helper()
	_, js := brokertest.Connect(t, brokertest.RunJetStream(t).ClientURL())
	adminapitest.Streams(t, js)
	events := []adminapitest.Event{
		{ID: "e1", Platform: "heygen", Type: "avatar.video.completed", Resource: "vid-1", Correlation: "c-1"},
		{ID: "e2", Platform: "did", Type: "avatar.video.completed", Resource: "talk-1"},
		{ID: "e3", Platform: "heygen", Type: "avatar.video.failed", Resource: "vid-2", Correlation: "c-1"},
		{ID: "e4", Platform: "tavus", Type: "avatar.video.completed", Resource: "vid-3"},
		{ID: "e5", Platform: "heygen", Type: "avatar.video.completed", Resource: "vid-1", Correlation: "c-1"},
	}
	for i, e := range events {
		adminapitest.Publish(t, js, e, t0.Add(time.Duration(i)*time.Minute))
	}
	rc := adminapitest.NewReceiver(t)
	var idx adminapi.EventIndex
	var attempts adminapi.AttemptLister
	var x *scanIndex
	if indexed {
		x = &scanIndex{js: js}
		idx = x
		attempts = adminapi.AttemptListerFunc(func(_ context.Context, id string) ([]adminapi.Attempt, error) {
			return []adminapi.Attempt{{Route: "crm", EventID: id, Attempt: 1, At: t0, Status: 500, Error: "boom"}}, nil
		})
	}
	api := adminapi.New(adminapi.Config{
		Index: idx, Attempts: attempts,
		JS: js, Stream: "AVATAR", DeadLetterStream: "AVATAR_DLQ", QuarantineStream: "AVATAR_QUARANTINE",
		Token:         tok,
		Routes:        map[string]deliver.Target{"crm": {URL: rc.URL}},
		Redrive:       adminapitest.Redriver(js, rc.URL),
		SubjectPrefix: "avatar",
		Log:           zerolog.Nop(),
	})
	admin := ingest.NewAdmin(ingest.AdminConfig{API: api, Log: zerolog.Nop()})
	hs := httptest.NewServer(admin.Handler())
	t.Cleanup(hs.Close)
	return &env{js: js, srv: hs, recv: rc, token: tok, idx: x}
}

func (e *env) do(t *testing.T, method, path, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type page struct {
	Items []struct {
		Seq      uint64              `json:"seq"`
		Envelope envelope.Event      `json:"envelope"`
		Headers  map[string][]string `json:"headers"`
	} `json:"items"`
	NextCursor uint64 `json:"next_cursor"`
}

func (e *env) page(t *testing.T, path string) page {
	t.Helper()
	code, b := e.do(t, "GET", path, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(p page) string {
	var s []string
	for _, it := range p.Items {
		s = append(s, it.Envelope.ID)
	}
	return strings.Join(s, ",")
}

func TestListEvents(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) { testListEvents(t, indexed) })
	}
}

func testListEvents(t *testing.T, indexed bool) {
	e := setupWith(t, token, indexed)
	tests := []struct {
		query, want string
		next        uint64
	}{
		{"", "e5,e4,e3,e2,e1", 0},
		{"platform=heygen", "e5,e3,e1", 0},
		{"type=avatar.video.failed", "e3", 0},
		{"resource_id=vid-1", "e5,e1", 0},
		{"correlation_id=c-1&platform=heygen&type=avatar.video.completed", "e5,e1", 0},
		{"since=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)) + "&until=" + url.QueryEscape(t0.Add(3*time.Minute).Format(time.RFC3339)), "e3,e2", 0},
		{"limit=2", "e5,e4", 4},
		{"limit=2&cursor=4", "e3,e2", 2},
		{"limit=2&cursor=2", "e1", 0},
		{"platform=heygen&limit=1&cursor=5", "e3", 3},
		{"correlation_id=c-1&limit=2", "e5,e3", 3},
		{"correlation_id=c-1&limit=2&cursor=3", "e1", 0},
		{"resource_id=vid-1&platform=did", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := e.page(t, "/api/v1/events?"+tt.query)
			if got := ids(p); got != tt.want || p.NextCursor != tt.next {
				t.Errorf("got %s next %d, want %s next %d", got, p.NextCursor, tt.want, tt.next)
			}
		})
	}
	if indexed && e.idx.lookups.Load() == 0 {
		t.Error("resource and correlation queries did not use the index")
	}
	for _, bad := range []string{"limit=0", "limit=x", "since=yesterday", "cursor=-1", "platform=a.b", "platform=*", "type=video.completed", "type=avatar.video.>"} {
		if code, _ := e.do(t, "GET", "/api/v1/events?"+bad, "", nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

func TestGetEventAndTimeline(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) { testGetEventAndTimeline(t, indexed) })
	}
}

func testGetEventAndTimeline(t *testing.T, indexed bool) {
	e := setupWith(t, token, indexed)
	code, b := e.do(t, "GET", "/api/v1/events/e3", "", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, b)
	}
	var got struct {
		Seq      uint64              `json:"seq"`
		Subject  string              `json:"subject"`
		Envelope envelope.Event      `json:"envelope"`
		Headers  map[string][]string `json:"headers"`
		Attempts []adminapi.Attempt  `json:"attempts"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if indexed != (len(got.Attempts) == 1 && got.Attempts[0].EventID == "e3" && got.Attempts[0].Status == 500) {
		t.Errorf("attempts %+v (indexed %v)", got.Attempts, indexed)
	}
	if got.Seq != 3 || got.Subject != "avatar.video.failed.heygen" || got.Envelope.Data.ResourceID != "vid-2" ||
		string(got.Envelope.Data.Raw) != `{"k":1}` || got.Headers[jetstream.MsgIDHeader][0] != "e3" {
		t.Errorf("got %+v", got)
	}
	if code, _ := e.do(t, "GET", "/api/v1/events/nope", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown id: %d, want 404", code)
	}
	if p := e.page(t, "/api/v1/timeline?correlation_id=c-1"); ids(p) != "e1,e3,e5" {
		t.Errorf("timeline: %s, want oldest first e1,e3,e5", ids(p))
	}
	if code, _ := e.do(t, "GET", "/api/v1/timeline", "", nil); code != http.StatusBadRequest {
		t.Errorf("timeline without key: %d, want 400", code)
	}
}

func TestDLQListAndRedrive(t *testing.T) {
	e := setup(t, token)
	ev, err := e.js.Stream(context.Background(), "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ev.GetMsg(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	h := nats.Header{}
	h.Set(router.HeaderDeadLetterReason, "endpoint answered 500")
	h.Set(router.HeaderDeadLetterConsumer, "route-crm")
	h.Set(router.HeaderDeadLetterSubject, m.Subject)
	h.Set(router.HeaderDeadLetterSequence, "2")
	h.Set(router.HeaderDeadLetterDeliveries, "10")
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: "dlq." + m.Subject, Data: m.Data, Header: h}); err != nil {
		t.Fatal(err)
	}
	p := e.page(t, "/api/v1/dlq")
	if len(p.Items) != 1 || p.Items[0].Envelope.ID != "e2" || p.Items[0].Headers[router.HeaderDeadLetterReason][0] != "endpoint answered 500" {
		t.Fatalf("dlq: %+v", p)
	}
	code, b := e.do(t, "POST", fmt.Sprintf("/api/v1/dlq/%d/redrive", p.Items[0].Seq), "", nil)
	if code != http.StatusOK {
		t.Fatalf("redrive: %d %s", code, b)
	}
	if got := e.recv.Got(); len(got) != 1 || got[0] != "e2" {
		t.Errorf("receiver got %v, want [e2]", got)
	}
	if p := e.page(t, "/api/v1/dlq"); len(p.Items) != 0 {
		t.Errorf("dlq after redrive: %d items, want 0", len(p.Items))
	}
	if code, _ := e.do(t, "POST", "/api/v1/dlq/99/redrive", "", nil); code == http.StatusOK {
		t.Errorf("redrive of a missing dead letter answered 200")
	}
}

func TestQuarantineList(t *testing.T) {
	e := setup(t, token)
	h := nats.Header{"Avatarbus-Source": {"heygen"}, "Avatarbus-Refusal": {"bad signature"}}
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: "quarantine.avatar.heygen", Data: []byte("not json"), Header: h}); err != nil {
		t.Fatal(err)
	}
	code, b := e.do(t, "GET", "/api/v1/quarantine", "", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, b)
	}
	var p struct {
		Items []struct {
			Envelope string              `json:"envelope"`
			Headers  map[string][]string `json:"headers"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Envelope != "not json" || p.Items[0].Headers["Avatarbus-Refusal"][0] != "bad signature" {
		t.Errorf("quarantine: %s", b)
	}
}

func TestReplay(t *testing.T) {
	e := setup(t, token)
	other := adminapitest.NewReceiver(t)
	tests := []struct {
		name, body string
		code       int
		crm, url   []string
	}{
		{"dry run by default", `{"ids":["e1","e2"],"route":"crm"}`, 200, nil, nil},
		{"explicit dry run", `{"ids":["e1"],"url":"` + other.URL + `","dry_run":true}`, 200, nil, nil},
		{"real to route", `{"ids":["e1","e2"],"route":"crm","dry_run":false}`, 200, []string{"e1", "e2"}, nil},
		{"real to url", `{"ids":["e4"],"url":"` + other.URL + `","dry_run":false}`, 200, []string{"e1", "e2"}, []string{"e4"}},
		{"unknown route", `{"ids":["e1"],"route":"nope","dry_run":false}`, 400, []string{"e1", "e2"}, []string{"e4"}},
		{"unknown event", `{"ids":["zz"],"route":"crm","dry_run":false}`, 404, []string{"e1", "e2"}, []string{"e4"}},
		{"no target", `{"ids":["e1"]}`, 400, []string{"e1", "e2"}, []string{"e4"}},
		{"unknown field", `{"ids":["e1"],"route":"crm","force":true}`, 400, []string{"e1", "e2"}, []string{"e4"}},
	}
	for _, tt := range tests {
		code, b := e.do(t, "POST", "/api/v1/replay", tt.body, map[string]string{"Content-Type": "application/json"})
		if code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, code, b, tt.code)
		}
		if got := e.recv.Got(); fmt.Sprint(got) != fmt.Sprint(tt.crm) && !(len(got) == 0 && len(tt.crm) == 0) {
			t.Errorf("%s: route got %v, want %v", tt.name, got, tt.crm)
		}
		if got := other.Got(); fmt.Sprint(got) != fmt.Sprint(tt.url) && !(len(got) == 0 && len(tt.url) == 0) {
			t.Errorf("%s: url got %v, want %v", tt.name, got, tt.url)
		}
	}
}

func TestStreamSSE(t *testing.T) {
	e := setup(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/stream?platform=did", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	rd := bufio.NewReader(resp.Body)
	if l, _ := rd.ReadString('\n'); l != ": connected\n" {
		t.Fatalf("first line %q", l)
	}
	adminapitest.Publish(t, e.js, adminapitest.Event{ID: "e6", Platform: "heygen", Type: "avatar.video.completed", Resource: "vid-9"}, t0) // filtered out
	adminapitest.Publish(t, e.js, adminapitest.Event{ID: "e7", Platform: "did", Type: "avatar.video.completed", Resource: "talk-9"}, t0)
	var data string
	for data == "" {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			data = d
		}
	}
	var ev envelope.Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil || ev.ID != "e7" {
		t.Errorf("first streamed event %q (%v), want e7", data, err)
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, token)
	noAuth := map[string]string{"Authorization": ""}
	for _, p := range []string{"/api/v1/events", "/api/v1/dlq", "/api/v1/stream"} {
		if code, _ := e.do(t, "GET", p, "", noAuth); code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d, want 401", p, code)
		}
	}
	if code, _ := e.do(t, "GET", "/api/v1/events", "", map[string]string{"Authorization": "Bearer wrong"}); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, _ := e.do(t, "GET", "/healthz", "", noAuth); code != http.StatusOK {
		t.Errorf("/healthz must stay open: %d", code)
	}
	// A wrong login issues nothing; the right one a strict HttpOnly cookie and a CSRF token.
	form := map[string]string{"Authorization": "", "Content-Type": "application/x-www-form-urlencoded"}
	if code, _ := e.do(t, "POST", "/api/v1/login", "token=wrong", form); code != http.StatusUnauthorized {
		t.Errorf("wrong login: %d", code)
	}
	resp, err := http.Post(e.srv.URL+"/api/v1/login", "application/x-www-form-urlencoded", strings.NewReader("token="+token))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == adminapi.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || login.CSRF == "" {
		t.Fatalf("login cookie %+v csrf %q", cookie, login.CSRF)
	}
	withCookie := func(extra map[string]string) map[string]string {
		m := map[string]string{"Authorization": "", "Cookie": cookie.Name + "=" + cookie.Value, "Content-Type": "application/json"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	dry := `{"ids":["e1"],"route":"crm"}`
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		want   int
	}{
		{"cookie GET", "GET", withCookie(nil), 200},
		{"cookie POST without CSRF", "POST", withCookie(nil), 403},
		{"cookie POST wrong CSRF", "POST", withCookie(map[string]string{adminapi.CSRFHeader: "x"}), 403},
		{"cookie POST cross-site origin", "POST", withCookie(map[string]string{"Origin": "https://evil.example"}), 403},
		{"cookie POST CSRF token", "POST", withCookie(map[string]string{adminapi.CSRFHeader: login.CSRF}), 200},
		{"cookie POST same origin", "POST", withCookie(map[string]string{"Origin": e.srv.URL}), 200},
		{"bearer POST exempt", "POST", map[string]string{"Content-Type": "application/json"}, 200},
		{"forged cookie", "GET", map[string]string{"Authorization": "", "Cookie": cookie.Name + "=forged"}, 401},
	}
	for _, tt := range tests {
		path := "/api/v1/events"
		if tt.method == "POST" {
			path = "/api/v1/replay"
		}
		if code, b := e.do(t, tt.method, path, dry, tt.hdr); code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, code, b, tt.want)
		}
	}
	if got := e.recv.Got(); len(got) != 0 {
		t.Errorf("dry runs sent %v", got)
	}
}

func TestOpenWithoutToken(t *testing.T) {
	e := setup(t, "")
	if code, _ := e.do(t, "GET", "/api/v1/events", "", nil); code != http.StatusOK {
		t.Errorf("no admin_token: %d, want 200", code)
	}
}

// TestShutdownEndsStream: an open event stream must not hold the admin server's Shutdown until
// its deadline.
func TestShutdownEndsStream(t *testing.T) {
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AVATAR", Subjects: []string{"avatar.>"}}); err != nil {
		t.Fatal(err)
	}
	admin := ingest.NewAdmin(ingest.AdminConfig{API: adminapi.New(adminapi.Config{JS: js, Stream: "AVATAR", Log: zerolog.Nop()}), Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- admin.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if l, _ := bufio.NewReader(resp.Body).ReadString('\n'); l != ": connected\n" {
		t.Fatalf("first line %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := admin.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v after %s", err, time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s with a stream open", d)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// TestIndexOffIsSaid: an API without an index (index.enabled: false) says so on every answer,
// one with an index does not.
func TestIndexOffIsSaid(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		e := setupWith(t, token, indexed)
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/timeline?correlation_id=c-1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "off"
		if indexed {
			want = ""
		}
		if got := resp.Header.Get(adminapi.IndexHeader); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("indexed=%v: status %d, %s %q, want %q", indexed, resp.StatusCode, adminapi.IndexHeader, got, want)
		}
	}
}

// laggingIndex knows no event, and says every event up to through is indexed.
type laggingIndex struct{ through uint64 }

func (laggingIndex) Lookup(context.Context, string) ([]adminapi.Entry, error) { return nil, nil }
func (x laggingIndex) IndexedThrough(context.Context) (uint64, error)         { return x.through, nil }

// TestUnknownIDScansOnlyWhatIsNotIndexed: an id the index does not know is looked for only among
// the events above the index's floor (its lag), not in the newest MaxScan events.
func TestUnknownIDScansOnlyWhatIsNotIndexed(t *testing.T) {
	e := setup(t, token) // events e1..e5 at seq 1..5
	api := adminapi.New(adminapi.Config{JS: e.js, Stream: "AVATAR", Index: laggingIndex{through: 3}, Log: zerolog.Nop()})
	tests := []struct {
		id   string
		want int
	}{
		{"e5", http.StatusOK},       // seq 5: not indexed yet, found by the scan
		{"e4", http.StatusOK},       // seq 4: likewise
		{"e3", http.StatusNotFound}, // seq 3: indexed, so the index's "unknown" is the answer
		{"e1", http.StatusNotFound},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/events/"+tt.id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET /api/v1/events/%s with the index through seq 3: %d, want %d", tt.id, rec.Code, tt.want)
		}
	}
}
