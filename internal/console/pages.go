package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type listData struct {
	Filter url.Values
	Q      string
	Rows   []row
	Next   string // the query of the next page, "" on the last
	Note   string
}

// events lists events with the filters platform, type and since; q searches an event id, then a
// resource id, then a correlation id.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" {
		c.search(w, r, q)
		return
	}
	f := query(r, "platform", "type", "since", "cursor")
	if s := f.Get("since"); s != "" && !strings.Contains(s, "T") {
		f.Set("since", s+"T00:00:00Z") // the date input's value
	}
	var p Page
	if _, err := c.call(r, http.MethodGet, "/api/v1/events?"+f.Encode(), nil, "", &p); err != nil {
		c.fail(w, r, err)
		return
	}
	d := listData{Filter: f, Rows: rowsOf(p.Items)}
	if p.NextCursor != 0 {
		n := query(r, "platform", "type", "since")
		n.Set("cursor", jsonNum(p.NextCursor))
		d.Next = n.Encode()
	}
	c.render(w, r, "events", "Events", d)
}

// indexNote is indexOffNote when the API answered without an index, else "".
func indexNote(rc *recorder) string {
	if rc != nil && rc.hdr.Get(apiIndexHeader) == "off" {
		return indexOffNote
	}
	return ""
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func (c *Console) search(w http.ResponseWriter, r *http.Request, q string) {
	_, err := c.call(r, http.MethodGet, "/api/v1/events/"+url.PathEscape(q), nil, "", nil)
	if err == nil {
		http.Redirect(w, r, "/ui/events/"+url.PathEscape(q), http.StatusSeeOther)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusNotFound {
		c.fail(w, r, err)
		return
	}
	note := ""
	for _, key := range []string{"resource_id", "correlation_id"} {
		var p Page
		rc, err := c.call(r, http.MethodGet, "/api/v1/timeline?"+url.Values{key: {q}}.Encode(), nil, "", &p)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if len(p.Items) > 0 {
			http.Redirect(w, r, "/ui/timeline?"+url.Values{key: {q}}.Encode(), http.StatusSeeOther)
			return
		}
		note = indexNote(rc)
	}
	c.render(w, r, "events", "Events", listData{Q: q, Note: strings.TrimSpace("Nothing found for " + q + " (event id, resource id or correlation id). " + note)})
}

type eventData struct {
	row
	Routes []Route
	Result *replayResult
	Route  string
}

func (c *Console) event(w http.ResponseWriter, r *http.Request) {
	var e Event
	if _, err := c.call(r, http.MethodGet, "/api/v1/events/"+url.PathEscape(r.PathValue("id")), nil, "", &e); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "event", "Event "+r.PathValue("id"), eventData{row: rowOf(e), Routes: c.cfg.Routes})
}

// replay is two steps: without confirm=yes it asks the API for a dry run and shows a confirmation
// form; with it, it sends.
func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	id, route := r.PathValue("id"), r.PostFormValue("route")
	confirm := r.PostFormValue("confirm") == "yes"
	body, _ := json.Marshal(replayRequest{IDs: []string{id}, Route: route, DryRun: !confirm})
	var res replayResult
	if _, err := c.call(r, http.MethodPost, "/api/v1/replay", body, "application/json", &res); err != nil {
		c.fail(w, r, err)
		return
	}
	var e Event
	if _, err := c.call(r, http.MethodGet, "/api/v1/events/"+url.PathEscape(id), nil, "", &e); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "event", "Event "+id, eventData{row: rowOf(e), Routes: c.cfg.Routes, Result: &res, Route: route})
}

func (c *Console) timeline(w http.ResponseWriter, r *http.Request) {
	f := query(r, "resource_id", "correlation_id")
	var p Page
	rc, err := c.call(r, http.MethodGet, "/api/v1/timeline?"+f.Encode(), nil, "", &p)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	key := f.Get("resource_id") + f.Get("correlation_id")
	c.render(w, r, "timeline", "Timeline "+key, listData{Filter: f, Q: key, Rows: rowsOf(p.Items), Note: indexNote(rc)})
}

