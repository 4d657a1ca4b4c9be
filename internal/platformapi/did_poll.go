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

// D-ID's listing and balance (facts: shared/platform-apis.md §2).
//
//   - GET /talks and GET /clips ?limit=&token=: {talks[] | clips[], token}; each item is the
//     talk/clip object (id, status created|started|done|error|rejected, created_at, modified_at,
//     result_url …), which is also the webhook body, so a listed job normalizes to the webhook's
//     id (did, id, status). CONFIRMED (spec): D-ID's OpenAPI as extracted in tryAGI/DId
//     src/libs/DId/openapi.json @935b251 (GetTalksDto, GetClipsResponse); status values also in
//     https://docs.d-id.com/reference/talks-overview and /clips-overview. UNKNOWN: sort order;
//     there is no created-after filter, so the window is applied here.
//   - GET /credits: {credits[]{remaining, total, expire_at …}, remaining, total}. CONFIRMED:
//     https://docs.d-id.com/reference/credits-1 and the same spec (UserCredits).

func init() {
	listers["did"] = func(o Options) (Lister, error) { return NewDID(polling("did", o)) }
	balancers["did"] = func(o Options) (Balancer, error) { return NewDID(polling("did", o)) }
}

// didTerminal are the statuses a talk or clip does not leave.
var didTerminal = map[string]bool{"done": true, "error": true, "rejected": true}

// ListJobs lists talks, then clips.
func (d *DID) ListJobs(ctx context.Context, since time.Time) ([]Job, error) {
	talks, err := d.list(ctx, "/talks", "talks", since)
	if err != nil {
		return nil, err
	}
	clips, err := d.list(ctx, "/clips", "clips", since)
	if err != nil {
		return nil, err
	}
	return append(talks, clips...), nil
}

// list pages GET path?limit=100&token=… until the answer has no token or no items.
func (d *DID) list(ctx context.Context, path, key string, since time.Time) ([]Job, error) {
	var jobs []Job
	token := ""
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(pageLimit)}}
		if token != "" {
			q.Set("token", token)
		}
		var out map[string]json.RawMessage
		if err := d.c.call(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if raw, ok := out[key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("did API: GET %s: %w: %s: %v", path, ErrBadResponse, key, err)
			}
		}
		for _, item := range items {
			var o struct {
				ID         string          `json:"id"`
				Status     string          `json:"status"`
				CreatedAt  json.RawMessage `json:"created_at"`
				ModifiedAt json.RawMessage `json:"modified_at"`
			}
			if err := json.Unmarshal(item, &o); err != nil {
				return nil, fmt.Errorf("did API: GET %s: %w: %v", path, ErrBadResponse, err)
			}
			at := later(jsonTime(o.CreatedAt), jsonTime(o.ModifiedAt))
			if o.ID == "" || !inWindow(at, since) {
				continue
			}
			jobs = append(jobs, Job{Body: item, ResourceID: o.ID, Status: o.Status, Terminal: didTerminal[o.Status], UpdatedAt: at})
		}
		token = ""
		if raw, ok := out["token"]; ok {
			_ = json.Unmarshal(raw, &token)
		}
		if token == "" || len(items) == 0 {
			break
		}
	}
	return jobs, nil
}

// Balance is GET /credits: remaining of total credits; the period is the soonest expire_at of the
// grants that still hold credits, when the grants carry one.
func (d *DID) Balance(ctx context.Context) (Balance, error) {
	var out struct {
		Credits []struct {
			Remaining float64 `json:"remaining"`
			ExpireAt  string  `json:"expire_at"`
		} `json:"credits"`
		Remaining *float64 `json:"remaining"`
		Total     float64  `json:"total"`
	}
	if err := d.c.call(ctx, http.MethodGet, "/credits", nil, nil, &out); err != nil {
		return Balance{}, err
	}
	if out.Remaining == nil {
		return Balance{}, fmt.Errorf("did API: GET /credits: %w: no remaining", ErrBadResponse)
	}
	b := Balance{Remaining: *out.Remaining, Limit: out.Total, Unit: "credits"}
	for _, c := range out.Credits {
		t := isoTime(c.ExpireAt)
		if c.Remaining > 0 && !t.IsZero() && (b.ResetAt.IsZero() || t.Before(b.ResetAt)) {
			b.ResetAt, b.Period = t, c.ExpireAt
		}
	}
	return b, nil
}

var (
	_ Lister   = (*DID)(nil)
	_ Balancer = (*DID)(nil)
)
