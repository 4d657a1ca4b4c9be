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

// Synthesia's listing (facts: shared/platform-apis.md §5). Synthesia has no balance endpoint
// (CONFIRMED by absence: no user, quota or credits path in its OpenAPI), so it has no Balancer.
//
// GET /v2/videos?limit=&offset=: {videos[]{id, status complete|error|rejected|in_progress|
// deleted|approved, createdAt, lastUpdatedAt (unix), callbackId, download …}, nextOffset}.
// CONFIRMED: Synthesia's OpenAPI, a verbatim copy in tryAGI/Synthesia
// src/libs/Synthesia/openapi.yaml @f982c30; https://docs.synthesia.io/reference/list-videos.
// A webhook is {type: video.completed|video.failed, data: <video object>} (CONFIRMED,
// https://docs.synthesia.io/reference/webhook-events), so a listed video is wrapped the same way
// and normalizes to the webhook's id (synthesia, type, id). No date filter: the window is applied
// here. Budget: 60 reads a minute (DefaultRequestsPerMinute).

func init() {
	listers["synthesia"] = func(o Options) (Lister, error) { return NewSynthesia(polling("synthesia", o)) }
}

// synthesiaEvent is the webhook a terminal status sent; "" for statuses that may still change.
var synthesiaEvent = map[string]string{"complete": "video.completed", "error": "video.failed", "rejected": "video.failed"}

// ListJobs pages the videos by offset until nextOffset is absent or a page is empty.
func (s *Synthesia) ListJobs(ctx context.Context, since time.Time) ([]Job, error) {
	var jobs []Job
	offset := 0
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(pageLimit)}, "offset": {strconv.Itoa(offset)}}
		var out struct {
			Videos     []json.RawMessage `json:"videos"`
			NextOffset *int              `json:"nextOffset"`
		}
		if err := s.c.call(ctx, http.MethodGet, "/v2/videos", q, nil, &out); err != nil {
			return nil, err
		}
		for _, item := range out.Videos {
			var v struct {
				ID            string          `json:"id"`
				Status        string          `json:"status"`
				CreatedAt     json.RawMessage `json:"createdAt"`
				LastUpdatedAt json.RawMessage `json:"lastUpdatedAt"`
			}
			if err := json.Unmarshal(item, &v); err != nil {
				return nil, fmt.Errorf("synthesia API: GET /v2/videos: %w: %v", ErrBadResponse, err)
			}
			at := later(jsonTime(v.CreatedAt), jsonTime(v.LastUpdatedAt))
			// deleted has no webhook to recover and will not change: left out.
			if v.ID == "" || v.Status == "deleted" || !inWindow(at, since) {
				continue
			}
			job := Job{Body: item, ResourceID: v.ID, Status: v.Status, UpdatedAt: at}
			if event := synthesiaEvent[v.Status]; event != "" {
				b, err := webhookBody(map[string]any{"type": event, "data": item})
				if err != nil {
					return nil, err
				}
				job.Body, job.Terminal = b, true
			}
			jobs = append(jobs, job)
		}
		if out.NextOffset == nil || *out.NextOffset <= offset || len(out.Videos) == 0 {
			break
		}
		offset = *out.NextOffset
	}
	return jobs, nil
}

var _ Lister = (*Synthesia)(nil)
