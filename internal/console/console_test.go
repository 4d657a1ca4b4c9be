package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/adminapi/adminapitest"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/console"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

const token = "s3cret-admin-token"

var t0 = time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)

type env struct {
	js   jetstream.JetStream
	srv  *httptest.Server // the admin server with /api/ and /ui/
	recv *adminapitest.Receiver
}

// events are one job across three platforms (correlation c-1) and one unrelated event.
var events = []adminapitest.Event{
	{ID: "evt_heygen_1", Platform: "heygen", Type: "avatar.video.completed", Resource: "vid-1", Correlation: "c-1"},
	{ID: "evt_other", Platform: "did", Type: "avatar.video.failed", Resource: "talk-9"},
	{ID: "evt_eleven_1", Platform: "elevenlabs", Type: "avatar.audio.completed", Resource: "audio-1", Correlation: "c-1"},
	{ID: "evt_tavus_1", Platform: "tavus", Type: "avatar.video.completed", Resource: "tv-1", Correlation: "c-1"},
}

// setup starts JetStream with the event, dead-letter and quarantine streams, stores events, and
// serves the admin API and the console inside ingest's admin server.
func setup(t *testing.T, tok string) *env {
	t.Helper()
	_, js := brokertest.Connect(t, brokertest.RunJetStream(t).ClientURL())
	adminapitest.Streams(t, js)
	for i, e := range events {
		e.Raw = `{"video_id":"` + e.Resource + `","status":"done"}`
		adminapitest.Publish(t, js, e, t0.Add(time.Duration(i)*time.Minute))
	}
	rc := adminapitest.NewReceiver(t)
	api := adminapi.New(adminapi.Config{
		JS: js, Stream: "AVATAR", DeadLetterStream: "AVATAR_DLQ", QuarantineStream: "AVATAR_QUARANTINE",
		SubjectPrefix: "avatar", // as serve wires it: platform and type filters select by subject
		Token:         tok,
		Routes:        map[string]deliver.Target{"crm": {URL: rc.URL}},
		Attempts: adminapi.AttemptListerFunc(func(_ context.Context, id string) ([]adminapi.Attempt, error) {
			return []adminapi.Attempt{{Route: "crm", EventID: id, Attempt: 1, At: t0, Status: 503, Error: "upstream busy"}}, nil
		}),
		Redrive: adminapitest.Redriver(js, rc.URL),
		// The checking itself is cmd's (reverifyOne, tested there); here the page's round trip.
		Reverify: func(_ context.Context, seq uint64) (adminapi.Reverified, error) {
			if seq != 1 {
				return adminapi.Reverified{}, fmt.Errorf("%w: quarantined request %d", adminapi.ErrNotFound, seq)
			}
			return adminapi.Reverified{Seq: 1, Source: "heygen", Valid: false, Reason: "signature_mismatch", Detail: "no signature matches"}, nil
		},
		Sources: []adminapi.SourceRef{
			{Name: "heygen", Platform: "heygen", Filters: subjects.PlatformSubjects("avatar", "heygen")},
			{Name: "synthesia", Platform: "synthesia", Filters: subjects.PlatformSubjects("avatar", "synthesia")},
		},
		RouteRefs: []adminapi.RouteRef{{Name: "crm", Filter: "avatar.video.completed.*", Consumer: "route-crm"}},
		Log:       zerolog.Nop(),
	})
	// Route crm's consumer, not started: both video.completed events are its lag.
	if _, err := js.CreateOrUpdateConsumer(context.Background(), "AVATAR", jetstream.ConsumerConfig{
		Durable: "route-crm", FilterSubject: "avatar.video.completed.*", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	ui := console.New(console.Config{API: api, Log: zerolog.Nop(),
		Routes: []console.Route{{Name: "crm", Filter: "avatar.video.completed.*"}}})
	admin := ingest.NewAdmin(ingest.AdminConfig{API: api, UI: ui, Log: zerolog.Nop()})
	hs := httptest.NewServer(admin.Handler())
	t.Cleanup(hs.Close)
	return &env{js: js, srv: hs, recv: rc}
}

// deadLetter copies event seq of AVATAR into AVATAR_DLQ as route crm's consumer gave it up.
func (e *env) deadLetter(t *testing.T, seq uint64) {
	t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	h := nats.Header{}
	h.Set(router.HeaderDeadLetterReason, "endpoint answered 500")
	h.Set(router.HeaderDeadLetterConsumer, "route-crm")
	h.Set(router.HeaderDeadLetterSubject, m.Subject)
	h.Set(router.HeaderDeadLetterSequence, fmt.Sprint(seq))
	h.Set(router.HeaderDeadLetterDeliveries, "10")
	if _, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: "dlq." + m.Subject, Data: m.Data, Header: h}); err != nil {
		t.Fatal(err)
	}
}

