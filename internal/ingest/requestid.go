package ingest

import "github.com/labstack/echo/v4"

// maxRequestIDLen bounds a request id taken from the client.
const maxRequestIDLen = 128

// dropUnfitRequestID removes an incoming X-Request-Id that is too long or holds anything but
// letters, digits and "-_.:", so the RequestID middleware makes one instead. A proxy's id is kept
// for correlation; a stranger's cannot bloat every log line and quarantined copy of its request.
func dropUnfitRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !fitRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
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
