package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks scheme (https://www.standardwebhooks.com): an
// HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", keyed with the
// base64-decoded secret, sent as space-separated "v1,<base64>" entries, with a
// 5 min tolerance both ways (CONFIRMED: standard-webhooks/standard-webhooks
// spec/standard-webhooks.md "Signature scheme" and libraries/go/webhook.go,
// commit b2fa7b87, whose TestWebhookSign vector is in testdata/vectors.json).
const (
	swScheme           = "standardwebhooks"
	swIDHeader         = "Webhook-Id"
	swTimestampHeader  = "Webhook-Timestamp"
	swSignatureHeader  = "Webhook-Signature"
	swVersion          = "v1"
	swSecretPrefix     = "whsec_"
	swDefaultTolerance = 5 * time.Minute
)

type standardWebhooks struct {
	keys []*macKey
	tol  time.Duration
}

func newStandardWebhooks(cfg Config) (Verifier, []error) {
	problems := checkSecrets(cfg.Secrets)
	v := &standardWebhooks{tol: tolerance(cfg, swDefaultTolerance)}
	var keys [][]byte
	for i, s := range cfg.Secrets {
		if s == "" {
			continue // already reported by checkSecrets
		}
		key, err := standardWebhooksKey(s)
		if err != nil {
			problems = append(problems, fmt.Errorf("secret #%d %w", i+1, err))
			continue
		}
		keys = append(keys, key)
	}
	v.keys = newMACKeys(sha256.New, keys)
	return v, problems
}

// standardWebhooksKey decodes a secret into its HMAC key. The error never
// quotes the secret, since it ends up in logs.
func standardWebhooksKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, swSecretPrefix))
	if err != nil {
		return nil, errors.New("is not base64 after the optional " + swSecretPrefix + " prefix")
	}
	if len(key) == 0 {
		return nil, errors.New("decodes to an empty key")
	}
	return key, nil
}

// Verify checks a Standard Webhooks request.
func (v *standardWebhooks) Verify(req Request) (Result, error) {
	id, err := singleHeader(swScheme, req.Header, swIDHeader)
	if err != nil {
		return Result{}, err
	}
	tsRaw, err := singleHeader(swScheme, req.Header, swTimestampHeader)
	if err != nil {
		return Result{}, err
	}
	// The specification allows several signatures; a proxy may have split
	// them over several header lines, so the lines are joined back.
	sigHeader := strings.Join(req.Header.Values(swSignatureHeader), " ")
	if trimOWS(sigHeader) == "" {
		return Result{}, fail(swScheme, ReasonMissingHeader, swSignatureHeader+" header is missing or empty")
	}
	ts, err := parseTimestamp(swScheme, swTimestampHeader, tsRaw)
	if err != nil {
		return Result{}, err
	}
	macs, err := parseStandardWebhooksSignatures(sigHeader)
	if err != nil {
		return Result{}, err
	}
	if err := checkTolerance(swScheme, ts, req.Now, v.tol); err != nil {
		return Result{}, err
	}
	// The raw timestamp string is signed, not its parsed value, because
	// that is what the sender signed.
	if !anyMACMatches(v.keys, req.Body, macs, id, tsRaw) {
		return Result{}, fail(swScheme, ReasonSignatureMismatch, "no v1 signature matches any secret")
	}
	return Result{MessageID: id, Timestamp: ts}, nil
}

// parseStandardWebhooksSignatures returns the decoded MACs of the v1
// entries. Entries of other versions (such as the asymmetric "v1a") are
// skipped, as the specification asks; malformed v1 entries are skipped too,
// as long as another v1 entry is well formed.
func parseStandardWebhooksSignatures(header string) ([][]byte, error) {
	var macs [][]byte
	malformed := 0
	for entry := range strings.FieldsSeq(header) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != swVersion {
			continue
		}
		mac, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(mac) != sha256.Size {
			malformed++
			continue
		}
		macs = append(macs, mac)
	}
	switch {
	case len(macs) > 0:
		return macs, nil
	case malformed > 0:
		return nil, fail(swScheme, ReasonMalformedHeader,
			swSignatureHeader+" has no well-formed v1 signature (bad base64 or wrong length)")
	default:
		return nil, fail(swScheme, ReasonMalformedHeader, swSignatureHeader+" has no v1 signature")
	}
}

// SignStandardWebhooks returns the webhook-signature header value
// ("v1,<base64>") for body sent with message id msgID at time ts. The
// secret is written as in a Config, with or without the "whsec_" prefix;
// an undecodable secret yields an error wrapping ErrConfig.
func SignStandardWebhooks(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := standardWebhooksKey(secret)
	if err != nil {
		return "", fmt.Errorf("%w: %s secret %w", ErrConfig, swScheme, err)
	}
	prefix := msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	mac := sumHMAC(sha256.New, key, []byte(prefix), body)
	return swVersion + "," + base64.StdEncoding.EncodeToString(mac), nil
}
