package ingest

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"

	"github.com/labstack/echo/v4"
)

// maxRequestIDLen bounds a request id taken from the client.
const maxRequestIDLen = 128

// withRequestID gives every answer an X-Request-Id before Echo routes the request, so that 404s
// and 405s of unknown routes carry one too. An incoming id is kept for correlation when it fits
// (a proxy's); one that is too long or holds anything but letters, digits and "-_.:" is dropped
// from the request and replaced, so a stranger's cannot bloat every log line and quarantined copy
// of its request. It replaces Echo's Pre and RequestID middleware, which cost a closure each and
// three more allocations per request.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(echo.HeaderXRequestID)
		if id != "" && !fitRequestID(id) {
			r.Header.Del(echo.HeaderXRequestID)
			id = ""
		}
		if id == "" {
			id = newRequestID()
		}
		w.Header()[echo.HeaderXRequestID] = []string{id}
		next.ServeHTTP(w, r)
	})
}

// newRequestID is 128 random bits in 32 hex digits. The runtime's ChaCha8 generator behind
// math/rand/v2 is seeded from the OS and unpredictable enough for an id that only correlates
// logs; it takes no lock and no system call.
func newRequestID() string {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		u := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(u >> (8 * j))
		}
	}
	return hex.EncodeToString(b[:])
}

func fitRequestID(id string) bool {
	if len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-', b == '_', b == '.', b == ':':
		default:
			return false
		}
	}
	return true
}