// browser is a cookie-keeping client that does not follow redirects, so tests see them.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.url+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) login() {
	b.t.Helper()
	code, body, h := b.post("/ui/login", url.Values{"token": {token}})
	if code != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		b.t.Fatalf("login: %d %s %v", code, body, h)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

func TestPagesRender(t *testing.T) {
	e := setup(t, token)
	e.deadLetter(t, 2)
	h := nats.Header{"Avatarbus-Refusal": {"bad signature"}}
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: "quarantine.avatar.heygen", Data: []byte("not json"), Header: h}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e.srv.URL)
	b.login()
	tests := []struct {
		path string
		want []string
	}{
		{"/ui/", []string{`name="viewport"`, "evt_heygen_1", "evt_tavus_1", "avatar.audio.completed", `href="/ui/timeline?correlation_id=c-1"`}},
		{"/ui/?platform=tavus", []string{"evt_tavus_1", `<option selected>tavus</option>`}},
		{"/ui/?since=2026-12-07T05:02:00Z", []string{"evt_eleven_1", "evt_tavus_1"}},
		{"/ui/events/evt_heygen_1", []string{"Event evt_heygen_1", "Replay to route", `<option>crm</option>`,
			"upstream busy", "503", `&#34;video_id&#34;: &#34;vid-1&#34;`, `&#34;specversion&#34;: &#34;1.0&#34;`}},
		{"/ui/timeline?correlation_id=c-1", []string{"evt_heygen_1", "evt_eleven_1", "evt_tavus_1"}},
		{"/ui/dlq", []string{"endpoint answered 500", "route-crm", "Redrive", "evt_other"}},
		{"/ui/quarantine", []string{"bad signature", "not json", "Re-verify"}},
		// One heygen event in the 5-minute window: 0.2/min; synthesia never sent one. crm's
		// consumer has both video.completed events pending.
		{"/ui/routes", []string{"<td>heygen</td><td>heygen</td><td>0.2</td><td>" + time.Now().UTC().Format("2006-01-02 "),
			"<td>synthesia</td><td>synthesia</td><td>0.0</td><td>never", "<td>crm</td><td>avatar.video.completed.*</td><td>0.0</td><td>2</td><td>0</td><td>0</td><td>never"}},
		{"/ui/tail", []string{`src="/ui/static/tail.js"`}},
		{"/ui/static/style.css", []string{"max-width"}},
		{"/ui/static/tail.js", []string{"EventSource", "/api/v1/stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body, _ := b.get(tt.path)
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
		})
	}
	// Filters exclude: heygen's event is not in tavus' list nor before since.
	for _, p := range []string{"/ui/?platform=tavus", "/ui/?since=2026-12-07T05:02:00Z"} {
		if _, body, _ := b.get(p); strings.Contains(body, "evt_heygen_1") {
			t.Errorf("%s shows evt_heygen_1", p)
		}
	}
	// The timeline is oldest first.
	_, body, _ := b.get("/ui/timeline?correlation_id=c-1")
	if i, j, k := strings.Index(body, "evt_heygen_1"), strings.Index(body, "evt_eleven_1"), strings.Index(body, "evt_tavus_1"); !(i < j && j < k) {
		t.Errorf("timeline order: heygen %d, elevenlabs %d, tavus %d", i, j, k)
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, token)
	b := newBrowser(t, e.srv.URL)
	for _, p := range []string{"/ui/", "/ui/events/evt_heygen_1", "/ui/dlq", "/ui/routes", "/ui/tail"} {
		if code, _, h := b.get(p); code != http.StatusSeeOther || h.Get("Location") != "/ui/login" {
			t.Errorf("%s without login: %d to %q, want 303 to /ui/login", p, code, h.Get("Location"))
		}
	}
	if code, body, _ := b.post("/ui/login", url.Values{"token": {"wrong"}}); code != http.StatusUnauthorized || !strings.Contains(body, "Wrong token") {
		t.Errorf("wrong token: %d", code)
	}
	b.login()
	if code, _, _ := b.get("/ui/"); code != http.StatusOK {
		t.Errorf("after login: %d", code)
	}
	// The session cookie reaches the API too (the live tail's EventSource).
	if code, _, _ := b.get("/api/v1/events?limit=1"); code != http.StatusOK {
		t.Errorf("api with the console's session: %d", code)
	}
}

