package ingest

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/avatarbus/avatarbus/internal/metrics"
)

// RateLimit is a source's token bucket: Burst requests at once, refilled at RPS per second. Only
// verified requests spend it. Requests that fail verification spend a bucket of their own, the
// unverified budget, so that a stranger's flood cannot use up the genuine sender's limit.
type RateLimit struct {
	RPS   float64 // > 0
	Burst int     // >= 1
	// UnverifiedRPS and UnverifiedBurst are the budget of requests that fail verification (the
	// 401 path: the quarantine copy and the log line); over it they are answered 429. Zero takes
	// the derived default: RPS/4 and Burst/4 (at least 1).
	UnverifiedRPS   float64
	UnverifiedBurst int
}

// unverified is the limit of the requests that fail verification: the configured one, or the
// default derived from l, a quarter of it.
func (l RateLimit) unverified() (float64, int) {
	rps, burst := l.UnverifiedRPS, l.UnverifiedBurst
	if rps <= 0 {
		rps = l.RPS / 4
	}
	if burst <= 0 {
		burst = max(1, l.Burst/4)
	}
	return rps, burst
}

// limitLogPeriod is how often a source's rate-limit refusals are logged at most: a flood of 429s
// is what the limit is for, and must not become a flood of log lines.
const limitLogPeriod = 10 * time.Second

// limiter is one source's pair of token buckets, with the limit they were built for: verified
// requests spend rl, requests that fail verification spend unverified.
type limiter struct {
	limit      RateLimit
	rl         *rate.Limiter
	unverified *rate.Limiter
}

func newLimiter(l RateLimit) *limiter {
	rps, burst := l.unverified()
	return &limiter{limit: l, rl: rate.NewLimiter(rate.Limit(l.RPS), l.Burst),
		unverified: rate.NewLimiter(rate.Limit(rps), burst)}
}

// limiterFor returns ep's buckets for limit, building new ones when a reload changed the limit
// (the new buckets start full).
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

// allow takes a token of rl at now, or leaves the bucket as it was and says how long until one is
// free. A reservation is cancelled rather than waited for: the platform retries later instead of
// holding a connection here.
func allow(rl *rate.Limiter, now time.Time) (bool, time.Duration) {
	r := rl.ReserveN(now, 1)
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

// rateLimit is the route middleware that refuses a request before its body is read when the
// source's bucket of verified requests is empty: the request could not be served even if it
// verified. It takes no token: only a verified request spends one (see spendVerified), so a flood
// of forged requests cannot empty the bucket of the genuine sender. Requests for unknown sources
// pass through to their cheap 404; they are not limited per requested name, which would let
// strangers grow a map without bound.
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
		now := s.now()
		l := ep.limiterFor(*limit)
		if l.rl.TokensAt(now) >= 1 {
			return next(c)
		}
		wait := time.Second
		if r := l.rl.ReserveN(now, 1); r.OK() { // how long until a token, without taking it
			wait = r.DelayFrom(now)
			r.CancelAt(now)
		}
		ep.metrics.Request(metrics.OutcomeRateLimited, time.Since(start))
		return s.limited(c, ep, "rate limit exceeded", wait)
	}
}

// spendVerified takes a token of the source's bucket for a request that verified; the error is a
// *RateLimitedError when it is empty (concurrent requests took the last tokens).
func (s *Server) spendVerified(c echo.Context, ep *endpoint, src *Source) error {
	if src.RateLimit == nil {
		return nil
	}
	l := ep.limiterFor(*src.RateLimit)
	ok, wait := allow(l.rl, s.now())
	if ok {
		return nil
	}
	return s.limited(c, ep, "rate limit exceeded", wait)
}

// spendUnverified takes a token of the source's unverified budget for a request that failed
// verification. When it is empty the error is a *RateLimitedError: the request is answered 429
// without the 401 path's work (quarantine copy, log line), so a flood of forged requests costs
// reading and checking its bodies and nothing more.
func (s *Server) spendUnverified(c echo.Context, ep *endpoint, src *Source) error {
	if src.RateLimit == nil {
		return nil
	}
	l := ep.limiterFor(*src.RateLimit)
	ok, wait := allow(l.unverified, s.now())
	if ok {
		return nil
	}
	return s.limited(c, ep, "requests failing verification over their budget", wait)
}

// limited logs a 429 (sampled: once per limitLogPeriod per source) and returns its error, which
// says when the bucket has a token again.
func (s *Server) limited(c echo.Context, ep *endpoint, msg string, wait time.Duration) error {
	ep.limitLog.Warn().Str("request_id", requestID(c)).Dur("retry_after", wait).
		Msg(msg + "; answering 429 (logged at most once per 10s per source)")
	return &RateLimitedError{RetryAfter: wait}
}
