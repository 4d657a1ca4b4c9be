package router

import (
	"errors"
	"fmt"
	"time"
)

// ErrPermanent marks a failure that no retry can fix. Errors returned by Permanent match it with
// errors.Is; a handler returning such an error has its event dead-lettered at once.
var ErrPermanent = errors.New("router: permanent failure")

// permanentError carries the cause unchanged, so that the dead-letter reason is the handler's own
// message, while matching ErrPermanent.
type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() error        { return e.err }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent marks err as permanent: a handler that returns it (or an error wrapping it) has its
// event dead-lettered at once, without retries. The result matches both ErrPermanent and err with
// errors.Is, and its text is err's. Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// RetryAfterError asks for the next delivery after Delay instead of after the backoff delay, for
// example because an HTTP endpoint answered with Retry-After. Delay is capped at MaxRetryAfter; a
// Delay that is not positive leaves the backoff in charge. The delivery still counts toward the
// maximum number of deliveries.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

// Error returns the cause followed by the delay.
func (e *RetryAfterError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retry after %v", e.Delay)
	}
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.Delay)
}

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns a *RetryAfterError: a handler that returns it is redelivered after d (capped at
// MaxRetryAfter) instead of after the backoff delay.
func RetryAfter(d time.Duration, err error) error {
	return &RetryAfterError{Delay: d, Err: err}
}