// TestLogout: the "Log out" button ends the API session itself, so a copy of the old session
// cookie (kept by an attacker or another tab) no longer opens the API or the console.
func TestLogout(t *testing.T) {
	e := setup(t, token)
	b := newBrowser(t, e.srv.URL)
	b.login()
	code, body, _ := b.get("/ui/")
	if code != http.StatusOK || !strings.Contains(body, `action="/ui/logout"`) {
		t.Fatalf("events page after login: %d, logout button shown = %v", code, strings.Contains(body, `action="/ui/logout"`))
	}
	u, _ := url.Parse(e.srv.URL + "/api/")
	var session *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == adminapi.CookieName {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no API session cookie after login")
	}

	if code, _, _ := b.post("/ui/logout", url.Values{}); code != http.StatusForbidden {
		t.Errorf("logout without the csrf field: %d, want 403", code)
	}
	code, _, h := b.post("/ui/logout", url.Values{"csrf": {csrfOf(t, body)}})
	if code != http.StatusSeeOther || h.Get("Location") != "/ui/login" {
		t.Fatalf("logout: %d to %q, want 303 to /ui/login", code, h.Get("Location"))
	}
	if code, _, h := b.get("/ui/"); code != http.StatusSeeOther || h.Get("Location") != "/ui/login" {
		t.Errorf("console after logout: %d to %q, want 303 to /ui/login", code, h.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/events?limit=1", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the old session cookie after logout: %d, want 401", resp.StatusCode)
	}
}

