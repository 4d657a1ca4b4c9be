package platformapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Errors every client returns, wrapped: an [*APIError] matches the first four by its status.
var (
	// ErrNoKey: no API key was given.
	ErrNoKey = errors.New("no API key")
	// ErrUnauthorized: the API refused the key (401 or 403).
	ErrUnauthorized = errors.New("API key refused")
	// ErrNotFound: the API does not know the resource (404).
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: the API asks to slow down (429).
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: the API failed (5xx).
	ErrServer = errors.New("platform API error")
	// ErrUnreachable: no answer: connection refused, DNS, TLS, or the timeout passed.
	ErrUnreachable = errors.New("platform API unreachable")
	// ErrBadResponse: a 2xx answer that is not the JSON the API documents.
	ErrBadResponse = errors.New("unexpected answer from the platform API")
)

// DefaultTimeout bounds one API call when Options.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// maxResponse caps the bytes read from an answer: a Tavus conversation with its transcript is the
// largest one expected.
const maxResponse = 8 << 20

// UserAgent is sent with every call, so the platforms' logs show who called.
var UserAgent = "avatarbus"

// Options configures a platform client.
type Options struct {
	// Base is the API base URL (scheme, host and an optional path prefix); "" means the platform's
	// public API. Tests point it at an httptest server.
	Base string
	// Key is the API key; required.
	Key string
	// Timeout bounds each call; 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient replaces the default client (its Timeout is then used as is).
	HTTPClient *http.Client
	// RequestsPerMinute is the client's request budget; 0 means none, except for the clients of
	// NewLister and NewBalancer, which then get the platform's DefaultRequestsPerMinute (polling
	// must not crowd out the calls that confirm webhooks as they arrive); negative means none.
	RequestsPerMinute int
}

// DefaultRequestsPerMinute is each platform's polling budget (NewLister, NewBalancer) when
// Options.RequestsPerMinute is 0.
// Synthesia documents 60 reads a minute on its lowest API tier (CONFIRMED,
// https://docs.synthesia.io/reference/rate-limits and /docs/what-can-i-use-api-for). HeyGen, D-ID,
// Tavus and ElevenLabs publish no per-minute figure for the GET endpoints used (UNKNOWN,
// shared/platform-apis.md), so they get the same conservative 60.
var DefaultRequestsPerMinute = map[string]int{
	"heygen":     60,
	"did":        60,
	"tavus":      60,
	"elevenlabs": 60,
	"synthesia":  60,
}

// budgetBurst is how many calls a client may make at once before its budget spaces them out: a
// poll of a few pages should not wait a second per page.
const budgetBurst = 10

// APIError is an answer of a platform API that is not 2xx.
type APIError struct {
	// Platform is the preset name: heygen, synthesia, elevenlabs, did, tavus.
	Platform string
	// Status is the HTTP status code.
	Status int
	// Message is what the API said, shortened to one line; never the API key.
	Message string
	// RetryAfter is the wait a 429 asked for (Retry-After, else RateLimit-Reset); 0 when none.
	RetryAfter time.Duration
}

// RetryAfter returns the wait a rate-limited call was asked to observe: true when err wraps
// ErrRateLimited and the platform said how long (Retry-After in seconds or as an HTTP date, or
// RateLimit-Reset in seconds).
func RetryAfter(err error) (time.Duration, bool) {
	ae, ok := errors.AsType[*APIError](err)
	if !ok || ae.Status != http.StatusTooManyRequests || ae.RetryAfter <= 0 {
		return 0, false
	}
	return ae.RetryAfter, true
}

// retryAfter reads the wait of a 429: Retry-After (RFC 9110: seconds or an HTTP date; HeyGen sends
// it, CONFIRMED developers.heygen.com/docs/usage-limits), else RateLimit-Reset (seconds; Synthesia,
// CONFIRMED docs.synthesia.io/reference/rate-limits).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

