// Package adminapi is the operators' JSON API under /api/v1, served on the admin listener: it
// reads events, dead letters and quarantined requests from JetStream, replays and redrives them,
// and streams new events as Server-Sent Events. It uses net/http only; internal/ingest mounts it.
package adminapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
)

// Errors of the API, wrapped in the messages it answers.
var (
	ErrUnauthorized = errors.New("adminapi: missing or wrong token")
	ErrCSRF         = errors.New("adminapi: cross-site request refused")
	ErrNotFound     = errors.New("adminapi: not found")
	ErrBadRequest   = errors.New("adminapi: bad request")
)

// Defaults of Config.
const (
	DefaultLimit   = 50
	MaxLimit       = 500
	DefaultMaxScan = 10000 // messages one request reads at most when no index answers
	CookieName     = "avatarbus_session"
	CSRFHeader     = "X-CSRF-Token"
	sessionTTL     = 12 * time.Hour
	// IndexHeader is "off" on every answer of an API without an index (index.enabled: false):
	// its lookups by id scan the newest MaxScan events, so they may miss older ones.
	IndexHeader = "Avatarbus-Index"
)

// Entry is one event an index knows. Its fields match internal/index.Entry (issue 16 point 1),
// which the integrator adapts to EventIndex.
type Entry struct {
	Seq                                           uint64
	ID, ResourceID, CorrelationID, Platform, Type string
	Time                                          time.Time
}

// EventIndex finds events by event id, resource id or correlation id, sorted by Time then Seq.
type EventIndex interface {
	Lookup(ctx context.Context, key string) ([]Entry, error)
}

// IndexedThrough is implemented by an EventIndex that knows how far it has indexed: every event
// up to seq is in it. An id it does not know is then looked for only among the newer events
// (its lag), not in the newest MaxScan: a miss costs the lag, not a scan of the stream.
type IndexedThrough interface {
	IndexedThrough(ctx context.Context) (seq uint64, err error)
}

// Attempt is one delivery attempt of an event to a route (internal/attempts, issue 16 point 2).
type Attempt struct {
	Route   string        `json:"route"`
	EventID string        `json:"event_id"`
	Attempt int           `json:"attempt"`
	At      time.Time     `json:"at"`
	Status  int           `json:"status"`
	Error   string        `json:"error,omitempty"`
	Latency time.Duration `json:"latency_ns"`
}

// AttemptLister lists the delivery attempts of one event.
type AttemptLister interface {
	List(ctx context.Context, eventID string) ([]Attempt, error)
}

// AttemptListerFunc adapts a function, e.g. a closure over internal/attempts.List, to AttemptLister.
type AttemptListerFunc func(ctx context.Context, eventID string) ([]Attempt, error)

// List calls f.
func (f AttemptListerFunc) List(ctx context.Context, eventID string) ([]Attempt, error) {
	return f(ctx, eventID)
}

// Redriver sends dead letter seq of the dead-letter stream to its route again and deletes it when
// accepted; cmd wires router.Redrive (this package may not import router: same layer).
type Redriver func(ctx context.Context, seq uint64) error

// Config configures the API.
type Config struct {
	JS               jetstream.JetStream
	Stream           string // event stream, e.g. AVATAR
	DeadLetterStream string // e.g. AVATAR_DLQ; "" disables /dlq
	QuarantineStream string // e.g. AVATAR_QUARANTINE; "" disables /quarantine
	// Token, when not empty, is required on every request: Authorization: Bearer or the session
	// cookie that POST /api/v1/login issues.
	Token    string
	Index    EventIndex    // nil: resource/correlation lookups scan the stream
	Attempts AttemptLister // nil: events carry no attempts
	Redrive  Redriver      // nil: redrive answers 501
	Reverify Reverifier    // nil: re-verifying a quarantined request answers 501
	// Sources, RouteRefs and AttemptsStream are what GET /api/v1/status reports on.
	Sources        []SourceRef
	RouteRefs      []RouteRef
	AttemptsStream string
	// Routes are the replay targets by name; a replay may also name a URL.
	Routes  map[string]deliver.Target
	MaxScan int // 0 = DefaultMaxScan
	// SubjectPrefix is the event stream's subject prefix (e.g. avatar): with it, lists filtered
	// by platform or type read only the matching subjects; without it they scan.
	SubjectPrefix string
	Log           zerolog.Logger
}

// API is the http.Handler of /api/v1.
type API struct {
	cfg      Config
	mux      *http.ServeMux
	mu       sync.Mutex
	sessions map[string]session // session id -> its CSRF token and expiry
}

