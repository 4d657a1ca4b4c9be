package platformapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/avatarbus/avatarbus/platform"
)

// This file holds what the platform listers share. A lister's terminal jobs carry a Body shaped like
// the platform's webhook body; its non-terminal jobs (watched for stalls only, never published)
// carry the API object as is.

// pageLimit is the page size asked of every list endpoint: 100 is the largest all five accept
// (shared/platform-apis.md).
const pageLimit = 100

// polling returns o with the platform's polling budget when o sets none.
func polling(platform string, o Options) Options {
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = DefaultRequestsPerMinute[platform]
	}
	return o
}

// webhookBody marshals a synthetic webhook body; its values are API objects or strings, which
// always marshal.
func webhookBody(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("building the webhook body: %w", err)
	}
	return b, nil
}

// withFields returns the API object obj with the members of extra added (replacing any of the
// same name), so the webhook's field names are found next to the API's own.
func withFields(obj json.RawMessage, extra map[string]any) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, fmt.Errorf("%w: a listed item is not an object: %v", ErrBadResponse, err)
	}
	for k, v := range extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("building the webhook body: %w", err)
		}
		m[k] = b
	}
	return json.Marshal(m)
}

// resourceID is what the platform's preset reads as the resource id of body: the lister and the
// webhook then agree on it by construction.
func resourceID(name string, body json.RawMessage) string {
	p, ok := platform.Default().Lookup(name)
	if !ok {
		return ""
	}
	return p.Normalize(platform.Input{Source: name, Body: body}).Data.ResourceID
}

// inWindow reports whether a job changed at t belongs to a listing since since. A job whose time is
// unknown is kept: dropping a genuine job is worse than looking at it twice.
func inWindow(t, since time.Time) bool {
	return t.IsZero() || since.IsZero() || !t.Before(since)
}

// jsonTime reads a time the way APIs write it, whatever their docs say: a number of seconds since
// the epoch (milliseconds when it is too large to be seconds), or an RFC 3339 or Tavus-style
// string; zero when absent or unreadable, so that a field of an unexpected type never fails a
// listing.
func jsonTime(raw json.RawMessage) time.Time {
	var n float64
	if len(raw) > 0 && json.Unmarshal(raw, &n) == nil {
		if n <= 0 {
			return time.Time{}
		}
		if n > 1e11 {
			return time.UnixMilli(int64(n)).UTC()
		}
		sec := int64(n)
		return time.Unix(sec, int64((n-float64(sec))*1e9)).UTC()
	}
	var s string
	if len(raw) > 0 && json.Unmarshal(raw, &s) == nil {
		return isoTime(s)
	}
	return time.Time{}
}

// isoTime reads an RFC 3339 time, or Tavus's "2024-08-28 15:27:40.824457" (UTC assumed); zero
// when absent or unreadable.
func isoTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
