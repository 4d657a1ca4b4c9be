// Package console is the operators' web console at /ui/ on the admin listener. It renders HTML
// from the JSON admin API (internal/adminapi), which it calls in-process, so auth, CSRF, reads,
// replays and redrives keep one implementation.
package console

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
)

//go:embed assets templates
var files embed.FS

// ErrAPI wraps a refusal of the admin API, with its status.
var ErrAPI = errors.New("console: admin api")

// csrfCookie holds the console's CSRF token (double-submit): every form carries it, and a POST
// whose form value differs is refused, with or without admin_token.
const csrfCookie = "avatarbus_ui_csrf"

// platforms are the platform filter's choices (the envelope's platform values).
var platforms = []string{"heygen", "did", "tavus", "elevenlabs", "synthesia"}

// Route is a configured route: a choice of the event page's "replay to route".
type Route struct{ Name, Filter string }

// Config configures the console.
type Config struct {
	API    http.Handler // the admin API (adminapi.New), called in-process
	Routes []Route
	Log    zerolog.Logger
}

// Console is the http.Handler of /ui/.
type Console struct {
	cfg  Config
	mux  *http.ServeMux
	tmpl map[string]*template.Template
}

// New builds the console.
func New(cfg Config) *Console {
	c := &Console{cfg: cfg, mux: http.NewServeMux(), tmpl: map[string]*template.Template{}}
	funcs := template.FuncMap{"platforms": func() []string { return platforms }, "hdr": firstHeader, "fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	}}
	pages, _ := fs.Glob(files, "templates/*.html")
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		c.tmpl[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", p))
	}
	assets, _ := fs.Sub(files, "assets")
	c.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(assets)))
	c.mux.HandleFunc("GET /ui/{$}", c.events)
	c.mux.HandleFunc("GET /ui/login", c.loginPage)
	c.mux.HandleFunc("POST /ui/login", c.login)
	c.mux.HandleFunc("POST /ui/logout", c.logout)
	c.mux.HandleFunc("GET /ui/events/{id}", c.event)
	c.mux.HandleFunc("POST /ui/events/{id}/replay", c.replay)
	c.mux.HandleFunc("GET /ui/timeline", c.timeline)
	c.mux.HandleFunc("GET /ui/dlq", c.dlq)
	c.mux.HandleFunc("POST /ui/dlq/{seq}/redrive", c.redrive)
	c.mux.HandleFunc("GET /ui/quarantine", c.quarantine)
	c.mux.HandleFunc("POST /ui/quarantine/{seq}/verify", c.reverify)
	c.mux.HandleFunc("GET /ui/routes", c.routes)
	c.mux.HandleFunc("GET /ui/tail", c.tail)
	return c
}

// ServeHTTP checks the CSRF token of every POST, then answers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	if r.Method == http.MethodPost && r.URL.Path != "/ui/login" {
		ck, err := r.Cookie(csrfCookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
			c.cfg.Log.Warn().Str("path", r.URL.Path).Msg("console: csrf refused")
			http.Error(w, "csrf token missing or wrong: reload the page", http.StatusForbidden)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title    string
	CSRF     string
	Error    string
	LoggedIn bool // a session cookie came with the request: the nav shows "Log out"
	Data     any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	csrf := ""
	if ck, err := r.Cookie(csrfCookie); err == nil && ck.Value != "" {
		csrf = ck.Value
	} else {
		csrf = randomHex()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/ui/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	var buf bytes.Buffer
	_, err := r.Cookie(apiCookie)
	if err := c.tmpl[name].Execute(&buf, page{Title: title, CSRF: csrf, LoggedIn: err == nil, Data: data}); err != nil {
		c.cfg.Log.Error().Err(err).Str("page", name).Msg("console: render")
		http.Error(w, "render error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fail answers an API error: 401 sends the browser to the login form.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusUnauthorized {
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
		return
	}
	status := http.StatusBadGateway
	if errors.As(err, &ae) {
		status = ae.status
	}
	w.WriteHeader(status)
	c.render(w, r, "error", "Error", err.Error())
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }
func (e *apiError) Unwrap() error { return ErrAPI }

// recorder is a minimal in-process http.ResponseWriter for API calls.
type recorder struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
}

func (rc *recorder) Header() http.Header         { return rc.hdr }
func (rc *recorder) Write(b []byte) (int, error) { return rc.body.Write(b) }
func (rc *recorder) WriteHeader(s int) {
	if rc.status == 0 {
		rc.status = s
	}
}

// call asks the admin API, with the browser's credentials (session cookie or bearer), and decodes
// its JSON answer into out.
func (c *Console) call(r *http.Request, method, path string, body []byte, contentType string, out any) (*recorder, error) {
	req, err := http.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Host, req.RemoteAddr, req.TLS = r.Host, r.RemoteAddr, r.TLS
	if h := r.Header.Get("Authorization"); h != "" {
		req.Header.Set("Authorization", h)
	}
	if ck, err := r.Cookie(apiCookie); err == nil {
		req.AddCookie(ck)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		if ck, err := r.Cookie(apiCSRFCookie); err == nil {
			req.Header.Set(apiCSRFHeader, ck.Value)
		}
	}
	rc := &recorder{hdr: http.Header{}}
	c.cfg.API.ServeHTTP(rc, req)
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	if rc.status >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rc.body.Bytes(), &e)
		return rc, &apiError{status: rc.status, msg: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(rc.body.Bytes(), out); err != nil {
			return rc, fmt.Errorf("%w: decode %s: %w", ErrAPI, path, err)
		}
	}
	return rc, nil
}

// apiCSRFCookie keeps the API session's CSRF token for the console's POSTs (HttpOnly, /ui/ only).
const apiCSRFCookie = "avatarbus_ui_api_csrf"

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// row is one event as the tables show it.
type row struct {
	Event
	Env    *envelope.Event
	Pretty string // the envelope, indented
	Raw    string // the platform's payload, indented
}

func rowOf(e Event) row {
	rw := row{Event: e}
	if ev, err := envelope.Unmarshal(e.Envelope); err == nil {
		rw.Env = ev
		rw.Raw = indent(ev.Data.Raw)
	}
	if rw.Env == nil {
		rw.Env = &envelope.Event{}
	}
	rw.Pretty = indent(e.Envelope)
	return rw
}

// firstHeader is the first value of header k in h, as a page shows it.
func firstHeader(h map[string][]string, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func rowsOf(items []Event) []row {
	out := make([]row, len(items))
	for i, e := range items {
		out[i] = rowOf(e)
	}
	return out
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return string(b)
	}
	return buf.String()
}

// query copies the named, non-empty parameters of r.
func query(r *http.Request, names ...string) url.Values {
	q := url.Values{}
	for _, n := range names {
		if v := strings.TrimSpace(r.URL.Query().Get(n)); v != "" {
			q.Set(n, v)
		}
	}
	return q
}
