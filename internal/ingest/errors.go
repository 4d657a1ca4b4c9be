package ingest

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/avatarbus/avatarbus/verify"
)

// Errors the pipeline returns; errorResponse maps them (and verify's and the publisher's) to HTTP.
var (
	// ErrUnknownSource: no source is configured under the requested name.
	ErrUnknownSource = errors.New("unknown source")
	// ErrBodyTooLarge: the body exceeds the source's max_body.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrBodyRead: the body could not be read completely (client went away, timeout).
	ErrBodyRead = errors.New("body could not be read")
	// ErrUnavailable: the event could not be stored (publisher error, deadline, draining).
	ErrUnavailable = errors.New("event store unavailable")
	// ErrInternal: a bug; the request is not stored and the platform should retry.
	ErrInternal = errors.New("internal error")
	// ErrRateLimited: the source's rate limit refused the request (see RateLimitedError).
	ErrRateLimited = errors.New("rate limited")
)

// retryAfterSeconds is what a 503 asks the platform to wait before retrying.
const retryAfterSeconds = "2"

// problem is the JSON body of every error answer: a stable code, a short human message, and the
// request id to find the log line. It never carries err.Error() of an internal error.
type problem struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// errorResponse is the one place that turns a pipeline error into a status and a body.
func errorResponse(err error) (int, problem) {
	var verr *verify.Error
	switch {
	case errors.As(err, &verr):
		return http.StatusUnauthorized, problem{Error: verr.Reason, Message: verr.Detail}
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, problem{Error: "rate_limited", Message: "too many requests for this source; retry after the Retry-After seconds"}
	case errors.Is(err, ErrUnknownSource):
		return http.StatusNotFound, problem{Error: "unknown_source", Message: "no source is configured under this name"}
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, problem{Error: "body_too_large", Message: err.Error()}
	case errors.Is(err, ErrBodyRead):
		return http.StatusBadRequest, problem{Error: "body_unreadable", Message: "the request body could not be read completely"}
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, problem{Error: "unavailable", Message: "the event was not stored; retry later"}
	default:
		return http.StatusInternalServerError, problem{Error: "internal", Message: "the event was not stored; retry later"}
	}
}

// httpErrorHandler answers every error, ours and Echo's own (404 on unknown routes, 405), as JSON.
func httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := errorResponse(err)
	var he *echo.HTTPError
	if errors.As(err, &he) && status == http.StatusInternalServerError {
		status = he.Code
		body = problem{Error: codeForStatus(he.Code), Message: http.StatusText(he.Code)}
	}
	body.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	switch status {
	case http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
	case http.StatusTooManyRequests:
		var rl *RateLimitedError
		if errors.As(err, &rl) {
			c.Response().Header().Set("Retry-After", rl.retryAfter())
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	default:
		return "error"
	}
}
