package platformapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Tavus is Tavus's API (https://tavusapi.com, header x-api-key), used to fetch videos and
// conversations back. Sources: the x-api-key header, CONFIRMED, https://docs.tavus.io/llms-full.txt
// ("Authentication"); GET /v2/videos/{video_id}, CONFIRMED,
// https://docs.tavus.io/api-reference/video-request/get-video;
// GET /v2/conversations/{conversation_id}?verbose=true returning `events` (with shutdown_reason and
// the transcript), CONFIRMED, https://docs.tavus.io/api-reference/conversations/get-conversation.
// Replicas, guardrails and objectives are not fetched back.
type Tavus struct{ c *client }

// NewTavus returns a Tavus client.
func NewTavus(o Options) (*Tavus, error) {
	c, err := newClient("tavus", "https://tavusapi.com", func(h http.Header, key string) { h.Set("x-api-key", key) }, o)
	if err != nil {
		return nil, err
	}
	return &Tavus{c: c}, nil
}

// Video is GET /v2/videos/{video_id}: the video object, shaped like a video callback.
func (t *Tavus) Video(ctx context.Context, id string) (json.RawMessage, error) {
	return t.get(ctx, "/v2/videos", id, nil)
}

// Conversation is GET /v2/conversations/{conversation_id}?verbose=true: the conversation with its
// `events` (system.replica_joined, system.shutdown, application.transcription_ready …).
func (t *Tavus) Conversation(ctx context.Context, id string) (json.RawMessage, error) {
	return t.get(ctx, "/v2/conversations", id, url.Values{"verbose": {"true"}})
}

func (t *Tavus) get(ctx context.Context, collection, id string, q url.Values) (json.RawMessage, error) {
	p, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := t.c.call(ctx, http.MethodGet, collection+p, q, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
