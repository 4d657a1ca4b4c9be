// Package record holds the records that cross between the ingest side and the broker: what
// JetStream acknowledged ([Ack]), a refused request to keep ([Refused]) and a stored object
// ([ObjectRef]). Both sides import it, so neither imports the other: ingest and offload declare
// the interfaces they need in these types, and package broker implements them.
//
// record imports nothing of avatarbus.
package record

import (
	"net/http"
	"time"
)

// Ack is JetStream's acknowledgement of a stored event.
type Ack struct {
	Stream    string
	Seq       uint64
	Duplicate bool // the id was already in the stream's duplicate window; nothing new was stored
}

// Refused is a request the ingest tier refused for its signature or timestamp (401), as it is
// kept on the quarantine stream: enough to verify it again once a secret is fixed.
type Refused struct {
	Source     string    // the configured source name (the subject's last token)
	Reason     string    // verify's reason code, e.g. signature_mismatch
	Detail     string    // verify's explanation; it never holds secrets
	RequestID  string    // the X-Request-Id the platform was answered with
	ReceivedAt time.Time // when the request arrived: the time its timestamp was judged against
	// Path is the URL path, without the query: the query string is never kept, because a token
	// source's secret travels there.
	Path string
	// QueryDropped reports that the request had a query string, which was not kept.
	QueryDropped bool
	// Header holds the request's headers as they came, except that the values of secret carriers
	// (Authorization, Cookie, a token source's header) are masked by the caller.
	Header http.Header
	Body   []byte // the raw body, byte for byte

	// Set on a message read back when the request did not fit a NATS message whole.
	// HeadersDropped lists the request headers left out ("X-Padding=60012, …"); BodyTruncatedFrom
	// is the body's full length when Body is only its start, else 0. Either makes re-verification
	// fail where the cut part was signed.
	HeadersDropped    string
	BodyTruncatedFrom int
}

// ObjectRef is where a stored object is and what it holds.
type ObjectRef struct {
	URL    string // nats://<bucket>/<name>
	Name   string
	Size   int64
	Digest string // the object store's "SHA-256=<base64url>"
}
