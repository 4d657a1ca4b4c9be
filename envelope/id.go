package envelope

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxIDLength is the longest event id avatarbus produces.
const MaxIDLength = 128

// hashLen is how many hex digits of a SHA-256 an id keeps: 192 bits, far beyond any collision risk,
// and short enough that the longest platform name still fits in MaxIDLength.
const hashLen = 48

// ID returns the deterministic event id of the event identified, on platform, by parts (for
// example the event type and the video id). The same inputs always give the same id, so a platform's
// redelivery carries the id of the first delivery and JetStream drops it as a duplicate.
//
// The id is "<platform>:<part>:<part>…" when that is short and made of plain characters; otherwise it
// is "<platform>:sha256:<digest of the parts>". When a part is empty the event has no identity of its
// own and ID returns "", so the caller falls back to BodyID.
func ID(platform string, parts ...string) string {
	if len(parts) == 0 {
		return ""
	}
	for _, p := range parts {
		if p == "" {
			return ""
		}
	}
	id := platform + ":" + strings.Join(parts, ":")
	if len(id) <= MaxIDLength && plain(id) {
		return id
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0}) // separator: ("ab","c") and ("a","bc") must differ
	}
	return platform + ":sha256:" + hex.EncodeToString(h.Sum(nil))[:hashLen]
}

// BodyID returns the id of an event that carries no identity of its own: the platform and a
// digest of the exact bytes received. A redelivery of the same bytes is a duplicate; any change is a
// new event.
func BodyID(platform string, body []byte) string {
	sum := sha256.Sum256(body)
	return platform + ":sha256:" + hex.EncodeToString(sum[:])[:hashLen]
}

// plain reports whether s holds only characters that are safe in a header and readable in a log.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '|' || c == '@' || c == '+' || c == '=' || c == '/':
		default:
			return false
		}
	}
	return true
}