// TestReverifyFromPage: the quarantine page's button asks the API and says the outcome.
func TestReverifyFromPage(t *testing.T) {
	e := setup(t, token)
	b := newBrowser(t, e.srv.URL)
	b.login()
	_, body, _ := b.get("/ui/quarantine")
	code, _, h := b.post("/ui/quarantine/1/verify", url.Values{"csrf": {csrfOf(t, body)}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/quarantine?done=") {
		t.Fatalf("re-verify: %d to %q", code, h.Get("Location"))
	}
	_, body, _ = b.get(h.Get("Location"))
	if want := "Request 1 (source heygen): still not valid: signature_mismatch (no signature matches)"; !strings.Contains(body, want) {
		t.Errorf("quarantine page after re-verify lacks %q:\n%s", want, body)
	}
	if code, _, _ := b.post("/ui/quarantine/7/verify", url.Values{"csrf": {csrfOf(t, body)}}); code != http.StatusNotFound {
		t.Errorf("re-verify of a missing request: %d, want 404", code)
	}
}

func TestSearch(t *testing.T) {
	e := setup(t, token)
	b := newBrowser(t, e.srv.URL)
	b.login()
	tests := []struct{ q, location string }{
		{"evt_tavus_1", "/ui/events/evt_tavus_1"},
		{"audio-1", "/ui/timeline?resource_id=audio-1"},
		{"c-1", "/ui/timeline?correlation_id=c-1"},
	}
	for _, tt := range tests {
		code, _, h := b.get("/ui/?q=" + url.QueryEscape(tt.q))
		if code != http.StatusSeeOther || h.Get("Location") != tt.location {
			t.Errorf("search %q: %d to %q, want %q", tt.q, code, h.Get("Location"), tt.location)
		}
	}
	if code, body, _ := b.get("/ui/?q=nope"); code != http.StatusOK || !strings.Contains(body, "Nothing found for nope") {
		t.Errorf("search nope: %d", code)
	}
	// This API has no index (as with index.enabled: false): the search and the timeline say so.
	for _, p := range []string{"/ui/?q=nope", "/ui/timeline?correlation_id=c-1"} {
		if _, body, _ := b.get(p); !strings.Contains(body, "event index is off") {
			t.Errorf("%s does not say the index is off:\n%s", p, body)
		}
	}
}

func TestRedriveFromPage(t *testing.T) {
	e := setup(t, token)
	e.deadLetter(t, 2)
	b := newBrowser(t, e.srv.URL)
	b.login()
	_, page, _ := b.get("/ui/dlq")
	action := regexp.MustCompile(`action="(/ui/dlq/\d+/redrive)"`).FindStringSubmatch(page)
	if action == nil {
		t.Fatalf("no redrive form:\n%s", page)
	}
	if code, _, _ := b.post(action[1], url.Values{}); code != http.StatusForbidden {
		t.Errorf("redrive without csrf: %d, want 403", code)
	}
	if code, _, _ := b.post(action[1], url.Values{"csrf": {"0000"}}); code != http.StatusForbidden {
		t.Errorf("redrive with a wrong csrf: %d, want 403", code)
	}
	if got := e.recv.Got(); len(got) != 0 {
		t.Fatalf("refused redrives delivered %v", got)
	}
	code, body, h := b.post(action[1], url.Values{"csrf": {csrfOf(t, page)}})
	if code != http.StatusSeeOther {
		t.Fatalf("redrive: %d %s", code, body)
	}
	if got := e.recv.Got(); len(got) != 1 || got[0] != "evt_other" {
		t.Errorf("receiver got %v, want [evt_other]", got)
	}
	_, after, _ := b.get(h.Get("Location"))
	if !strings.Contains(after, "redriven") || !strings.Contains(after, "No dead letters") {
		t.Errorf("dlq page after redrive:\n%s", after)
	}
}

func TestReplayNeedsConfirmation(t *testing.T) {
	e := setup(t, token)
	b := newBrowser(t, e.srv.URL)
	b.login()
	_, page, _ := b.get("/ui/events/evt_heygen_1")
	csrf := csrfOf(t, page)
	code, confirm, _ := b.post("/ui/events/evt_heygen_1/replay", url.Values{"csrf": {csrf}, "route": {"crm"}})
	if code != http.StatusOK || !strings.Contains(confirm, "Dry run") || !strings.Contains(confirm, `name="confirm" value="yes"`) {
		t.Fatalf("first step: %d\n%s", code, confirm)
	}
	if got := e.recv.Got(); len(got) != 0 {
		t.Fatalf("the first step sent %v", got)
	}
	code, done, _ := b.post("/ui/events/evt_heygen_1/replay", url.Values{"csrf": {csrf}, "route": {"crm"}, "confirm": {"yes"}})
	if code != http.StatusOK || !strings.Contains(done, "Replayed: 1 sent") {
		t.Fatalf("confirmed: %d\n%s", code, done)
	}
	if got := e.recv.Got(); len(got) != 1 || got[0] != "evt_heygen_1" {
		t.Errorf("receiver got %v", got)
	}
}

// Without admin_token on loopback the API is open; the console still wants its CSRF token.
func TestOpenModeKeepsCSRF(t *testing.T) {
	e := setup(t, "")
	e.deadLetter(t, 2)
	b := newBrowser(t, e.srv.URL)
	code, page, _ := b.get("/ui/dlq")
	if code != http.StatusOK {
		t.Fatalf("%d", code)
	}
	action := regexp.MustCompile(`action="(/ui/dlq/\d+/redrive)"`).FindStringSubmatch(page)[1]
	if code, _, _ := b.post(action, url.Values{}); code != http.StatusForbidden {
		t.Errorf("no csrf: %d", code)
	}
	if code, _, _ := b.post(action, url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusSeeOther {
		t.Errorf("with csrf: %d", code)
	}
	if got := e.recv.Got(); len(got) != 1 {
		t.Errorf("receiver got %v", got)
	}
}
