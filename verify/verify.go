package verify

import (
	"net/textproto"
	"net/url"
	"time"
)

// Request is what a scheme checks: the raw request as it was received.
type Request struct {
	// Header holds the request headers, with canonical keys as net/http
	// gives them.
	Header textproto.MIMEHeader
	// Query holds the URL query parameters.
	Query url.Values
	// Body is the raw body, exactly as received. Schemes sign these bytes,
	// so it must not have been decoded or re-encoded.
	Body []byte
	// Now is the time that signed timestamps are checked against. Schemes
	// never read the clock themselves, so a zero Now makes every
	// timestamped request fail the tolerance check.
	Now time.Time
}

// Result is what a successful verification learned about the request.
type Result struct {
	// MessageID is the sender's message id when the scheme carries one
	// (the Standard Webhooks webhook-id header, or the hmac scheme's
	// IDHeader), and "" otherwise.
	MessageID string
	// Timestamp is the signed timestamp when the scheme has one, and the
	// zero time otherwise.
	Timestamp time.Time
}

// Verifier checks one request. Implementations are safe for concurrent use.
type Verifier interface {
	// Verify returns what it learned about req when req is authentic, and
	// an error matching ErrUnverified otherwise.
	Verify(req Request) (Result, error)
}

// Config selects and parameterises a scheme. Zero values mean the scheme's
// default, and fields that a scheme does not use are ignored.
type Config struct {
	// Scheme names the scheme; see Schemes for the known names.
	Scheme string
	// Secrets holds one or more secrets. Several secrets allow rotation:
	// a request is accepted when any one of them matches.
	Secrets []string
	// Tolerance is how far a signed timestamp may be from Request.Now;
	// zero means the scheme's default, and negative values are refused.
	Tolerance time.Duration

	// Header is, for the hmac scheme, the signature header (default
	// "Signature"); for the token scheme, the header that carries the
	// token instead of the query.
	Header string
	// Algorithm is the hmac scheme's hash: "sha256" (default) or "sha512".
	Algorithm string
	// Encoding is how the hmac scheme's MAC is written: "hex" (default) or
	// "base64".
	Encoding string
	// Prefix is an optional prefix, such as "sha256=", that the hmac
	// scheme's header value carries before the MAC.
	Prefix string
	// TimestampHeader is an optional header with a unix timestamp in
	// seconds for the hmac scheme. When it is set, the timestamp is
	// required and checked against Tolerance.
	TimestampHeader string
	// IDHeader is an optional header with a message id for the hmac
	// scheme. When it is set, the id is required and reported in
	// Result.MessageID; content "id.timestamp.body" needs it.
	IDHeader string
	// Content is what the hmac scheme signs: "body" (default),
	// "timestamp.body" or "id.timestamp.body", the parts being joined
	// with dots.
	Content string

	// Param is the token scheme's query parameter; it defaults to "token".
	// It is ignored when Header is set, the token then being read from
	// that header instead.
	Param string
}