// Error returns "<platform> API: <status> <text>: <message>".
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s API: %d %s", e.Platform, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the sentinel of e's status class.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// authFunc puts the API key into a request, in the platform's own header.
type authFunc func(h http.Header, key string)

// client is the HTTP client every platform file shares.
type client struct {
	platform string
	base     *url.URL
	key      string
	auth     authFunc
	http     *http.Client
	budget   *rate.Limiter // nil: no budget
}

func newClient(platform, defaultBase string, auth authFunc, o Options) (*client, error) {
	if strings.TrimSpace(o.Key) == "" {
		return nil, fmt.Errorf("%s: %w", platform, ErrNoKey)
	}
	base := o.Base
	if base == "" {
		base = defaultBase
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%s: API base %q must be an absolute http(s) URL without a query", platform, base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	hc := o.HTTPClient
	if hc == nil {
		t := o.Timeout
		if t <= 0 {
			t = DefaultTimeout
		}
		hc = &http.Client{Timeout: t}
	}
	var budget *rate.Limiter
	if rpm := o.RequestsPerMinute; rpm > 0 {
		budget = rate.NewLimiter(rate.Limit(float64(rpm)/60), min(budgetBurst, rpm))
	}
	return &client{platform: platform, base: u, key: o.Key, auth: auth, http: hc, budget: budget}, nil
}

// call sends method path?query with body (JSON-encoded when not nil) and decodes a 2xx answer into
// out (nil: ignore it; *json.RawMessage: keep the bytes). path is already escaped.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return fmt.Errorf("%s API: %w", c.platform, err)
	}
	u.Path = p
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s API: encoding the request: %w", c.platform, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s API: %w", c.platform, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.auth(req.Header, c.key)
	if c.budget != nil {
		// Waits within ctx: a deadline that the budget cannot meet fails now, not later.
		if err := c.budget.Wait(ctx); err != nil {
			return fmt.Errorf("%s API: %s %s: %w: waiting for the request budget: %w", c.platform, method, path, ErrRateLimited, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s API: %s %s: %w: %w", c.platform, method, path, ErrUnreachable, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s API: %s %s: %w: reading the answer: %w", c.platform, method, path, ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Platform: c.platform, Status: resp.StatusCode, Message: c.message(raw)}
		if resp.StatusCode == http.StatusTooManyRequests {
			ae.RetryAfter = retryAfter(resp.Header, time.Now())
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if rm, ok := out.(*json.RawMessage); ok {
		if !json.Valid(raw) {
			return fmt.Errorf("%s API: %s %s: %w: not JSON", c.platform, method, path, ErrBadResponse)
		}
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s API: %s %s: %w: %v", c.platform, method, path, ErrBadResponse, err)
	}
	return nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the whole URL.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if ue.Timeout() {
			return fmt.Errorf("timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// message reads what an error answer says: the platforms disagree on where ({"message"},
// {"error": {"message"}}, {"detail": {"message"}} or a string, {"msg"}), so the first found wins.
// It is cut to one short line, and the API key is masked should the platform echo it.
func (c *client) message(raw []byte) string {
	var msg string
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		msg = firstText(obj, "message", "error", "detail", "msg", "description")
	} else {
		msg = string(raw)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if c.key != "" {
		msg = strings.ReplaceAll(msg, c.key, "[redacted]")
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

// firstText returns the first of keys holding a string, or an object holding one of keys.
func firstText(obj map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		v, ok := obj[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil && s != "" {
			return s
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			if s := firstText(inner, keys...); s != "" {
				return s
			}
		}
	}
	return ""
}

// ErrBadID: a resource id that cannot name a resource (empty, "." or ".."), refused before any call.
var ErrBadID = errors.New("invalid resource id")

// pathID escapes a resource id as one path segment, so an id from a callback cannot reach another
// endpoint ("../webhooks").
func pathID(id string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", fmt.Errorf("%w %q", ErrBadID, id)
	}
	return "/" + url.PathEscape(id), nil
}
