package platformapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HeyGen's listing and balance (facts: shared/platform-apis.md §1).
//
//   - GET /v3/webhooks/events?limit=&token=: the history of delivered webhook events, each item
//     {event_id, event_type, event_data, created_at (ISO 8601)} literally a v3 webhook body,
//     cursor next_token/has_more. CONFIRMED: heygen-com/heygen-cli gen/webhook.go WebhookEventsList
//     @7699a8e; https://developers.heygen.com/reference/list-webhook-events. UNKNOWN: retention,
//     sort order, whether failed deliveries are listed.
//   - GET /v3/videos?limit=&token=: data[] {id, status pending|processing|completed|failed,
//     created_at, completed_at (unix), video_url, failure_code, failure_message …}, has_more,
//     next_token; no date filter, so the window is applied here. CONFIRMED: heygen-cli gen/video.go
//     VideoList; https://heygen-1fa696a7.mintlify.app/reference/list-videos.
//   - GET /v3/users/me: data{billing_type wallet|subscription|usage_based, wallet{currency,
//     remaining_balance}, subscription{credits{premium_credits, add_on_credits {remaining,
//     resets_at}}}, usage_based{included_credits, remaining_credits, spending_cap_usd,
//     spending_current_usd}}. CONFIRMED: heygen-cli gen/user.go UserMeGet;
//     https://developers.heygen.com/reference/get-current-user.

func init() {
	listers["heygen"] = func(o Options) (Lister, error) { return NewHeyGen(polling("heygen", o)) }
	balancers["heygen"] = func(o Options) (Balancer, error) { return NewHeyGen(polling("heygen", o)) }
}

// heygenAvatarEvents are the webhook events a listed video becomes. A per-job callback_url webhook
// has no event_id, so the preset's id is (event_type, video_id), which the body built here
// reproduces (legacy payload: event_data{video_id, url, callback_id} / {video_id, msg,
// callback_id}, CONFIRMED https://docs.heygen.com/docs/using-heygens-webhook-events).
const (
	heygenVideoSuccess = "avatar_video.success"
	heygenVideoFail    = "avatar_video.fail"
)

// ListJobs lists the delivered-event history, then the videos. A video that the history already
// holds an avatar_video event for is skipped: its webhook carried an event_id, so its recovery
// under the (event_type, video_id) id of a callback_url webhook would be a second event.
func (h *HeyGen) ListJobs(ctx context.Context, since time.Time) ([]Job, error) {
	jobs, seen, err := h.webhookEvents(ctx, since)
	if err != nil {
		return nil, err
	}
	videos, err := h.videos(ctx, since, seen)
	if err != nil {
		return nil, err
	}
	return append(jobs, videos...), nil
}

type heygenPage struct {
	Data      []json.RawMessage `json:"data"`
	HasMore   bool              `json:"has_more"`
	NextToken string            `json:"next_token"`
}

// pages calls GET path?limit=100&token=… while has_more, handing each item to each.
func (h *HeyGen) pages(ctx context.Context, path string, each func(json.RawMessage) error) error {
	token := ""
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(pageLimit)}}
		if token != "" {
			q.Set("token", token)
		}
		var out heygenPage
		if err := h.c.call(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			return err
		}
		for _, item := range out.Data {
			if err := each(item); err != nil {
				return fmt.Errorf("heygen API: GET %s: %w", path, err)
			}
		}
		if !out.HasMore || out.NextToken == "" {
			return nil
		}
		token = out.NextToken
	}
	return nil
}

// webhookEvents returns the history's events since since, and the ids of the videos it has
// avatar_video events for.
func (h *HeyGen) webhookEvents(ctx context.Context, since time.Time) ([]Job, map[string]bool, error) {
	var jobs []Job
	seen := map[string]bool{}
	err := h.pages(ctx, "/v3/webhooks/events", func(item json.RawMessage) error {
		var e struct {
			EventID   string `json:"event_id"`
			EventType string `json:"event_type"`
			EventData struct {
				VideoID string `json:"video_id"`
			} `json:"event_data"`
			CreatedAt json.RawMessage `json:"created_at"`
		}
		if err := json.Unmarshal(item, &e); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		if e.EventType == heygenVideoSuccess || e.EventType == heygenVideoFail {
			seen[e.EventData.VideoID] = true
		}
		at := jsonTime(e.CreatedAt)
		if !inWindow(at, since) {
			return nil
		}
		jobs = append(jobs, Job{Body: item, ResourceID: resourceID("heygen", item), Status: e.EventType, Terminal: true, UpdatedAt: at})
		return nil
	})
	return jobs, seen, err
}

