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

// ElevenLabs' listing and balance (facts: shared/platform-apis.md §4).
//
//   - GET /v1/convai/conversations?page_size=&call_start_after_unix=&cursor=:
//     {conversations[]{agent_id, conversation_id, start_time_unix_secs, call_duration_secs,
//     status initiated|in-progress|processing|done|failed …}, next_cursor, has_more}. CONFIRMED:
//     elevenlabs/elevenlabs-python src/elevenlabs/conversational_ai/conversations/raw_client.py,
//     types/get_conversations_page_response_model.py, types/conversation_summary_response_model*.py
//     @54e5899. "Each webhook event is dispatched only once, refer to the API for methods to poll"
//     (elevenlabs/elevenlabs-docs fern/docs/pages/product-guides/administration/webhooks.mdx).
//     A done or failed conversation is recovered as its post_call_transcription webhook
//     {type, event_timestamp, data{conversation_id, agent_id, status …}} (CONFIRMED, the platform
//     fixture's docs example), whose id (elevenlabs, post_call_transcription, conversation_id)
//     does not depend on the rest of data. UNCONFIRMED: that ElevenLabs sends
//     post_call_transcription (rather than nothing) for a failed conversation.
//   - GET /v1/user/subscription: {character_count, character_limit,
//     next_character_count_reset_unix …} (characters are credits). CONFIRMED: elevenlabs-python
//     src/elevenlabs/user/subscription/raw_client.py, types/subscription.py @54e5899.

func init() {
	listers["elevenlabs"] = func(o Options) (Lister, error) { return NewElevenLabs(polling("elevenlabs", o)) }
	balancers["elevenlabs"] = func(o Options) (Balancer, error) { return NewElevenLabs(polling("elevenlabs", o)) }
}

// elevenlabsPostCall is the webhook a finished conversation sent.
const elevenlabsPostCall = "post_call_transcription"

// ListJobs lists the conversations started since since (the API filters by start time), following
// next_cursor while has_more.
func (e *ElevenLabs) ListJobs(ctx context.Context, since time.Time) ([]Job, error) {
	var jobs []Job
	cursor := ""
	for range maxPages {
		q := url.Values{"page_size": {strconv.Itoa(pageLimit)}}
		if !since.IsZero() {
			q.Set("call_start_after_unix", strconv.FormatInt(since.Unix(), 10))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Conversations []json.RawMessage `json:"conversations"`
			NextCursor    string            `json:"next_cursor"`
			HasMore       bool              `json:"has_more"`
		}
		if err := e.c.call(ctx, http.MethodGet, "/v1/convai/conversations", q, nil, &out); err != nil {
			return nil, err
		}
		for _, item := range out.Conversations {
			var c struct {
				ConversationID   string          `json:"conversation_id"`
				Status           string          `json:"status"`
				StartTimeUnix    json.RawMessage `json:"start_time_unix_secs"`
				CallDurationSecs float64         `json:"call_duration_secs"`
			}
			if err := json.Unmarshal(item, &c); err != nil {
				return nil, fmt.Errorf("elevenlabs API: GET /v1/convai/conversations: %w: %v", ErrBadResponse, err)
			}
			if c.ConversationID == "" {
				continue
			}
			at := jsonTime(c.StartTimeUnix)
			if !at.IsZero() {
				at = at.Add(time.Duration(c.CallDurationSecs * float64(time.Second)))
			}
			job := Job{Body: item, ResourceID: c.ConversationID, Status: c.Status, UpdatedAt: at}
			if c.Status == "done" || c.Status == "failed" {
				body := map[string]any{"type": elevenlabsPostCall, "data": item}
				if !at.IsZero() {
					body["event_timestamp"] = at.Unix()
				}
				b, err := webhookBody(body)
				if err != nil {
					return nil, err
				}
				job.Body, job.Terminal = b, true
			}
			jobs = append(jobs, job)
		}
		if !out.HasMore || out.NextCursor == "" {
			break
		}
		cursor = out.NextCursor
	}
	return jobs, nil
}

// Balance is GET /v1/user/subscription: character_limit − character_count characters, the period
// being the next reset (next_character_count_reset_unix).
func (e *ElevenLabs) Balance(ctx context.Context) (Balance, error) {
	var out struct {
		CharacterCount *float64 `json:"character_count"`
		CharacterLimit *float64 `json:"character_limit"`
		NextReset      int64    `json:"next_character_count_reset_unix"`
	}
	if err := e.c.call(ctx, http.MethodGet, "/v1/user/subscription", nil, nil, &out); err != nil {
		return Balance{}, err
	}
	if out.CharacterCount == nil || out.CharacterLimit == nil {
		return Balance{}, fmt.Errorf("elevenlabs API: GET /v1/user/subscription: %w: no character_count or character_limit", ErrBadResponse)
	}
	b := Balance{Remaining: max(*out.CharacterLimit-*out.CharacterCount, 0), Limit: *out.CharacterLimit, Unit: "characters"}
	if out.NextReset > 0 {
		b.ResetAt = time.Unix(out.NextReset, 0).UTC()
		b.Period = b.ResetAt.Format(time.RFC3339)
	}
	return b, nil
}

var (
	_ Lister   = (*ElevenLabs)(nil)
	_ Balancer = (*ElevenLabs)(nil)
)
