// Package deliver sends one avatarbus event to an HTTP endpoint the way avatarbus promises its
// consumers: the CloudEvents envelope as the body (structured mode), signed with Standard Webhooks
// headers, with a per-attempt timeout. It decides nothing about retries; it reports what the
// endpoint answered (including Retry-After) so that the caller — a route, a replay — can.
package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

// DefaultTimeout bounds one attempt when a Target sets none.
const DefaultTimeout = 10 * time.Second

// Target is an HTTP endpoint that receives events.
type Target struct {
	// URL receives a POST per event.
	URL string
	// Secret signs each request with Standard Webhooks headers (webhook-id = the event id,
	// webhook-timestamp, webhook-signature); a whsec_ secret as the receiver's library expects.
	// Empty sends unsigned requests.
	Secret string
	// Timeout bounds one attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client without redirects (a redirect is a failure, as
	// Standard Webhooks says).
	Client *http.Client
}

// ErrRejected is wrapped by the error of every attempt the endpoint did not answer 2xx.
var ErrRejected = errors.New("endpoint did not accept the event")

// StatusError is an answer other than 2xx.
type StatusError struct {
	Status     int
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
	Body       string        // the first bytes of the answer, for the dead-letter reason
}

func (e *StatusError) Error() string {
	if e.Body != "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// Unwrap makes every StatusError match ErrRejected.
func (e *StatusError) Unwrap() error { return ErrRejected }

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Validate checks t before first use.
func (t Target) Validate() error {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("deliver: url %q: want an absolute http(s) URL", t.URL)
	}
	if t.Secret != "" {
		if _, err := verify.SignStandardWebhooks(t.Secret, "probe", time.Unix(0, 0), nil); err != nil {
			return fmt.Errorf("deliver: secret: %w", err)
		}
	}
	return nil
}

// Post sends one event: body is the envelope bytes as stored, id the event id (the receiver
// deduplicates on webhook-id), header any extra headers (a replay marker, say). It returns nil only
// for a 2xx answer; a *StatusError for any other answer; another error when no answer came
// (timeout, connection refused).
func Post(ctx context.Context, t Target, id string, body []byte, header http.Header) error {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", envelope.ContentType)
	req.Header.Set("User-Agent", "avatarbus")
	// The receiver deduplicates on webhook-id, signed or not (the signature then covers it too).
	req.Header.Set("Webhook-Id", id)
	// The caller's span (a route's delivery attempt, when tracing is on) becomes the receiver's
	// parent: W3C traceparent/tracestate headers, whatever the process's global propagator is.
	span := trace.SpanFromContext(ctx)
	if span.SpanContext().IsValid() {
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	if t.Secret != "" {
		signed, err := verify.Sign(verify.Config{Scheme: "standardwebhooks"}, t.Secret, id, time.Now(), body)
		if err != nil {
			return fmt.Errorf("deliver: sign: %w", err)
		}
		for k, vs := range signed.Header {
			req.Header[k] = vs
		}
	}
	client := t.Client
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // keep the URL (it may carry a token) out of logs and dead letters
		}
		return fmt.Errorf("deliver: POST: %w", err)
	}
	defer resp.Body.Close()
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return &StatusError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()), Body: string(bytes.TrimSpace(snippet))}
}

// retryAfter reads a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