type session struct {
	csrf    string
	expires time.Time
}

// New builds the API.
func New(cfg Config) *API {
	if cfg.MaxScan <= 0 {
		cfg.MaxScan = DefaultMaxScan
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), sessions: map[string]session{}}
	a.mux.HandleFunc("POST /api/v1/login", a.login)
	a.mux.HandleFunc("POST /api/v1/logout", a.logout)
	a.mux.HandleFunc("GET /api/v1/events", a.listEvents)
	a.mux.HandleFunc("GET /api/v1/events/{id}", a.getEvent)
	a.mux.HandleFunc("GET /api/v1/timeline", a.timeline)
	a.mux.HandleFunc("GET /api/v1/dlq", a.listDLQ)
	a.mux.HandleFunc("POST /api/v1/dlq/{seq}/redrive", a.redrive)
	a.mux.HandleFunc("GET /api/v1/quarantine", a.listQuarantine)
	a.mux.HandleFunc("POST /api/v1/quarantine/{seq}/verify", a.reverify)
	a.mux.HandleFunc("GET /api/v1/status", a.status)
	a.mux.HandleFunc("POST /api/v1/replay", a.replay)
	a.mux.HandleFunc("GET /api/v1/stream", a.stream)
	return a
}

// ServeHTTP checks auth and CSRF, then answers.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if a.cfg.Index == nil {
		w.Header().Set(IndexHeader, "off")
	}
	if r.URL.Path == "/api/v1/login" {
		a.mux.ServeHTTP(w, r)
		return
	}
	who, sess, ok := a.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, ErrUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if sess != nil && !a.csrfOK(r, sess) {
			a.cfg.Log.Warn().Str("who", who).Str("method", r.Method).Str("path", r.URL.Path).Msg("admin api: csrf refused")
			writeError(w, http.StatusForbidden, ErrCSRF)
			return
		}
		a.cfg.Log.Info().Str("who", who).Str("method", r.Method).Str("path", r.URL.Path).Msg("admin api mutation")
	}
	a.mux.ServeHTTP(w, r)
}

// authenticate says who sent r: "open" when no token is configured, "bearer" for the token, or
// "session" with the session for a cookie.
func (a *API) authenticate(r *http.Request) (string, *session, bool) {
	if a.cfg.Token == "" {
		return "open", nil, true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, found := strings.CutPrefix(h, "Bearer ")
		return "bearer", nil, found && subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.Token)) == 1
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return "", nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[c.Value]
	if !ok || time.Now().After(s.expires) {
		delete(a.sessions, c.Value)
		return "", nil, false
	}
	return "session", &s, true
}

// csrfOK accepts a cookie session's mutation when it carries the session's CSRF token, or when its
// Origin is this host (a same-origin browser request).
func (a *API) csrfOK(r *http.Request, s *session) bool {
	if t := r.Header.Get(CSRFHeader); t != "" {
		return subtle.ConstantTimeCompare([]byte(t), []byte(s.csrf)) == 1
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// login takes the token as form field "token" and issues an HttpOnly, SameSite=Strict cookie; the
// answer's csrf_token goes in X-CSRF-Token on later POSTs.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Token == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: no admin_token configured", ErrBadRequest))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(a.cfg.Token)) != 1 {
		a.cfg.Log.Warn().Str("remote", r.RemoteAddr).Msg("admin api: login refused")
		writeError(w, http.StatusUnauthorized, ErrUnauthorized)
		return
	}
	id, csrf := randomHex(), randomHex()
	now := time.Now()
	a.mu.Lock()
	for k, s := range a.sessions { // expired sessions go here, so logins cannot grow the map forever
		if now.After(s.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = session{csrf: csrf, expires: now.Add(sessionTTL)}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/api/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL / time.Second)})
	a.cfg.Log.Info().Str("remote", r.RemoteAddr).Msg("admin api: login")
	writeJSON(w, http.StatusOK, map[string]string{"csrf_token": csrf})
}

// logout ends the caller's cookie session (a mutation: authenticated and CSRF-checked by
// ServeHTTP) and expires its cookie. A bearer caller has no session; it gets 204 as well.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/api/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Event is one stored event as the API answers it.
type Event struct {
	Seq      uint64              `json:"seq"`
	Subject  string              `json:"subject"`
	Time     time.Time           `json:"stored_at"`
	Envelope json.RawMessage     `json:"envelope,omitempty"`
	Headers  map[string][]string `json:"headers,omitempty"`
	Attempts []Attempt           `json:"attempts,omitempty"`
	ev       *envelope.Event
}

