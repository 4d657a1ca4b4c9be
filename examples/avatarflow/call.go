package main

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
	"time"

	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/verify"
)

// statusError is an answer other than 2xx from a target.
type statusError struct {
	Target string
	Status int
	Body   string
}

func (e *statusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s answered HTTP %d", e.Target, e.Status)
	}
	return fmt.Sprintf("%s answered HTTP %d: %s", e.Target, e.Status, e.Body)
}

// caller POSTs JSON to the targets.
type caller struct {
	client  *http.Client
	timeout time.Duration
	secret  string // whsec_…; empty sends unsigned requests
}

// post sends payload as JSON to target (named name in errors and logs: the URL may hold a token).
// The event id goes in the Idempotency-Key header, and as webhook-id when signing, so that the
// receiver can drop a second call for the same event.
//
// What the answer means for the event is decided here, once for every flow:
//   - 2xx: done, the event is acknowledged;
//   - 429 and 5xx, or no answer: retried with the router's backoff, or after Retry-After;
//   - any other 4xx: the request itself is wrong and a retry would get the same answer, so the
//     event goes straight to the dead-letter stream (router.Permanent).
func (c *caller) post(ctx context.Context, name, target, id string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return router.Permanent(fmt.Errorf("%s: encode: %w", name, err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return router.Permanent(fmt.Errorf("%s: %w", name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "avatarflow")
	req.Header.Set("Idempotency-Key", id)
	if c.secret != "" {
		signed, err := verify.Sign(verify.Config{Scheme: "standardwebhooks"}, c.secret, id, time.Now(), body)
		if err != nil {
			return router.Permanent(fmt.Errorf("%s: sign: %w", name, err))
		}
		for k, vs := range signed.Header {
			req.Header[k] = vs
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text repeats the URL
		}
		return fmt.Errorf("%s: POST: %w", name, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	se := &statusError{Target: name, Status: resp.StatusCode, Body: string(bytes.TrimSpace(snippet))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			return router.RetryAfter(time.Duration(secs)*time.Second, se)
		}
		return se
	default:
		return router.Permanent(se)
	}
}
