package ingest

import (
	"net/http"

	"github.com/avatarbus/avatarbus/internal/metrics"
)

// outcomeOf is the metrics outcome of a refused request. It is read off the status errorResponse
// answers with, so the counters always agree with what the platforms were told.
func outcomeOf(err error) metrics.Outcome {
	status, _ := errorResponse(err)
	switch status {
	case http.StatusUnauthorized:
		return metrics.OutcomeUnauthorized
	case http.StatusNotFound:
		return metrics.OutcomeUnknownSource
	case http.StatusRequestEntityTooLarge:
		return metrics.OutcomeTooLarge
	case http.StatusBadRequest:
		return metrics.OutcomeUnreadable
	case http.StatusServiceUnavailable:
		return metrics.OutcomeUnavailable
	case http.StatusTooManyRequests:
		return metrics.OutcomeRateLimited
	default:
		return metrics.OutcomeInternal
	}
}