// videos returns the videos changed since since, but those in skip; completed and failed ones as
// the callback_url webhook body with the API object inside event_data.
func (h *HeyGen) videos(ctx context.Context, since time.Time, skip map[string]bool) ([]Job, error) {
	var jobs []Job
	err := h.pages(ctx, "/v3/videos", func(item json.RawMessage) error {
		var v struct {
			ID             string          `json:"id"`
			Status         string          `json:"status"`
			CreatedAt      json.RawMessage `json:"created_at"`
			CompletedAt    json.RawMessage `json:"completed_at"`
			VideoURL       string          `json:"video_url"`
			FailureMessage string          `json:"failure_message"`
		}
		if err := json.Unmarshal(item, &v); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		at := later(jsonTime(v.CreatedAt), jsonTime(v.CompletedAt))
		if v.ID == "" || skip[v.ID] || !inWindow(at, since) {
			return nil
		}
		job := Job{Body: item, ResourceID: v.ID, Status: v.Status, UpdatedAt: at}
		var event string
		extra := map[string]any{"video_id": v.ID}
		switch v.Status {
		case "completed":
			event = heygenVideoSuccess
			extra["url"] = v.VideoURL
		case "failed":
			event = heygenVideoFail
			extra["msg"] = v.FailureMessage
		default: // pending, processing, queued, draft …: watched for stalls
			jobs = append(jobs, job)
			return nil
		}
		data, err := withFields(item, extra)
		if err != nil {
			return err
		}
		body := map[string]any{"event_type": event, "event_data": data}
		if !at.IsZero() {
			body["created_at"] = at.Unix()
		}
		if job.Body, err = webhookBody(body); err != nil {
			return err
		}
		job.Terminal = true
		jobs = append(jobs, job)
		return nil
	})
	return jobs, err
}

// Balance is GET /v3/users/me, read by billing_type: a wallet's remaining_balance (in its
// currency, usd or credits), a subscription's premium plus add-on credits (period: the premium
// credits' resets_at), or usage-based remaining_credits of included_credits (else the spending cap
// left, in usd).
func (h *HeyGen) Balance(ctx context.Context) (Balance, error) {
	type credits struct {
		Remaining *float64 `json:"remaining"`
		ResetsAt  string   `json:"resets_at"`
	}
	var out struct {
		Data struct {
			BillingType string `json:"billing_type"`
			Wallet      *struct {
				Currency         string   `json:"currency"`
				RemainingBalance *float64 `json:"remaining_balance"`
			} `json:"wallet"`
			Subscription *struct {
				Credits struct {
					Premium credits `json:"premium_credits"`
					AddOn   credits `json:"add_on_credits"`
				} `json:"credits"`
			} `json:"subscription"`
			UsageBased *struct {
				IncludedCredits    *float64 `json:"included_credits"`
				RemainingCredits   *float64 `json:"remaining_credits"`
				SpendingCapUSD     *float64 `json:"spending_cap_usd"`
				SpendingCurrentUSD *float64 `json:"spending_current_usd"`
			} `json:"usage_based"`
		} `json:"data"`
	}
	if err := h.c.call(ctx, http.MethodGet, "/v3/users/me", nil, nil, &out); err != nil {
		return Balance{}, err
	}
	d := out.Data
	bad := func(what string) (Balance, error) {
		return Balance{}, fmt.Errorf("heygen API: GET /v3/users/me: %w: billing_type %q without %s", ErrBadResponse, d.BillingType, what)
	}
	switch d.BillingType {
	case "wallet":
		if d.Wallet == nil || d.Wallet.RemainingBalance == nil {
			return bad("wallet.remaining_balance")
		}
		unit := d.Wallet.Currency
		if unit == "" {
			unit = "usd"
		}
		return Balance{Remaining: *d.Wallet.RemainingBalance, Unit: unit}, nil
	case "subscription":
		if d.Subscription == nil || d.Subscription.Credits.Premium.Remaining == nil {
			return bad("subscription.credits.premium_credits.remaining")
		}
		c := d.Subscription.Credits
		b := Balance{Remaining: *c.Premium.Remaining, Unit: "credits", Period: c.Premium.ResetsAt, ResetAt: isoTime(c.Premium.ResetsAt)}
		if c.AddOn.Remaining != nil {
			b.Remaining += *c.AddOn.Remaining
		}
		return b, nil
	case "usage_based":
		u := d.UsageBased
		switch {
		case u == nil:
			return bad("usage_based")
		case u.RemainingCredits != nil:
			b := Balance{Remaining: *u.RemainingCredits, Unit: "credits"}
			if u.IncludedCredits != nil {
				b.Limit = *u.IncludedCredits
			}
			return b, nil
		case u.SpendingCapUSD != nil && u.SpendingCurrentUSD != nil:
			return Balance{Remaining: *u.SpendingCapUSD - *u.SpendingCurrentUSD, Limit: *u.SpendingCapUSD, Unit: "usd"}, nil
		}
		return bad("usage_based.remaining_credits or spending_cap_usd")
	}
	return Balance{}, fmt.Errorf("heygen API: GET /v3/users/me: %w: unknown billing_type %q", ErrBadResponse, d.BillingType)
}

var (
	_ Lister   = (*HeyGen)(nil)
	_ Balancer = (*HeyGen)(nil)
)
