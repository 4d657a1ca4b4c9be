package broker

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// Limits a quarantined message must fit. JetStream refuses a header block longer than 65535 bytes
// (nats-server v2.15 server/stream.go, JSStreamHeaderExceedsMaximumErr "header size exceeds maximum
// allowed of 64k"), and the server any message, headers included, over its max payload. A refused
// request may carry up to http.max_header_bytes (64 KiB) of headers, which the Http- prefix makes
// longer, plus a body up to its source's max_body: without fitting, the copy most worth keeping (a
// deliberately odd request) is the one lost.
const (
	maxHeaderBlock = math.MaxUint16
	// fitReserve is left for what nats.go adds on publish (Nats-Expected-Stream) and the markers.
	fitReserve = 1024
	// bigHeader is the size from which a request header is dropped to make room for the body: far
	// above any signature, id or timestamp header, which re-verification needs.
	bigHeader = 4096
	// maxDroppedNames bounds the names listed in HeaderHeadersDropped.
	maxDroppedNames = 20
)

// Markers on a quarantined message that did not fit whole.
const (
	// HeaderHeadersDropped lists the request headers left out to fit, largest first, each as
	// name=bytes (its encoded size), e.g. "X-Padding=60012, X-More=4100".
	HeaderHeadersDropped = "Avatarbus-Headers-Dropped"
	// HeaderBodyTruncated holds the body's full length when only its start was kept.
	HeaderBodyTruncated = "Avatarbus-Body-Truncated"
)

// headerEntrySize is the encoded size of header k with values vs: "k: v\r\n" per value.
func headerEntrySize(k string, vs []string) int {
	n := 0
	for _, v := range vs {
		n += len(k) + len(v) + 4
	}
	return n
}

// headerBlockSize is the encoded size of h: "NATS/1.0\r\n", the entries, "\r\n".
func headerBlockSize(h nats.Header) int {
	n := len("NATS/1.0\r\n") + 2
	for k, vs := range h {
		n += headerEntrySize(k, vs)
	}
	return n
}

// reverifyWords are found in the names of the headers re-verification reads: every preset's
// signature, timestamp and id headers (Webhook-Signature, Svix-Id, ElevenLabs-Signature …), an hmac
// source's own ("X-Sig"), and the content type.
var reverifyWords = []string{"sig", "timestamp", "webhook", "svix", "-id", "content-type"}

// reverifyHeader reports whether request header k (with its prefix) is one fit drops last.
func reverifyHeader(k string) bool {
	k = strings.ToLower(k)
	for _, w := range reverifyWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// fit makes m fit the limits above for a server whose max payload is maxPayload: it drops request
// headers (never avatarbus's own), largest first and those re-verification reads last, until the
// header block fits; then, while the
// message is too large, drops the big request headers that remain; then keeps only the start of
// the body. Each cut is marked on the message. A message that fits is returned untouched.
func fit(m *nats.Msg, maxPayload int64) {
	headerLimit := maxHeaderBlock - fitReserve
	payloadLimit := int(maxPayload) - fitReserve
	size := headerBlockSize(m.Header)
	if size <= headerLimit && size+len(m.Data) <= payloadLimit {
		return
	}
	type entry struct {
		key       string
		size      int
		protected bool
	}
	var req []entry
	for k, vs := range m.Header {
		if strings.HasPrefix(k, RequestHeaderPrefix) {
			req = append(req, entry{k, headerEntrySize(k, vs), reverifyHeader(k)})
		}
	}
	sort.Slice(req, func(i, j int) bool {
		if req[i].protected != req[j].protected {
			return !req[i].protected
		}
		if req[i].size != req[j].size {
			return req[i].size > req[j].size
		}
		return req[i].key < req[j].key
	})
	var dropped []entry
	for len(req) > 0 && (size > headerLimit || (size+len(m.Data) > payloadLimit && req[0].size >= bigHeader)) {
		e := req[0]
		req = req[1:]
		delete(m.Header, e.key)
		size -= e.size
		dropped = append(dropped, e)
	}
	if len(dropped) > 0 {
		var b strings.Builder
		rest := 0
		for i, e := range dropped {
			if i >= maxDroppedNames {
				rest += e.size
				continue
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%d", strings.TrimPrefix(e.key, RequestHeaderPrefix), e.size)
		}
		if n := len(dropped) - maxDroppedNames; n > 0 {
			fmt.Fprintf(&b, ", and %d more=%d", n, rest)
		}
		m.Header[HeaderHeadersDropped] = []string{b.String()}
		size += headerEntrySize(HeaderHeadersDropped, m.Header[HeaderHeadersDropped])
	}
	if size+len(m.Data) > payloadLimit {
		full := len(m.Data)
		m.Header[HeaderBodyTruncated] = []string{strconv.Itoa(full)}
		size += headerEntrySize(HeaderBodyTruncated, m.Header[HeaderBodyTruncated])
		m.Data = m.Data[:max(0, min(full, payloadLimit-size))]
	}
}
