package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

// Confirmer checks a normalized event with the platform that is said to have sent it, for
// platforms that do not sign their callbacks (`confirm: fetch`). It returns the event to publish,
// built from what the platform's API says rather than from the request.
//
// An error that is (or wraps) a *verify.Error refuses the request with 401 and its Reason (the
// platform does not know the resource: a forged callback). Any other error means the platform
// could not be asked (timeout, 429, 5xx): the request is answered 503 so the platform retries.
type Confirmer interface {
	Confirm(ctx context.Context, ev *envelope.Event) (*envelope.Event, error)
}

// confirm runs the source's Confirmer on ev and maps its outcome to the pipeline's errors.
// A refusal (*verify.Error) is returned as is, for the caller to record like a failed signature.
func (s *Server) confirm(c echo.Context, ep *endpoint, src *Source, ev envelope.Event) (envelope.Event, error) {
	confirmed, err := src.Confirmer.Confirm(c.Request().Context(), &ev)
	if err == nil && confirmed == nil {
		err = errors.New("confirmer returned no event")
	}
	if err != nil {
		if verr, ok := errors.AsType[*verify.Error](err); ok {
			return ev, verr
		}
		unavailable(c, ep).Err(err).Str("resource", ev.Subject).Msg("platform API unavailable: event not confirmed" + sampledNote)
		return ev, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return *confirmed, nil
}
