package ingest

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/avatarbus/avatarbus/metrics"
)

// RateLimit is a source's token bucket: Burst requests at once, refilled at RPS per second.
type RateLimit struct {
	RPS   float64 // > 0
	Burst int     // >= 1
}

// limitLogPeriod is how often a source's rate-limit refusals are logged at most: a flood of 429s
// is what the limit is for, and must not become a flood of log lines.
const limitLogPeriod = 10 * time.Second

// limiter is one source's token bucket, with the limit it was built for.
type limiter struct {
	limit RateLimit
	rl    *rate.Limiter
}

func newLimiter(l RateLimit) *limiter {
	return &limiter{limit: l, rl: rate.NewLimiter(rate.Limit(l.RPS), l.Burst)}
}

// limiterFor returns ep's bucket for limit, building a new one when a reload changed the limit
// (the new bucket starts full).
func (ep *endpoint) limiterFor(limit RateLimit) *limiter {
	for {
		cur := ep.limiter.Load()
		if cur != nil && cur.limit == limit {
			return cur
		}
		next := newLimiter(limit)
		if ep.limiter.CompareAndSwap(cur, next) {
			return next
		}
	}
}

// allow takes a token at now, or leaves the bucket as it was and says how long until one is
// free. A reservation is cancelled rather than waited for: the platform retries later instead of
// holding a connection here.
func (l *limiter) allow(now time.Time) (bool, time.Duration) {
	r := l.rl.ReserveN(now, 1)
	if !r.OK() { // burst < 1: never with a validated config
		return false, time.Second
	}
	wait := r.DelayFrom(now)
	if wait <= 0 {
		return true, 0
	}
	r.CancelAt(now)
	return false, wait
}

// RateLimitedError is returned for a request over its source's rate limit. It wraps
// ErrRateLimited and says when a token is free again.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s: retry after %s", ErrRateLimited, e.RetryAfter)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// retryAfter is the Retry-After value of a 429: whole seconds, rounded up, at least 1.
func (e *RateLimitedError) retryAfter() string {
	return strconv.FormatInt(max(1, int64(math.Ceil(e.RetryAfter.Seconds()))), 10)
}

// rateLimit is the route middleware that applies the requested source's limit before anything
// else is done for the request: no body read, no verification, no publish. Requests for unknown
// sources pass through to their cheap 404; they are not limited per requested name, which would
// let strangers grow a map without bound.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ep := s.sources[c.Param("source")]
		if ep == nil {
			return next(c)
		}
		limit := ep.source.Load().RateLimit
		if limit == nil {
			return next(c)
		}
		start := time.Now()
		ok, wait := ep.limiterFor(*limit).allow(s.now())
		if ok {
			return next(c)
		}
		ep.metrics.Request(metrics.OutcomeRateLimited, time.Since(start))
		ep.limitLog.Warn().Str("request_id", requestID(c)).Dur("retry_after", wait).
			Msg("rate limit exceeded; answering 429 (logged at most once per 10s per source)")
		return &RateLimitedError{RetryAfter: wait}
	}
}
