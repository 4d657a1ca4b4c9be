package verify

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// The generic hmac scheme: an HMAC of the body, optionally preceded by a
// timestamp and a message id, in a configurable header, hash and encoding.
const (
	hmacScheme           = "hmac"
	hmacDefaultHeader    = "Signature"
	hmacDefaultTolerance = 5 * time.Minute

	contentBody            = "body"
	contentTimestampBody   = "timestamp.body"
	contentIDTimestampBody = "id.timestamp.body"

	encodingHex    = "hex"
	encodingBase64 = "base64"
)

// hmacAlgorithms maps the Algorithm names to their hash constructors.
var hmacAlgorithms = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha512": sha512.New,
}

// hmacParams is a validated hmac configuration, with defaults applied.
type hmacParams struct {
	header    string
	newHash   func() hash.Hash
	size      int
	encoding  string
	prefix    string
	tsHeader  string
	idHeader  string
	content   string
	tolerance time.Duration
}

// hmacParamsOf validates cfg, apart from its secrets, and applies defaults.
// It is shared by New and SignHMAC so that both read a Config alike.
func hmacParamsOf(cfg Config) (hmacParams, []error) {
	p := hmacParams{
		header:    orDefault(cfg.Header, hmacDefaultHeader),
		encoding:  orDefault(cfg.Encoding, encodingHex),
		prefix:    cfg.Prefix,
		tsHeader:  cfg.TimestampHeader,
		idHeader:  cfg.IDHeader,
		content:   orDefault(cfg.Content, contentBody),
		tolerance: tolerance(cfg, hmacDefaultTolerance),
	}
	var problems []error
	algorithm := orDefault(cfg.Algorithm, "sha256")
	if newHash, ok := hmacAlgorithms[algorithm]; ok {
		p.newHash, p.size = newHash, newHash().Size()
	} else {
		problems = append(problems, fmt.Errorf("unknown algorithm %q (known: sha256, sha512)", cfg.Algorithm))
	}
	if p.encoding != encodingHex && p.encoding != encodingBase64 {
		problems = append(problems, fmt.Errorf("unknown encoding %q (known: hex, base64)", cfg.Encoding))
	}
	switch p.content {
	case contentBody:
	case contentTimestampBody, contentIDTimestampBody:
		if p.tsHeader == "" {
			problems = append(problems, fmt.Errorf("content %q needs a timestamp header (TimestampHeader)", p.content))
		}
		if p.content == contentIDTimestampBody && p.idHeader == "" {
			problems = append(problems, fmt.Errorf("content %q needs an id header (IDHeader)", p.content))
		}
	default:
		problems = append(problems, fmt.Errorf("unknown content %q (known: %s, %s, %s)",
			cfg.Content, contentBody, contentTimestampBody, contentIDTimestampBody))
	}
	for _, h := range []struct{ field, name string }{
		{"Header", p.header}, {"TimestampHeader", p.tsHeader}, {"IDHeader", p.idHeader},
	} {
		if h.name != "" && !validHeaderName(h.name) {
			problems = append(problems, fmt.Errorf("%s %q is not a valid header name", h.field, h.name))
		}
	}
	return p, problems
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type hmacVerifier struct {
	hmacParams
	keys []*macKey
}

func newHMAC(cfg Config) (Verifier, []error) {
	p, problems := hmacParamsOf(cfg)
	problems = append(problems, checkSecrets(cfg.Secrets)...)
	return &hmacVerifier{hmacParams: p, keys: newMACKeys(p.macHash(), stringKeys(cfg.Secrets))}, problems
}

// Verify checks a request signed with the configured hmac scheme.
func (v *hmacVerifier) Verify(req Request) (Result, error) {
	sig, err := singleHeader(hmacScheme, req.Header, v.header)
	if err != nil {
		return Result{}, err
	}
	var id, tsRaw string
	if v.idHeader != "" {
		if id, err = singleHeader(hmacScheme, req.Header, v.idHeader); err != nil {
			return Result{}, err
		}
	}
	if v.tsHeader != "" {
		if tsRaw, err = singleHeader(hmacScheme, req.Header, v.tsHeader); err != nil {
			return Result{}, err
		}
	}
	mac, err := v.decode(sig)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if v.tsHeader != "" {
		if res.Timestamp, err = parseTimestamp(hmacScheme, v.tsHeader, tsRaw); err != nil {
			return Result{}, err
		}
		if err := checkTolerance(hmacScheme, res.Timestamp, req.Now, v.tolerance); err != nil {
			return Result{}, err
		}
	}
	res.MessageID = id
	if !v.matches(v.keys, req.Body, mac, id, tsRaw) {
		return Result{}, fail(hmacScheme, ReasonSignatureMismatch, "signature matches no secret")
	}
	return res, nil
}

// decode strips the prefix from a signature header value and decodes the
// MAC, checking its length.
func (p *hmacParams) decode(sig string) ([]byte, error) {
	if len(sig) < len(p.prefix) || sig[:len(p.prefix)] != p.prefix {
		return nil, fail(hmacScheme, ReasonMalformedHeader, p.header+" does not start with the configured prefix")
	}
	mac, ok := decodeMAC(sig[len(p.prefix):], p.size, p.encoding == encodingHex, p.encoding == encodingBase64)
	if !ok {
		return nil, fail(hmacScheme, ReasonMalformedHeader,
			fmt.Sprintf("%s is not a %s MAC of %d bytes", p.header, p.encoding, p.size))
	}
	return mac, nil
}

// macHash is the configured hash, or SHA-256 for a configuration New
// refuses anyway (an unknown algorithm), so that keying never panics.
func (p *hmacParams) macHash() func() hash.Hash {
	if p.newHash == nil {
		return sha256.New
	}
	return p.newHash
}

// matches reports whether mac is the HMAC of the configured content under
// any of keys; the parts signed before the body are those of contentPrefix.
func (p *hmacParams) matches(keys []*macKey, body, mac []byte, id, ts string) bool {
	macs := [][]byte{mac}
	switch p.content {
	case contentTimestampBody:
		return anyMACMatches(keys, body, macs, ts)
	case contentIDTimestampBody:
		return anyMACMatches(keys, body, macs, id, ts)
	}
	return anyMACMatches(keys, body, macs)
}

// contentPrefix returns what is signed before the body, the parts being
// joined with dots.
func (p *hmacParams) contentPrefix(id, ts string) []byte {
	switch p.content {
	case contentTimestampBody:
		return append([]byte(ts), '.')
	case contentIDTimestampBody:
		b := make([]byte, 0, len(id)+len(ts)+2)
		return append(append(append(append(b, id...), '.'), ts...), '.')
	}
	return nil
}

// SignHMAC returns the signature header value, prefix included, that the
// hmac scheme configured by cfg expects for body sent with message id msgID
// at time ts; cfg.Secrets is ignored in favour of secret. The header named
// by cfg.TimestampHeader must carry ts.Unix() and the one named by
// cfg.IDHeader must carry msgID. An invalid cfg, an empty secret, or an
// empty msgID when the content needs one yields an error wrapping ErrConfig.
func SignHMAC(cfg Config, secret string, msgID string, ts time.Time, body []byte) (headerValue string, err error) {
	p, problems := hmacParamsOf(cfg)
	if cfg.Scheme != "" && cfg.Scheme != hmacScheme {
		problems = append(problems, fmt.Errorf("scheme %q is not %q", cfg.Scheme, hmacScheme))
	}
	if secret == "" {
		problems = append(problems, errors.New("secret is empty"))
	}
	if p.content == contentIDTimestampBody && msgID == "" {
		problems = append(problems, errors.New("message id is empty but the content signs it"))
	}
	if len(problems) > 0 {
		return "", configError(hmacScheme, problems)
	}
	mac := sumHMAC(p.newHash, []byte(secret), p.contentPrefix(msgID, strconv.FormatInt(ts.Unix(), 10)), body)
	if p.encoding == encodingBase64 {
		return p.prefix + base64.StdEncoding.EncodeToString(mac), nil
	}
	return p.prefix + hex.EncodeToString(mac), nil
}