func (c *Console) dlq(w http.ResponseWriter, r *http.Request) {
	c.list(w, r, "/api/v1/dlq", "dlq", "Dead letters")
}

func (c *Console) quarantine(w http.ResponseWriter, r *http.Request) {
	c.list(w, r, "/api/v1/quarantine", "quarantine", "Quarantine")
}

func (c *Console) list(w http.ResponseWriter, r *http.Request, path, name, title string) {
	f := query(r, "cursor")
	var p Page
	if _, err := c.call(r, http.MethodGet, path+"?"+f.Encode(), nil, "", &p); err != nil {
		c.fail(w, r, err)
		return
	}
	d := listData{Rows: rowsOf(p.Items), Note: r.URL.Query().Get("done")}
	if p.NextCursor != 0 {
		d.Next = "cursor=" + jsonNum(p.NextCursor)
	}
	c.render(w, r, name, title, d)
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	seq := r.PathValue("seq")
	if _, err := c.call(r, http.MethodPost, "/api/v1/dlq/"+url.PathEscape(seq)+"/redrive", nil, "", nil); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/ui/dlq?"+url.Values{"done": {"Dead letter " + seq + " redriven."}}.Encode(), http.StatusSeeOther)
}

// reverify checks a quarantined request again and says the outcome on the quarantine page.
func (c *Console) reverify(w http.ResponseWriter, r *http.Request) {
	seq := r.PathValue("seq")
	var res Reverified
	if _, err := c.call(r, http.MethodPost, "/api/v1/quarantine/"+url.PathEscape(seq)+"/verify", nil, "", &res); err != nil {
		c.fail(w, r, err)
		return
	}
	note := fmt.Sprintf("Request %s (source %s): ", seq, res.Source)
	if res.Valid {
		note += "valid now (scheme " + res.Scheme
		if res.MessageID != "" {
			note += ", message id " + res.MessageID
		}
		note += "). The platform's retry, or a resend from its dashboard, will be stored."
	} else {
		note += "still not valid: " + res.Reason
		if res.Detail != "" {
			note += " (" + res.Detail + ")"
		}
	}
	http.Redirect(w, r, "/ui/quarantine?"+url.Values{"done": {note}}.Encode(), http.StatusSeeOther)
}

func (c *Console) routes(w http.ResponseWriter, r *http.Request) {
	var st Status
	if _, err := c.call(r, http.MethodGet, "/api/v1/status", nil, "", &st); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "routes", "Sources and routes", st)
}

func (c *Console) tail(w http.ResponseWriter, r *http.Request) {
	if _, err := c.call(r, http.MethodGet, "/api/v1/events?limit=1", nil, "", nil); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "tail", "Live tail", query(r, "platform", "type").Encode())
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "login", "Log in", "")
}

// logout ends the API session and expires the console's copies of its cookies, so the browser
// keeps nothing that still opens the API.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	rc, err := c.call(r, http.MethodPost, "/api/v1/logout", nil, "", nil)
	if err != nil && (rc == nil || rc.status != http.StatusUnauthorized) {
		c.fail(w, r, err)
		return
	}
	if rc != nil {
		for _, sc := range rc.hdr.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", sc)
		}
	}
	for _, name := range []string{apiCookie, apiCSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/ui/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// login hands the token to the API's login; the API's session cookie (Path=/api/, for the live
// tail) is passed on, and copied to Path=/ui/ with the API's CSRF token for the console's calls.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	form := url.Values{"token": {r.PostFormValue("token")}}
	var ans struct {
		CSRF string `json:"csrf_token"`
	}
	rc, err := c.call(r, http.MethodPost, "/api/v1/login", []byte(form.Encode()), "application/x-www-form-urlencoded", &ans)
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, "login", "Log in", "Wrong token.")
		return
	}
	for _, sc := range rc.hdr.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", sc)
		if ck, err := http.ParseSetCookie(sc); err == nil && ck.Name == apiCookie {
			ck.Path = "/ui/"
			http.SetCookie(w, ck)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: apiCSRFCookie, Value: ans.CSRF, Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}