// filter is what GET /events selects.
type filter struct {
	platform, typ, resourceID, correlationID string
	since, until                             time.Time
}

func (f filter) match(e *envelope.Event) bool {
	switch {
	case e == nil:
		return false
	case f.platform != "" && e.Platform != f.platform,
		f.typ != "" && e.Type != f.typ,
		f.resourceID != "" && e.Data.ResourceID != f.resourceID,
		f.correlationID != "" && e.CorrelationID != f.correlationID,
		!f.since.IsZero() && e.ReceivedAt.Before(f.since),
		!f.until.IsZero() && !e.ReceivedAt.Before(f.until):
		return false
	}
	return true
}

// Page is the answer of a list: items newest first, and the cursor of the next page (0: none).
type Page struct {
	Items      []Event `json:"items"`
	NextCursor uint64  `json:"next_cursor,omitempty"`
}

// add appends e (older than every item) unless the page holds limit items already; then it sets
// the next page's cursor and says the page is full.
func (p *Page) add(e *Event, limit int) bool {
	if len(p.Items) == limit {
		p.NextCursor = p.Items[limit-1].Seq
		return false
	}
	p.Items = append(p.Items, *e)
	return true
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := filter{platform: q.Get("platform"), typ: q.Get("type"), resourceID: q.Get("resource_id"), correlationID: q.Get("correlation_id")}
	var err error
	if f.since, err = parseTime(q.Get("since")); err == nil {
		f.until, err = parseTime(q.Get("until"))
	}
	limit, lerr := parseLimit(q.Get("limit"))
	cursor, cerr := parseUint(q.Get("cursor"))
	if err = errors.Join(err, lerr, cerr, checkSubjectFilter(f)); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var page Page
	key := first(f.resourceID, f.correlationID)
	switch filters := a.subjectFilters(f); {
	case key != "" && a.cfg.Index != nil:
		page, err = a.fromIndex(r.Context(), key, f, limit, cursor)
	case key == "" && filters != nil:
		page, err = a.bySubject(r.Context(), filters, f, limit, cursor)
	default:
		page, err = a.scan(r.Context(), a.cfg.Stream, cursor, limit, func(e *Event) verdict {
			if !f.since.IsZero() && e.Time.Before(f.since) {
				return stop // stored before since, so received before it, as is everything older
			}
			return takeIf(f.match(e.ev))
		})
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// fromIndex answers a resource or correlation query through the index, newest first.
func (a *API) fromIndex(ctx context.Context, key string, f filter, limit int, cursor uint64) (Page, error) {
	entries, err := a.cfg.Index.Lookup(ctx, key)
	if err != nil {
		return Page{}, fmt.Errorf("adminapi: index: %w", err)
	}
	page := Page{Items: []Event{}}
	for i := len(entries) - 1; i >= 0; i-- {
		if cursor != 0 && entries[i].Seq >= cursor {
			continue
		}
		e, err := a.get(ctx, a.cfg.Stream, entries[i].Seq)
		if errors.Is(err, ErrNotFound) {
			continue // expired from the stream since it was indexed
		}
		if err != nil {
			return Page{}, err
		}
		if !f.match(e.ev) {
			continue
		}
		if !page.add(e, limit) {
			break
		}
	}
	return page, nil
}

// verdict is what a scan does with a message it read.
type verdict int

const (
	skip verdict = iota // not in the page
	take                // in the page
	stop                // not in the page, nor is anything older: the scan ends
)

func takeIf(ok bool) verdict {
	if ok {
		return take
	}
	return skip
}

// scan reads stream backwards from before cursor (the last message when 0), at most MaxScan
// messages, keeping limit that keep takes; a page cut short by MaxScan has a next_cursor.
func (a *API) scan(ctx context.Context, stream string, cursor uint64, limit int, keep func(*Event) verdict) (Page, error) {
	return a.scanAbove(ctx, stream, cursor, 0, limit, keep)
}

// scanAbove is scan that stops at seq floor (excluded).
func (a *API) scanAbove(ctx context.Context, stream string, cursor, floor uint64, limit int, keep func(*Event) verdict) (Page, error) {
	page := Page{Items: []Event{}}
	s, err := a.cfg.JS.Stream(ctx, stream)
	if err != nil {
		return page, fmt.Errorf("adminapi: stream %s: %w", stream, err)
	}
	st := s.CachedInfo().State
	top := st.LastSeq
	if cursor != 0 && cursor-1 < top {
		top = cursor - 1
	}
	read := 0
	seq := top
	for ; seq >= st.FirstSeq && seq > floor && seq > 0; seq-- {
		if read == a.cfg.MaxScan {
			// Stopped with events left below: the next page goes on from the last one read.
			page.NextCursor = seq + 1
			return page, nil
		}
		read++
		e, err := a.getFrom(ctx, s, seq)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return page, err
		}
		switch keep(e) {
		case skip:
			continue
		case stop:
			return page, nil
		}
		if !page.add(e, limit) {
			return page, nil
		}
	}
	return page, nil
}

func (a *API) get(ctx context.Context, stream string, seq uint64) (*Event, error) {
	s, err := a.cfg.JS.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("adminapi: stream %s: %w", stream, err)
	}
	return a.getFrom(ctx, s, seq)
}

