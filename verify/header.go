package verify

import (
	"encoding/base64"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// singleHeader returns the one value of the header name. An absent or empty
// header is missing; a header repeated with different values is malformed,
// because a proxy or attacker could make the signer and the verifier see
// different values.
func singleHeader(scheme string, h textproto.MIMEHeader, name string) (string, error) {
	value, ok := singleValue(h.Values(name), trimOWS)
	if !ok {
		return "", fail(scheme, ReasonMalformedHeader, name+" header is repeated with different values")
	}
	if value == "" {
		return "", fail(scheme, ReasonMissingHeader, name+" header is missing or empty")
	}
	return value, nil
}

// singleValue returns the value that every element of values has after
// norm, "" when values is empty, and false when the elements disagree.
func singleValue(values []string, norm func(string) string) (string, bool) {
	if len(values) == 0 {
		return "", true
	}
	value := norm(values[0])
	for _, v := range values[1:] {
		if norm(v) != value {
			return "", false
		}
	}
	return value, true
}

// trimOWS removes the optional white space that HTTP allows around header
// values; net/http already does so, but callers may build headers by hand.
func trimOWS(s string) string { return strings.Trim(s, " \t") }

// maxUnix bounds accepted timestamps so that time.Unix cannot overflow;
// anything larger is simply far in the future.
const maxUnix = 1 << 62

// parseUnix parses a timestamp in integer unix seconds. Only ASCII digits
// are accepted: no sign, no fraction, no exponent.
func parseUnix(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// All digits, so only an overflow gets here: clamp it, since it
		// is a valid (if absurd) integer and fails the tolerance anyway.
		return maxUnix, true
	}
	return min(n, maxUnix), true
}

// parseTimestamp parses the unix-seconds value s of the header name and
// returns it as a UTC time.
func parseTimestamp(scheme, name, s string) (time.Time, error) {
	n, ok := parseUnix(s)
	if !ok {
		return time.Time{}, fail(scheme, ReasonMalformedHeader, name+" is not an integer unix timestamp")
	}
	return time.Unix(n, 0).UTC(), nil
}

// checkTolerance refuses ts when it is more than tol before or after now.
// Future timestamps are refused too: a sender with a fast clock is rare,
// and accepting them would let a captured request be replayed for longer.
func checkTolerance(scheme string, ts, now time.Time, tol time.Duration) error {
	switch {
	case ts.Before(now.Add(-tol)):
		return fail(scheme, ReasonTimestampTolerance,
			fmt.Sprintf("timestamp is %v in the past; tolerance is %v", now.Sub(ts).Truncate(time.Second), tol))
	case ts.After(now.Add(tol)):
		return fail(scheme, ReasonTimestampTolerance,
			fmt.Sprintf("timestamp is %v in the future; tolerance is %v", ts.Sub(now).Truncate(time.Second), tol))
	}
	return nil
}

// base64Encodings are tried in turn by decodeBase64, since senders differ
// on padding and alphabet.
var base64Encodings = []*base64.Encoding{
	base64.StdEncoding,
	base64.RawStdEncoding,
	base64.URLEncoding,
	base64.RawURLEncoding,
}

// decodeBase64 decodes s in any of the standard or URL alphabets, padded
// or not.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range base64Encodings {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// validHeaderName reports whether name is a non-empty HTTP token, so that
// a typo such as a space in a configured header name is caught by New
// rather than making every request fail.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
