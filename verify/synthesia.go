package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// The Synthesia scheme: an HMAC-SHA256 over "<timestamp>.<body>" keyed with
// the secret as-is, in the Synthesia-Signature header, the timestamp being
// in Synthesia-Timestamp.
const (
	synScheme           = "synthesia"
	synSignatureHeader  = "Synthesia-Signature"
	synTimestampHeader  = "Synthesia-Timestamp"
	synDefaultTolerance = 10 * time.Minute
)

type synthesia struct {
	keys [][]byte
	tol  time.Duration
}

func newSynthesia(cfg Config) (Verifier, []error) {
	return &synthesia{
		keys: stringKeys(cfg.Secrets),
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
	// The MAC may be written in hex or in base64; both are accepted, since
	// the decoded bytes are what is compared.
	mac, ok := decodeMAC(sig, sha256.Size, true, true)
	if !ok {
		return Result{}, fail(synScheme, ReasonMalformedHeader, synSignatureHeader+" is not a hex or base64 SHA-256 MAC")
	}
	ts, err := parseTimestamp(synScheme, synTimestampHeader, tsRaw)
	if err != nil {
		return Result{}, err
	}
	if err := checkTolerance(synScheme, ts, req.Now, v.tol); err != nil {
		return Result{}, err
	}
	prefix := make([]byte, 0, len(tsRaw)+1)
	prefix = append(append(prefix, tsRaw...), '.')
	if !anyMACMatches(sha256.New, v.keys, prefix, req.Body, mac) {
		return Result{}, fail(synScheme, ReasonSignatureMismatch, "signature matches no secret")
	}
	return Result{Timestamp: ts}, nil
}

// SignSynthesia returns the Synthesia-Signature header value (lowercase
// hex) for body sent at time ts; Synthesia-Timestamp must carry ts.Unix().
func SignSynthesia(secret string, ts time.Time, body []byte) string {
	prefix := strconv.FormatInt(ts.Unix(), 10) + "."
	return hex.EncodeToString(sumHMAC(sha256.New, []byte(secret), []byte(prefix), body))
}
