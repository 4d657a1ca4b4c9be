package platformapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// HeyGen is HeyGen's v3 webhook endpoint API (https://api.heygen.com, header X-Api-Key). The
// endpoints, bodies and answers used here are CONFIRMED in developers.heygen.com/docs/webhooks
// (create, list, update, delete, rotate-secret; list answers carry secret: null) and
// developers.heygen.com/docs/webhook-events (event-types); facts: docs/platforms/heygen.md.
type HeyGen struct{ c *client }

// NewHeyGen returns a HeyGen client.
func NewHeyGen(o Options) (*HeyGen, error) {
	c, err := newClient("heygen", "https://api.heygen.com", func(h http.Header, key string) { h.Set("X-Api-Key", key) }, o)
	if err != nil {
		return nil, err
	}
	return &HeyGen{c: c}, nil
}

// heygenEndpoint is a v3 endpoint object; secret is set only on create and rotate-secret.
type heygenEndpoint struct {
	EndpointID string   `json:"endpoint_id"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Status     string   `json:"status"`
	CreatedAt  string   `json:"created_at"`
	Secret     string   `json:"secret"`
}

func (e heygenEndpoint) webhook() Webhook {
	return Webhook{ID: e.EndpointID, URL: e.URL, Events: e.Events, Status: e.Status, Created: e.CreatedAt, Secret: e.Secret}
}

// Create is POST /v3/webhooks/endpoints {"url", "events"}; no events subscribes to all of them.
func (h *HeyGen) Create(ctx context.Context, r Registration) (Webhook, error) {
	body := struct {
		URL    string   `json:"url"`
		Events []string `json:"events,omitempty"`
	}{r.URL, r.Events}
	var out struct {
		Data heygenEndpoint `json:"data"`
	}
	if err := h.c.call(ctx, http.MethodPost, "/v3/webhooks/endpoints", nil, body, &out); err != nil {
		return Webhook{}, err
	}
	return out.Data.webhook(), nil
}

// List is GET /v3/webhooks/endpoints?limit=100&token=…, following next_token while has_more.
func (h *HeyGen) List(ctx context.Context) ([]Webhook, error) {
	var all []Webhook
	token := ""
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(100)}}
		if token != "" {
			q.Set("token", token)
		}
		var out struct {
			Data      []heygenEndpoint `json:"data"`
			HasMore   bool             `json:"has_more"`
			NextToken string           `json:"next_token"`
		}
		if err := h.c.call(ctx, http.MethodGet, "/v3/webhooks/endpoints", q, nil, &out); err != nil {
			return nil, err
		}
		for _, e := range out.Data {
			all = append(all, e.webhook())
		}
		if !out.HasMore || out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	return all, nil
}

// Delete is DELETE /v3/webhooks/endpoints/{endpoint_id}.
func (h *HeyGen) Delete(ctx context.Context, id string) error {
	p, err := pathID(id)
	if err != nil {
		return err
	}
	return h.c.call(ctx, http.MethodDelete, "/v3/webhooks/endpoints"+p, nil, nil, nil)
}

// Rotate is POST /v3/webhooks/endpoints/{endpoint_id}/rotate-secret. HeyGen invalidates the old
// secret immediately.
func (h *HeyGen) Rotate(ctx context.Context, id string) (Webhook, error) {
	p, err := pathID(id)
	if err != nil {
		return Webhook{}, err
	}
	var out struct {
		Data heygenEndpoint `json:"data"`
	}
	if err := h.c.call(ctx, http.MethodPost, "/v3/webhooks/endpoints"+p+"/rotate-secret", nil, nil, &out); err != nil {
		return Webhook{}, err
	}
	w := out.Data.webhook()
	if w.ID == "" {
		w.ID = id
	}
	return w, nil
}

// UpdateEvents is PATCH /v3/webhooks/endpoints/{endpoint_id} {"events"}: HeyGen replaces the
// endpoint's events with the array (CONFIRMED, developers.heygen.com/docs/webhooks "Update an
// Endpoint": "The events array is fully replaced").
func (h *HeyGen) UpdateEvents(ctx context.Context, id string, events []string) (Webhook, error) {
	p, err := pathID(id)
	if err != nil {
		return Webhook{}, err
	}
	body := struct {
		Events []string `json:"events"`
	}{events}
	var out struct {
		Data heygenEndpoint `json:"data"`
	}
	if err := h.c.call(ctx, http.MethodPatch, "/v3/webhooks/endpoints"+p, nil, body, &out); err != nil {
		return Webhook{}, err
	}
	w := out.Data.webhook()
	if w.ID == "" {
		w.ID = id
	}
	w.Secret = "" // never returned on update; kept empty should a proxy echo one
	return w, nil
}

// EventTypes is GET /v3/webhooks/event-types: {"data": [{"event_type", "description"}], "has_more",
// "next_token"} (CONFIRMED, developers.heygen.com/docs/webhook-events; heygen-com/heygen-cli
// gen/webhook.go), following next_token while has_more.
func (h *HeyGen) EventTypes(ctx context.Context) ([]string, error) {
	var names []string
	token := ""
	for range maxPages {
		var q url.Values
		if token != "" {
			q = url.Values{"token": {token}}
		}
		var out struct {
			Data []struct {
				EventType string `json:"event_type"`
			} `json:"data"`
			HasMore   bool   `json:"has_more"`
			NextToken string `json:"next_token"`
		}
		if err := h.c.call(ctx, http.MethodGet, "/v3/webhooks/event-types", q, nil, &out); err != nil {
			return nil, err
		}
		for _, d := range out.Data {
			if d.EventType != "" {
				names = append(names, d.EventType)
			}
		}
		if !out.HasMore || out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	return names, nil
}

// Video is GET /v3/videos/{video_id}: the video object (id, status, video_url, thumbnail_url,
// duration, failure_code, failure_message …). v3 answers wrap objects in "data"; a bare object is
// accepted too, since the wrapping of this endpoint is not confirmed.
func (h *HeyGen) Video(ctx context.Context, id string) (json.RawMessage, error) {
	p, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := h.c.call(ctx, http.MethodGet, "/v3/videos"+p, nil, nil, &raw); err != nil {
		return nil, err
	}
	var wrapped struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.Data) > 0 && wrapped.Data[0] == '{' {
		return wrapped.Data, nil
	}
	return raw, nil
}

var _ Rotator = (*HeyGen)(nil)

var (
	_ Updater    = (*HeyGen)(nil)
	_ EventTyper = (*HeyGen)(nil)
)
