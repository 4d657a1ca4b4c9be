package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strconv"
)

// The token scheme: a shared secret sent as-is in a query parameter or a
// header. It authenticates the sender but not the body, so it is only for
// platforms that offer nothing better.
const (
	tokenScheme       = "token"
	tokenDefaultParam = "token"
)

type tokenVerifier struct {
	header  string
	param   string
	digests [][sha256.Size]byte
}

func newToken(cfg Config) (Verifier, []error) {
	problems := checkSecrets(cfg.Secrets)
	v := &tokenVerifier{header: cfg.Header, param: cfg.Param}
	// A Header replaces the query parameter rather than conflicting with
	// it, so that a source can override a preset that names a Param.
	switch {
	case cfg.Header != "":
		v.param = ""
		if !validHeaderName(cfg.Header) {
			problems = append(problems, fmt.Errorf("Header %q is not a valid header name", cfg.Header))
		}
	case cfg.Param == "":
		v.param = tokenDefaultParam
	}
	// Secrets are kept only as digests: comparing fixed-length digests
	// does not leak the secret's length through timing.
	for _, s := range cfg.Secrets {
		v.digests = append(v.digests, sha256.Sum256([]byte(s)))
	}
	return v, problems
}

// Verify checks the token of a request.
func (v *tokenVerifier) Verify(req Request) (Result, error) {
	var values []string
	var where string
	if v.header != "" {
		values, where = req.Header.Values(v.header), v.header+" header"
	} else {
		values, where = req.Query[v.param], "query parameter "+strconv.Quote(v.param)
	}
	// Query values are compared exactly as sent; header values lose the
	// white space around them, as HTTP wants.
	norm := func(s string) string { return s }
	if v.header != "" {
		norm = trimOWS
	}
	tok, ok := singleValue(values, norm)
	if !ok {
		return Result{}, fail(tokenScheme, ReasonMalformedHeader, where+" is repeated with different values")
	}
	if tok == "" {
		return Result{}, fail(tokenScheme, ReasonMissingToken, "no token in "+where)
	}
	got := sha256.Sum256([]byte(tok))
	// Every secret is compared, without stopping at a match, so that the
	// time taken does not tell which secret matched.
	match := 0
	for _, want := range v.digests {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if match != 1 {
		return Result{}, fail(tokenScheme, ReasonSignatureMismatch, "token matches no secret")
	}
	return Result{}, nil
}
