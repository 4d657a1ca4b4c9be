package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/record"
)

// DefaultQuarantineTimeout bounds keeping one refused request when QuarantineConfig.Timeout is
// zero. It is short on purpose: the platform's 401 waits for it.
const DefaultQuarantineTimeout = 250 * time.Millisecond

// quarantineDuplicates is the quarantine stream's duplicate window. Nothing is published with a
// Nats-Msg-Id (a refusal is not idempotent: every attempt is worth seeing), so the window only has
// to be valid: at most the stream's max age.
const quarantineDuplicates = 2 * time.Minute

// ErrNotQuarantined is returned (wrapped) by RefusedFromMsg for a message that is not a refused
// request kept by avatarbus.
var ErrNotQuarantined = errors.New("not a quarantined request")

// QuarantineConfig is what avatarbus decides about the quarantine stream (AVATAR_QUARANTINE):
// where refused requests are kept, for how long and in how much space.
type QuarantineConfig struct {
	Name     string
	Subjects []string
	Replicas int
	MaxAge   time.Duration
	// MaxBytes bounds the stream; it must be > 0, since strangers decide what lands there. The
	// oldest requests are discarded first.
	MaxBytes int64
	// Timeout bounds each Keep; 0 = DefaultQuarantineTimeout.
	Timeout time.Duration
}

// streamConfig is the StreamConfig EnsureStream gets for the quarantine.
func (q *QuarantineConfig) streamConfig() StreamConfig {
	return StreamConfig{
		Name: q.Name, Subjects: q.Subjects, Replicas: q.Replicas, MaxAge: q.MaxAge,
		Duplicates: min(quarantineDuplicates, q.MaxAge), MaxBytes: q.MaxBytes,
	}
}

// check reports what makes q unusable.
func (q *QuarantineConfig) check() error {
	switch {
	case q.Name == "" || len(q.Subjects) == 0:
		return errors.New("quarantine: stream name and subjects are required")
	case q.MaxAge <= 0:
		return fmt.Errorf("quarantine: max age must be > 0 (got %s)", q.MaxAge)
	case q.MaxBytes <= 0:
		return fmt.Errorf("quarantine: max bytes must be > 0 (got %d)", q.MaxBytes)
	}
	return nil
}

// Refused is a request the ingest tier refused, as kept on the quarantine stream (see
// package record, which both ingest and broker import).
type Refused = record.Refused

// Headers of a quarantined message. Request headers are kept under RequestHeaderPrefix so that
// none of them can be read as a JetStream header (Nats-Msg-Id, Nats-Expected-Stream …) or collide
// with avatarbus's own.
const (
	HeaderSource       = "Avatarbus-Source"
	HeaderReason       = "Avatarbus-Reason"
	HeaderDetail       = "Avatarbus-Detail"
	HeaderRequestID    = "Avatarbus-Request-Id"
	HeaderReceivedAt   = "Avatarbus-Received-At" // RFC 3339 with nanoseconds
	HeaderPath         = "Avatarbus-Path"
	HeaderQueryDropped = "Avatarbus-Query-Dropped" // "true" when the request had a query string
	// RequestHeaderPrefix prefixes each request header: Webhook-Signature is kept as
	// Http-Webhook-Signature.
	RequestHeaderPrefix = "Http-"
)

// msg encodes r as a NATS message on subject.
func refusedMsg(r *Refused, subject string) *nats.Msg {
	h := make(nats.Header, len(r.Header)+7)
	for k, vs := range r.Header {
		h[RequestHeaderPrefix+k] = append([]string(nil), vs...)
	}
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set(HeaderSource, r.Source)
	set(HeaderReason, r.Reason)
	set(HeaderDetail, r.Detail)
	set(HeaderRequestID, r.RequestID)
	if !r.ReceivedAt.IsZero() {
		set(HeaderReceivedAt, r.ReceivedAt.UTC().Format(time.RFC3339Nano))
	}
	set(HeaderPath, r.Path)
	if r.QueryDropped {
		set(HeaderQueryDropped, "true")
	}
	return &nats.Msg{Subject: subject, Header: h, Data: r.Body}
}

// RefusedFromMsg decodes a message of the quarantine stream. It returns an error wrapping
// ErrNotQuarantined when the message lacks avatarbus's headers.
func RefusedFromMsg(header nats.Header, data []byte) (*Refused, error) {
	get := func(k string) string {
		if vs := header[k]; len(vs) > 0 {
			return vs[0]
		}
		for hk, vs := range header { // keys may come back in another case than written
			if strings.EqualFold(hk, k) && len(vs) > 0 {
				return vs[0]
			}
		}
		return ""
	}
	r := &Refused{
		Source: get(HeaderSource), Reason: get(HeaderReason), Detail: get(HeaderDetail),
		RequestID: get(HeaderRequestID), Path: get(HeaderPath), QueryDropped: get(HeaderQueryDropped) == "true",
		Header: http.Header{}, Body: data,
	}
	if r.Source == "" {
		return nil, fmt.Errorf("%w: no %s header", ErrNotQuarantined, HeaderSource)
	}
	if at := get(HeaderReceivedAt); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: %w", ErrNotQuarantined, HeaderReceivedAt, at, err)
		}
		r.ReceivedAt = t
	}
	for k, vs := range header {
		name, ok := cutPrefixFold(k, RequestHeaderPrefix)
		if !ok || name == "" {
			continue
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		r.Header[name] = append(r.Header[name], vs...)
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	r.HeadersDropped = get(HeaderHeadersDropped)
	if n := get(HeaderBodyTruncated); n != "" {
		full, err := strconv.Atoi(n)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: %w", ErrNotQuarantined, HeaderBodyTruncated, n, err)
		}
		r.BodyTruncatedFrom = full
	}
	return r, nil
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// Quarantine keeps refused requests on the quarantine stream. A nil *Quarantine keeps nothing.
type Quarantine struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	timeout time.Duration
}

// Quarantine returns the quarantine of b, or nil when b was opened without one.
func (b *Broker) Quarantine() *Quarantine {
	q := b.cfg.Quarantine
	if q == nil {
		return nil
	}
	timeout := q.Timeout
	if timeout <= 0 {
		timeout = DefaultQuarantineTimeout
	}
	return &Quarantine{nc: b.Conn, js: b.JS, stream: q.Name, timeout: timeout}
}

// Keep stores r on subject and waits for JetStream's ack, at most until ctx ends or the
// quarantine's timeout passes, and returns the stream sequence it got. It returns an error
// wrapping ErrUnavailable when r was not stored: disconnected, or no ack in time. A request too
// large for one message is cut to fit (see fit), and the cut is marked.
func (q *Quarantine) Keep(ctx context.Context, subject string, r *Refused) (uint64, error) {
	if q == nil {
		return 0, fmt.Errorf("%w: quarantine is off", ErrUnavailable)
	}
	if !q.nc.IsConnected() {
		return 0, fmt.Errorf("%w: %s", ErrUnavailable, q.nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	m := refusedMsg(r, subject)
	fit(m, q.nc.MaxPayload())
	ack, err := q.js.PublishMsg(ctx, m, jetstream.WithExpectStream(q.stream))
	if err != nil {
		return 0, fmt.Errorf("%w: quarantine %s: %w", ErrUnavailable, q.stream, err)
	}
	return ack.Sequence, nil
}
