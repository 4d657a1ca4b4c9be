// Package subjects owns the NATS subject grammar of avatarbus: how a canonical event type and a
// platform become a subject, how a subject is read back, and how filters are written. No other
// package formats or splits subjects.
//
// The grammar is <prefix>.<type tokens…>.<platform>, where the canonical type is written with the
// default prefix "avatar" (avatar.video.completed) and the configured prefix replaces it on the
// wire: with prefix "acme", avatar.video.completed from heygen is acme.video.completed.heygen.
package subjects

import (
	"errors"
	"fmt"
	"strings"
)

// CanonicalRoot is the first token of every canonical type.
const CanonicalRoot = "avatar"

// ErrInvalidToken is returned (wrapped, with the token quoted) for a subject token that is empty or
// holds a dot, a wildcard or whitespace.
var ErrInvalidToken = errors.New("subjects: invalid token")

// ErrInvalidSubject is returned (wrapped) by Parse for a subject outside the grammar.
var ErrInvalidSubject = errors.New("subjects: invalid subject")

// ValidToken reports whether tok can be one token of a subject. It returns an error wrapping
// ErrInvalidToken when tok is empty or contains '.', '*', '>' or whitespace.
func ValidToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	for _, r := range tok {
		switch {
		case r == '.' || r == '*' || r == '>':
			return fmt.Errorf("%w: %q contains %q", ErrInvalidToken, tok, r)
		case r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("%w: %q contains whitespace or a control character", ErrInvalidToken, tok)
		}
	}
	return nil
}

// For returns the subject of an event of canonical type typ (e.g. "avatar.video.completed") from
// platform, under prefix. It returns an error wrapping ErrInvalidToken when any token is invalid, or
// ErrInvalidSubject when typ is not a canonical type.
func For(prefix, typ, platform string) (string, error) {
	if err := ValidToken(prefix); err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	if err := ValidToken(platform); err != nil {
		return "", fmt.Errorf("platform: %w", err)
	}
	rest, ok := strings.CutPrefix(typ, CanonicalRoot+".")
	if !ok {
		return "", fmt.Errorf("%w: type %q does not start with %q", ErrInvalidSubject, typ, CanonicalRoot+".")
	}
	for _, tok := range strings.Split(rest, ".") {
		if err := ValidToken(tok); err != nil {
			return "", fmt.Errorf("type %q: %w", typ, err)
		}
	}
	return prefix + "." + rest + "." + platform, nil
}

// Parse splits a subject built by For back into its canonical type and platform. It returns an error
// wrapping ErrInvalidSubject when the subject does not start with prefix or has too few tokens, or
// ErrInvalidToken when a token is invalid.
func Parse(prefix, subject string) (typ, platform string, err error) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok || prefix == "" {
		return "", "", fmt.Errorf("%w: %q does not start with %q", ErrInvalidSubject, subject, prefix+".")
	}
	toks := strings.Split(rest, ".")
	if len(toks) < 2 {
		return "", "", fmt.Errorf("%w: %q needs a type and a platform after the prefix", ErrInvalidSubject, subject)
	}
	for _, tok := range toks {
		if err := ValidToken(tok); err != nil {
			return "", "", fmt.Errorf("%w: %q: %w", ErrInvalidSubject, subject, err)
		}
	}
	last := len(toks) - 1
	return CanonicalRoot + "." + strings.Join(toks[:last], "."), toks[last], nil
}

// StreamSubjects returns the subjects a stream must bind to hold every event under prefix.
func StreamSubjects(prefix string) []string {
	return []string{prefix + ".>"}
}

// Unrecognized returns the subject for a genuine event avatarbus could not map:
// <prefix>.unrecognized.<platform>.
func Unrecognized(prefix, platform string) (string, error) {
	return For(prefix, CanonicalRoot+".unrecognized", platform)
}

// MaxTypeDepth is the most tokens a canonical type has after its root ("video.completed": 2);
// PlatformSubjects covers types up to this depth.
const MaxTypeDepth = 3

// PlatformSubjects returns NATS filter subjects that together select every event of platform (a
// source name) under prefix, one per type depth: avatar.*.heygen, avatar.*.*.heygen, ... A
// single filter cannot say it, since '>' only ends a subject.
func PlatformSubjects(prefix, platform string) []string {
	out := make([]string, 0, MaxTypeDepth)
	mid := ""
	for range MaxTypeDepth {
		mid += ".*"
		out = append(out, prefix+mid+"."+platform)
	}
	return out
}

// Filter selects events by canonical type and platform; an empty field matches everything.
type Filter struct {
	Type     string // canonical type such as "avatar.video.completed", or ""
	Platform string // platform token such as "heygen", or ""
}

// Subject returns the NATS filter subject for f under prefix: avatar.video.completed.* for a type,
// avatar.*.*.heygen for a platform would be ambiguous across type depths, so a platform-only filter
// is written as the full-wildcard form avatar.> and must be checked with Match.
func (f Filter) Subject(prefix string) string {
	switch {
	case f.Type != "" && f.Platform != "":
		s, err := For(prefix, f.Type, f.Platform)
		if err != nil {
			return prefix + ".>"
		}
		return s
	case f.Type != "":
		rest := strings.TrimPrefix(f.Type, CanonicalRoot+".")
		return prefix + "." + rest + ".*"
	default:
		return prefix + ".>"
	}
}

// Match reports whether subject (under prefix) is selected by f.
func (f Filter) Match(prefix, subject string) bool {
	typ, platform, err := Parse(prefix, subject)
	if err != nil {
		return false
	}
	return (f.Type == "" || f.Type == typ) && (f.Platform == "" || f.Platform == platform)
}
