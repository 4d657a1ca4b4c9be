package verify

import "errors"

// ErrConfig is matched (errors.Is) by every error New returns.
var ErrConfig = errors.New("verify: invalid configuration")

// ErrUnverified is matched (errors.Is) by every verification failure.
var ErrUnverified = errors.New("request not verified")

// Reasons are the stable machine codes of verification failures. They end
// up in HTTP answers and metric labels, so they must never change.
const (
	// ReasonMissingHeader means a required header is absent or empty.
	ReasonMissingHeader = "missing_header"
	// ReasonMalformedHeader means a header is present but cannot be parsed:
	// bad base64 or hex, a MAC of the wrong length, a bad t=/v0= format, a
	// non-integer timestamp, or a header repeated with conflicting values.
	ReasonMalformedHeader = "malformed_header"
	// ReasonSignatureMismatch means the request is well formed but no
	// secret produced a matching MAC or token.
	ReasonSignatureMismatch = "signature_mismatch"
	// ReasonTimestampTolerance means the signed timestamp is too far from
	// Request.Now, in the past or in the future.
	ReasonTimestampTolerance = "timestamp_out_of_tolerance"
	// ReasonMissingToken means the token scheme found no token in the
	// query or header.
	ReasonMissingToken = "missing_token"
)

// Error is a verification failure.
type Error struct {
	// Scheme is the name of the scheme that refused the request.
	Scheme string
	// Reason is one of the Reason constants.
	Reason string
	// Detail is a human explanation. It never contains secrets or
	// computed MACs, so it is safe to log.
	Detail string
}

// Error returns "<scheme>: <reason>: <detail>".
func (e *Error) Error() string {
	return e.Scheme + ": " + e.Reason + ": " + e.Detail
}

// Unwrap returns ErrUnverified, so that every *Error matches it.
func (e *Error) Unwrap() error { return ErrUnverified }

// ReasonOf returns the Reason of a verification error, or "" when err is
// not (and does not wrap) an *Error.
func ReasonOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return ""
}

// fail builds the *Error that a scheme returns.
func fail(scheme, reason, detail string) error {
	return &Error{Scheme: scheme, Reason: reason, Detail: detail}
}