func (a *API) getFrom(ctx context.Context, s jetstream.Stream, seq uint64) (*Event, error) {
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: seq %d", ErrNotFound, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("adminapi: read seq %d: %w", seq, err)
	}
	return eventOf(m.Sequence, m.Subject, m.Time, m.Header, m.Data), nil
}

// eventOf is the API's view of a stored message: its envelope decoded when it is one, else the
// JSON it holds, else its bytes as a JSON string.
func eventOf(seq uint64, subject string, at time.Time, h nats.Header, data []byte) *Event {
	e := &Event{Seq: seq, Subject: subject, Time: at, Headers: h}
	if ev, err := envelope.Unmarshal(data); err == nil {
		e.ev, e.Envelope = ev, data
	} else if json.Valid(data) {
		e.Envelope = data
	} else {
		b, _ := json.Marshal(string(data))
		e.Envelope = b
	}
	return e
}

// getEvent answers one event by id (the envelope id) or by its sequence ("seq:12").
func (a *API) getEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := a.findEvent(r.Context(), id)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if a.cfg.Attempts != nil {
		if e.Attempts, err = a.cfg.Attempts.List(r.Context(), id); err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Errorf("adminapi: attempts: %w", err))
			return
		}
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *API) findEvent(ctx context.Context, id string) (*Event, error) {
	var floor uint64 // the scan below looks only above it: what the index may not have yet
	if a.cfg.Index != nil {
		entries, err := a.cfg.Index.Lookup(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("adminapi: index: %w", err)
		}
		for _, en := range entries {
			if en.ID == id {
				return a.get(ctx, a.cfg.Stream, en.Seq)
			}
		}
		if t, ok := a.cfg.Index.(IndexedThrough); ok {
			if floor, err = t.IndexedThrough(ctx); err != nil {
				floor = 0 // unknown: scan as without it
			}
		}
	}
	page, err := a.scanAbove(ctx, a.cfg.Stream, 0, floor, 1, func(e *Event) verdict { return takeIf(e.ev != nil && e.ev.ID == id) })
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: event %q", ErrNotFound, id)
	}
	return &page.Items[0], nil
}

