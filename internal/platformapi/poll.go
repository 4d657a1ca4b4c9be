package platformapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Job is one job (video, talk, clip, conversation …) found by listing a platform's API, for
// reconciliation: recovering the events whose webhooks were lost.
type Job struct {
	// Body is shaped like the platform's webhook body for this job, so that the platform's preset
	// normalizes it into the same canonical type and the same envelope id as the webhook would have
	// (whichever arrives second is then a duplicate). Its raw API object is kept inside it where the
	// webhook shape has room (e.g. HeyGen event_data), else Body is the API object itself when the
	// webhook body is that object (D-ID, Tavus videos).
	Body json.RawMessage
	// ResourceID is the platform's id of the job (video_id, tlk_…, conversation_id …).
	ResourceID string
	// Status is the platform's own status word, as the API writes it.
	Status string
	// Terminal is true when the job will not change any more (done, failed, rejected …): only
	// terminal jobs are recovered as events; others are watched for stalls.
	Terminal bool
	// UpdatedAt is the platform's last change of the job (or its creation time when the API gives
	// nothing better); zero when unknown.
	UpdatedAt time.Time
}

// Lister lists a platform's jobs for reconciliation.
type Lister interface {
	// ListJobs returns the jobs created or changed since since, paging to the end (bounded by
	// maxPages). A 429 is returned as an error wrapping ErrRateLimited with the wait the platform
	// asked for (see RetryAfter).
	ListJobs(ctx context.Context, since time.Time) ([]Job, error)
}

// Balance is what is left of an account's credits.
type Balance struct {
	// Remaining is what can still be spent, in Unit.
	Remaining float64
	// Limit is the period's allowance (0 when the platform has none, e.g. a prepaid wallet).
	Limit float64
	// Unit names what Remaining counts: "credits", "characters", "usd" …
	Unit string
	// Period identifies the billing period (e.g. its reset time in RFC 3339), so that a crossing
	// is announced once per period; "" when the platform has no periods.
	Period string
	// ResetAt is when the allowance resets; zero when unknown or none.
	ResetAt time.Time
}

// Balancer reads an account's remaining credits.
type Balancer interface {
	Balance(ctx context.Context) (Balance, error)
}

// listers and balancers build the Lister / Balancer of each platform that has the API; the
// platform files register theirs in init.
var (
	listers   = map[string]func(Options) (Lister, error){}
	balancers = map[string]func(Options) (Balancer, error){}
)

// NewLister returns the Lister of platform, or an error wrapping ErrUnsupported.
func NewLister(platform string, o Options) (Lister, error) {
	build, ok := listers[platform]
	if !ok {
		return nil, fmt.Errorf("%w: %q has no job listing avatarbus can reconcile from", ErrUnsupported, platform)
	}
	return build(o)
}

// NewBalancer returns the Balancer of platform, or an error wrapping ErrUnsupported (Tavus and
// Synthesia document no balance endpoint).
func NewBalancer(platform string, o Options) (Balancer, error) {
	build, ok := balancers[platform]
	if !ok {
		return nil, fmt.Errorf("%w: %q has no balance endpoint", ErrUnsupported, platform)
	}
	return build(o)
}
