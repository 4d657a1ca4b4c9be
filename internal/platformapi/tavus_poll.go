package platformapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Tavus's listing (facts: shared/platform-apis.md §3). Tavus documents no balance endpoint
// (UNKNOWN, probably none: not in https://docs.tavus.io/llms.txt), so it has no Balancer.
//
//   - GET /v2/videos?limit=&page=: {data[]{video_id, status, download_url, hosted_url,
//     status_details …}, total_count}; a video callback is the video object itself, so a listed
//     ready|error video normalizes to the callback's id (tavus, video_id, status). CONFIRMED:
//     https://docs.tavus.io/api-reference/video-request/get-videos. The docs disagree on whether
//     page is 0- or 1-based (the .md OpenAPI: 0; the rendered page: 1), so paging starts at 0,
//     drops items already seen, and stops on a short or empty page or at total_count: right
//     either way.
//   - GET /v2/conversations?limit=&page=: {data[]{conversation_id, status active|ended,
//     callback_url, created_at, updated_at …}, total_count}. CONFIRMED:
//     https://docs.tavus.io/api-reference/conversations/get-conversations. The list carries no
//     events; an ended conversation is recovered as its system.shutdown callback
//     ({conversation_id, event_type, message_type, timestamp, properties}, CONFIRMED
//     https://docs.tavus.io/sections/webhooks-and-callbacks), whose id (tavus, conversation_id,
//     system.shutdown) does not depend on the body. The shutdown_reason is not in the list, so
//     properties holds the listed object instead. The other conversation callbacks
//     (transcription_ready, recording_ready …) cannot be told from the list and are not recovered.

func init() {
	listers["tavus"] = func(o Options) (Lister, error) { return NewTavus(polling("tavus", o)) }
}

// tavusShutdown is the callback an ended conversation sent.
const tavusShutdown = "system.shutdown"

// ListJobs lists videos, then conversations.
func (t *Tavus) ListJobs(ctx context.Context, since time.Time) ([]Job, error) {
	var jobs []Job
	err := t.pages(ctx, "/v2/videos", "video_id", func(item json.RawMessage, id string) error {
		var v struct {
			Status    string          `json:"status"`
			CreatedAt json.RawMessage `json:"created_at"`
			UpdatedAt json.RawMessage `json:"updated_at"`
		}
		if err := json.Unmarshal(item, &v); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		at := later(jsonTime(v.CreatedAt), jsonTime(v.UpdatedAt))
		// deleted has no callback to recover and will not change: left out.
		if v.Status == "deleted" || !inWindow(at, since) {
			return nil
		}
		jobs = append(jobs, Job{Body: item, ResourceID: id, Status: v.Status, Terminal: v.Status == "ready" || v.Status == "error", UpdatedAt: at})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = t.pages(ctx, "/v2/conversations", "conversation_id", func(item json.RawMessage, id string) error {
		var c struct {
			Status    string          `json:"status"`
			CreatedAt json.RawMessage `json:"created_at"`
			UpdatedAt json.RawMessage `json:"updated_at"`
		}
		if err := json.Unmarshal(item, &c); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		at := later(jsonTime(c.CreatedAt), jsonTime(c.UpdatedAt))
		if !inWindow(at, since) {
			return nil
		}
		job := Job{Body: item, ResourceID: id, Status: c.Status, UpdatedAt: at}
		if c.Status == "ended" {
			body := map[string]any{"conversation_id": id, "event_type": tavusShutdown, "message_type": "system", "properties": item}
			if !at.IsZero() {
				body["timestamp"] = at.Format(time.RFC3339Nano)
			}
			b, err := webhookBody(body)
			if err != nil {
				return err
			}
			job.Body, job.Terminal = b, true
		}
		jobs = append(jobs, job)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// pages walks GET path?limit=100&page=N from page 0, handing each item not seen before, with its
// id under idKey, to each.
func (t *Tavus) pages(ctx context.Context, path, idKey string, each func(json.RawMessage, string) error) error {
	seen := map[string]bool{}
	for page := range maxPages {
		q := url.Values{"limit": {strconv.Itoa(pageLimit)}, "page": {strconv.Itoa(page)}}
		var out struct {
			Data       []json.RawMessage `json:"data"`
			TotalCount *int              `json:"total_count"`
		}
		if err := t.c.call(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			// A 1-based API may refuse page 0: start again at 1.
			if ae, ok := errors.AsType[*APIError](err); ok && page == 0 && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity) {
				continue
			}
			return err
		}
		for _, item := range out.Data {
			var ids map[string]json.RawMessage
			if err := json.Unmarshal(item, &ids); err != nil {
				return fmt.Errorf("tavus API: GET %s: %w: %v", path, ErrBadResponse, err)
			}
			var id string
			_ = json.Unmarshal(ids[idKey], &id)
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			if err := each(item, id); err != nil {
				return fmt.Errorf("tavus API: GET %s: %w", path, err)
			}
		}
		if len(out.Data) < pageLimit || (out.TotalCount != nil && len(seen) >= *out.TotalCount) {
			return nil
		}
	}
	return nil
}

var _ Lister = (*Tavus)(nil)
