package subjects

import "fmt"

// QuarantineRoot is the first token of the quarantine's subjects: requests refused for their
// signature or timestamp are kept on quarantine.<prefix>.<source>, in a stream of their own bound
// to quarantine.<prefix>.> (DESIGN §4: streams never share subjects).
const QuarantineRoot = "quarantine"

// Quarantine returns the subject a refused request of source is kept on under prefix:
// quarantine.avatar.acme. The source name, not the platform, is the last token, because the
// operator re-checks a request with that source's secrets. It returns an error wrapping
// ErrInvalidToken when prefix or source is not a valid token.
func Quarantine(prefix, source string) (string, error) {
	if err := ValidToken(prefix); err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	if err := ValidToken(source); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	return QuarantineRoot + "." + prefix + "." + source, nil
}

// QuarantineSubjects returns the subjects the quarantine stream binds for prefix:
// quarantine.<prefix>.>.
func QuarantineSubjects(prefix string) []string {
	return []string{QuarantineRoot + "." + prefix + ".>"}
}
