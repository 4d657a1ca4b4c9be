// Package redact masks credentials in URLs before they are logged, printed or returned in
// errors. It is the one redactor of avatarbus: config (--print-config, validation messages) and
// broker (connection errors) both use it, so a URL reads the same wherever it shows.
//
// redact imports nothing of avatarbus.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a password, or a user name given without password (a token), in a URL.
const Mask = "redacted"

// Unparsable replaces a whole part that is not a URL: it cannot be shown without the risk of
// showing a secret.
const Unparsable = "[redacted]"

// URLs masks the user information of each comma-separated URL in s (NATS takes lists):
// nats://u:p@h becomes nats://u:redacted@h and nats://tok@h becomes nats://redacted@h. A part
// with user information that does not parse is replaced whole.
func URLs(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			if strings.Contains(p, "@") {
				parts[i] = Unparsable
			}
			continue
		case u.User == nil:
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		} else {
			u.User = url.User(Mask)
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
