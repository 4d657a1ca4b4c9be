package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The ElevenLabs scheme: "ElevenLabs-Signature: t=<unix>,v0=<hex>", the MAC
// being an HMAC-SHA256 over "<t>.<body>" keyed with the secret as-is
// (CONFIRMED: elevenlabs/elevenlabs-python src/elevenlabs/webhooks_custom.py
// construct_event, commit 59560db3, which also refuses a t more than 30 min old;
// https://elevenlabs.io/docs/eleven-api/resources/webhooks, "Verify the webhook").
const (
	elScheme           = "elevenlabs"
	elSignatureHeader  = "ElevenLabs-Signature"
	elDefaultTolerance = 30 * time.Minute
)

type elevenLabs struct {
	keys []*macKey
	tol  time.Duration
}

func newElevenLabs(cfg Config) (Verifier, []error) {
	return &elevenLabs{
		keys: newMACKeys(sha256.New, stringKeys(cfg.Secrets)),
		tol:  tolerance(cfg, elDefaultTolerance),
	}, checkSecrets(cfg.Secrets)
}

// Verify checks an ElevenLabs request.
func (v *elevenLabs) Verify(req Request) (Result, error) {
	header, err := singleHeader(elScheme, req.Header, elSignatureHeader)
	if err != nil {
		return Result{}, err
	}
	tsRaw, macs, err := parseElevenLabsSignature(header)
	if err != nil {
		return Result{}, err
	}
	ts, err := parseTimestamp(elScheme, elSignatureHeader+" t=", tsRaw)
	if err != nil {
		return Result{}, err
	}
	// ElevenLabs' own SDK only refuses old timestamps; future ones are
	// refused too, so that a request cannot be pre-dated to extend its
	// replay window.
	if err := checkTolerance(elScheme, ts, req.Now, v.tol); err != nil {
		return Result{}, err
	}
	if !anyMACMatches(v.keys, req.Body, macs, tsRaw) {
		return Result{}, fail(elScheme, ReasonSignatureMismatch, "no v0 signature matches any secret")
	}
	return Result{Timestamp: ts}, nil
}

// parseElevenLabsSignature splits "t=<unix>,v0=<hex>[,v0=<hex>...]" in any
// order into the raw timestamp and the decoded MACs. Unknown keys are
// ignored so that new signature versions do not break verification.
func parseElevenLabsSignature(header string) (string, [][]byte, error) {
	var tsRaw string
	var macs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		part = trimOWS(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return "", nil, fail(elScheme, ReasonMalformedHeader, elSignatureHeader+" has a part that is not key=value")
		}
		switch key {
		case "t":
			// Two different timestamps would make it ambiguous which one
			// was signed.
			if tsRaw != "" && value != tsRaw {
				return "", nil, fail(elScheme, ReasonMalformedHeader, elSignatureHeader+" has conflicting t= parts")
			}
			tsRaw = value
		case "v0":
			mac, ok := decodeMAC(value, sha256.Size, true, false)
			if !ok {
				return "", nil, fail(elScheme, ReasonMalformedHeader, elSignatureHeader+" has a v0= part that is not a hex SHA-256 MAC")
			}
			macs = append(macs, mac)
		}
	}
	switch {
	case tsRaw == "":
		return "", nil, fail(elScheme, ReasonMalformedHeader, elSignatureHeader+" has no t= part")
	case len(macs) == 0:
		return "", nil, fail(elScheme, ReasonMalformedHeader, elSignatureHeader+" has no v0= part")
	}
	return tsRaw, macs, nil
}

// SignElevenLabs returns the whole ElevenLabs-Signature header value
// ("t=<unix>,v0=<hex>") for body sent at time ts.
func SignElevenLabs(secret string, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	mac := sumHMAC(sha256.New, []byte(secret), []byte(t+"."), body)
	return "t=" + t + ",v0=" + hex.EncodeToString(mac)
}
