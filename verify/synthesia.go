package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// The Synthesia scheme: an HMAC-SHA256 over "<timestamp>.<body>" keyed with
// the secret as UTF-8 bytes, written as hex (Python's hexdigest) in the
// Synthesia-Signature header, the timestamp being in Synthesia-Timestamp.
// CONFIRMED: docs.synthesia.io/reference/verifying-synthesia-signatures.
//
// The timestamp's unit is not stated (UNCONFIRMED, docs.synthesia.io). A
// value below 1e11 is read as unix seconds (a seconds value stays below it
// until the year 5138), one at or above as unix milliseconds, so a genuine
// request is accepted in either unit; the tolerance applies to the time so
// read, and the signature covers the header as sent, whichever the unit.
const (
	synScheme           = "synthesia"
	synSignatureHeader  = "Synthesia-Signature"
	synTimestampHeader  = "Synthesia-Timestamp"
	synDefaultTolerance = 10 * time.Minute
)

type synthesia struct {
	keys []*macKey
	tol  time.Duration
}

func newSynthesia(cfg Config) (Verifier, []error) {
	return &synthesia{
		keys: newMACKeys(sha256.New, stringKeys(cfg.Secrets)),
		tol:  tolerance(cfg, synDefaultTolerance),
	}, checkSecrets(cfg.Secrets)
}

// Verify checks a Synthesia request.
func (v *synthesia) Verify(req Request) (Result, error) {
	sig, err := singleHeader(synScheme, req.Header, synSignatureHeader)
	if err != nil {
		return Result{}, err
	}
	tsRaw, err := singleHeader(synScheme, req.Header, synTimestampHeader)
	if err != nil {
		return Result{}, err
	}
	mac, ok := decodeMAC(sig, sha256.Size, true, false)
	if !ok {
		return Result{}, fail(synScheme, ReasonMalformedHeader, synSignatureHeader+" is not a hex SHA-256 MAC")
	}
	ts, err := parseSynthesiaTimestamp(tsRaw)
	if err != nil {
		return Result{}, err
	}
	if err := checkTolerance(synScheme, ts, req.Now, v.tol); err != nil {
		return Result{}, err
	}
	if !anyMACMatches(v.keys, req.Body, [][]byte{mac}, tsRaw) {
		return Result{}, fail(synScheme, ReasonSignatureMismatch, "signature matches no secret")
	}
	return Result{Timestamp: ts}, nil
}

// synMillisFrom is the smallest Synthesia-Timestamp read as milliseconds.
const synMillisFrom = 1e11

// parseSynthesiaTimestamp reads Synthesia-Timestamp as unix seconds, or as
// unix milliseconds when it is too large to be seconds.
func parseSynthesiaTimestamp(s string) (time.Time, error) {
	n, ok := parseUnix(s)
	if !ok {
		return time.Time{}, fail(synScheme, ReasonMalformedHeader, synTimestampHeader+" is not an integer unix timestamp")
	}
	if n >= synMillisFrom {
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Unix(n, 0).UTC(), nil
}

// SignSynthesia returns the Synthesia-Signature header value (lowercase
// hex) for body sent at time ts; Synthesia-Timestamp must carry ts.Unix().
func SignSynthesia(secret string, ts time.Time, body []byte) string {
	prefix := strconv.FormatInt(ts.Unix(), 10) + "."
	return hex.EncodeToString(sumHMAC(sha256.New, []byte(secret), []byte(prefix), body))
}