// timeline answers the events of a resource or correlation id, oldest first.
func (a *API) timeline(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := filter{resourceID: q.Get("resource_id"), correlationID: q.Get("correlation_id")}
	if f.resourceID == "" && f.correlationID == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: resource_id or correlation_id needed", ErrBadRequest))
		return
	}
	var page Page
	var err error
	if a.cfg.Index != nil {
		page, err = a.fromIndex(r.Context(), first(f.resourceID, f.correlationID), f, MaxLimit, 0)
	} else {
		page, err = a.scan(r.Context(), a.cfg.Stream, 0, MaxLimit, func(e *Event) verdict { return takeIf(f.match(e.ev)) })
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	for i, j := 0, len(page.Items)-1; i < j; i, j = i+1, j-1 {
		page.Items[i], page.Items[j] = page.Items[j], page.Items[i]
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": page.Items})
}

// listDLQ and listQuarantine page through their streams newest first, headers included (the
// dead-letter reason, the quarantine's refusal).
func (a *API) listDLQ(w http.ResponseWriter, r *http.Request) {
	a.listStream(w, r, a.cfg.DeadLetterStream)
}

func (a *API) listQuarantine(w http.ResponseWriter, r *http.Request) {
	a.listStream(w, r, a.cfg.QuarantineStream)
}

func (a *API) listStream(w http.ResponseWriter, r *http.Request, stream string) {
	if stream == "" {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: stream not configured", ErrNotFound))
		return
	}
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	cursor, cerr := parseUint(r.URL.Query().Get("cursor"))
	if err = errors.Join(err, cerr); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	page, err := a.scan(r.Context(), stream, cursor, limit, func(*Event) verdict { return take })
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		writeJSON(w, http.StatusOK, Page{Items: []Event{}}) // nothing was ever stored there
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) redrive(w http.ResponseWriter, r *http.Request) {
	seq, err := parseUint(r.PathValue("seq"))
	if err != nil || seq == 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: seq", ErrBadRequest))
		return
	}
	if a.cfg.Redrive == nil {
		writeError(w, http.StatusNotImplemented, errors.New("adminapi: redrive not configured"))
		return
	}
	if err := a.cfg.Redrive(r.Context(), seq); err != nil {
		writeError(w, statusOf(err), fmt.Errorf("adminapi: redrive %d: %w", seq, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"redriven": seq})
}

// ReplayRequest is the body of POST /api/v1/replay.
type ReplayRequest struct {
	IDs    []string `json:"ids"`   // event ids to replay
	Route  string   `json:"route"` // a configured route name, or
	URL    string   `json:"url"`   // an URL to POST to (unsigned)
	DryRun *bool    `json:"dry_run"`
}

// ReplayResult says what a replay sent (or, dry, would send).
type ReplayResult struct {
	DryRun bool     `json:"dry_run"`
	Target string   `json:"target"`
	Events []string `json:"events"`
	Sent   int      `json:"sent"`
}

// replay POSTs stored events to a route or URL. dry_run defaults to true, so a real replay is
// asked for on purpose.
func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: body: %w", ErrBadRequest, err))
		return
	}
	var t deliver.Target
	switch {
	case req.Route != "" && req.URL != "", req.Route == "" && req.URL == "":
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: give route or url", ErrBadRequest))
		return
	case req.Route != "":
		var ok bool
		if t, ok = a.cfg.Routes[req.Route]; !ok {
			writeError(w, http.StatusBadRequest, fmt.Errorf("%w: unknown route %q", ErrBadRequest, req.Route))
			return
		}
	default:
		t = deliver.Target{URL: req.URL}
	}
	if err := t.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadRequest, err))
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > MaxLimit {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: 1 to %d ids", ErrBadRequest, MaxLimit))
		return
	}
	res := ReplayResult{DryRun: req.DryRun == nil || *req.DryRun, Target: first(req.Route, req.URL), Events: []string{}}
	events := make([]*Event, 0, len(req.IDs))
	for _, id := range req.IDs {
		e, err := a.findEvent(r.Context(), id)
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		events = append(events, e)
		res.Events = append(res.Events, id)
	}
	if !res.DryRun {
		for _, e := range events {
			h := http.Header{"Avatarbus-Replay": {"api"}}
			if err := deliver.Post(r.Context(), t, e.ev.ID, e.Envelope, h); err != nil {
				writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "result": res})
				return
			}
			res.Sent++
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// stream sends each new event of the stream as an SSE "event" message (data = the envelope),
// filtered by the same params as GET /events, until the client goes.
func (a *API) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := filter{platform: q.Get("platform"), typ: q.Get("type"), resourceID: q.Get("resource_id"), correlationID: q.Get("correlation_id")}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, errors.New("adminapi: streaming unsupported"))
		return
	}
	ctx := r.Context()
	s, err := a.cfg.JS.Stream(ctx, a.cfg.Stream)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("adminapi: stream: %w", err))
		return
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: time.Minute})
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("adminapi: stream: %w", err))
		return
	}
	// Consume before the client hears "connected": an ordered consumer is created on the server
	// when it starts consuming, and DeliverNew counts from then, so an event published right after
	// the client saw the stream open would otherwise be missed.
	msgs := make(chan jetstream.Msg, 16)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("adminapi: stream: %w", err))
		return
	}
	defer cc.Stop()
	// The admin server's write timeout would cut a long stream: lift it for this response.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			_, _ = fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case m := <-msgs:
			ev, err := envelope.Unmarshal(m.Data())
			if err != nil || !f.match(ev) {
				continue
			}
			meta, _ := m.Metadata()
			id := ""
			if meta != nil {
				id = strconv.FormatUint(meta.Sequence.Stream, 10)
			}
			_, _ = fmt.Fprintf(w, "id: %s\nevent: event\ndata: %s\n\n", id, strings.ReplaceAll(string(m.Data()), "\n", ""))
			fl.Flush()
		}
	}
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%w: time %q: want RFC 3339", ErrBadRequest, s)
	}
	return t, nil
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("%w: limit %q: want 1 to %d", ErrBadRequest, s, MaxLimit)
	}
	return n, nil
}

func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a sequence", ErrBadRequest, s)
	}
	return n, nil
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, jetstream.ErrMsgNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
