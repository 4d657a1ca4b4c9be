package ingest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// BenchmarkMiddleware is the cost of what wraps a webhook handler, with a handler that only
// answers 204: "echo-per-request" is how New wired it before issue 17 (Echo's Pre, RequestID and
// Recover middleware and a route middleware, all applied anew on every request), "once" is
// New's wiring now (withRequestID in front of Echo, the route's chain built at start). The
// request and recorder are reused, so the allocations are the wiring's own.
//
//	go test -run '^$' -bench Middleware -benchmem -count 6 ./internal/ingest/
func BenchmarkMiddleware(b *testing.B) {
	answer := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	pass := func(next echo.HandlerFunc) echo.HandlerFunc { // stands for the rate limit
		return func(c echo.Context) error { return next(c) }
	}
	recoverer := middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true})
	perRequest := echo.New()
	perRequest.Pre(func(next echo.HandlerFunc) echo.HandlerFunc { // the former dropUnfitRequestID
		return func(c echo.Context) error {
			h := c.Request().Header
			if id := h.Get(echo.HeaderXRequestID); id != "" && !fitRequestID(id) {
				h.Del(echo.HeaderXRequestID)
			}
			return next(c)
		}
	})
	perRequest.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{}), recoverer)
	perRequest.POST("/webhooks/:source", answer, pass)
	once := echo.New()
	once.POST("/webhooks/:source", recoverer(pass(answer)))
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"echo-per-request", perRequest}, {"once", withRequestID(once)}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/acme", http.NoBody)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.h.ServeHTTP(w, req)
				if w.code != http.StatusNoContent || w.h.Get(echo.HeaderXRequestID) == "" {
					b.Fatalf("status %d, request id %q", w.code, w.h.Get(echo.HeaderXRequestID))
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status and headers.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
