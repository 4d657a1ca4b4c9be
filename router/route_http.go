package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/avatarbus/avatarbus/deliver"
)

// HTTPRoute returns a handler that forwards each event to t: a POST of the stored envelope bytes,
// unchanged, signed with Standard Webhooks headers whose webhook-id is the event id (see package
// deliver). A 2xx answer acknowledges the event. An answer with Retry-After is retried after that
// delay (a RetryAfterError); any other failure, non-2xx answer or no answer, is returned as is, so
// the backoff applies and, after the last delivery, the event is dead-lettered with the reason
// "HTTP <status>: <first bytes of the answer>". Each attempt is bounded by t.Timeout and by the
// handler's context (the ack wait), so t.Timeout should be shorter than the ack wait.
//
// HTTPRoute returns an error when t is invalid (see deliver.Target.Validate).
func HTTPRoute(t deliver.Target) (HandlerFunc, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("router: HTTPRoute: %w", err)
	}
	return func(ctx context.Context, ev Event) error {
		err := deliver.Post(ctx, t, ev.ID, ev.Body, nil)
		if err == nil {
			return nil
		}
		var se *deliver.StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			return RetryAfter(se.RetryAfter, err)
		}
		return err
	}, nil
}
