package envelope

import (
	"strings"
	"unicode"
)

// HasControl reports whether s holds a control character (Unicode Cc: U+0000–U+001F, U+007F–U+009F):
// one that can rewrite a terminal, split a log line or a header. The subject and resource_id never
// carry one; the raw payload keeps whatever the platform sent.
func HasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
