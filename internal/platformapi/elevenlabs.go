package platformapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// ElevenLabs is ElevenLabs' workspace webhook API (https://api.elevenlabs.io, header xi-api-key).
// A workspace webhook has no event list: it is attached to a product afterwards (for agents, the
// post-call webhook in the agent's settings). CONFIRMED: elevenlabs/elevenlabs-python
// src/elevenlabs/webhooks/raw_client.py (create, list, update, delete; commit 54e58995) and
// https://elevenlabs.io/docs/eleven-api/resources/webhooks.
type ElevenLabs struct{ c *client }

// NewElevenLabs returns an ElevenLabs client.
func NewElevenLabs(o Options) (*ElevenLabs, error) {
	c, err := newClient("elevenlabs", "https://api.elevenlabs.io", func(h http.Header, key string) { h.Set("xi-api-key", key) }, o)
	if err != nil {
		return nil, err
	}
	return &ElevenLabs{c: c}, nil
}

// DefaultWebhookName names a webhook registered without a name.
const DefaultWebhookName = "avatarbus"

// Create is POST /v1/workspace/webhooks {"settings": {"auth_type": "hmac", "name", "webhook_url"}}.
func (e *ElevenLabs) Create(ctx context.Context, r Registration) (Webhook, error) {
	if len(r.Events) > 0 {
		return Webhook{}, fmt.Errorf("elevenlabs: %w: a workspace webhook has no event list; attach it to an agent (post-call webhook) in ElevenLabs", ErrEvents)
	}
	name := r.Name
	if name == "" {
		name = DefaultWebhookName
	}
	type settings struct {
		AuthType   string `json:"auth_type"`
		Name       string `json:"name"`
		WebhookURL string `json:"webhook_url"`
	}
	body := struct {
		Settings settings `json:"settings"`
	}{settings{AuthType: "hmac", Name: name, WebhookURL: r.URL}}
	var out struct {
		WebhookID     string `json:"webhook_id"`
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := e.c.call(ctx, http.MethodPost, "/v1/workspace/webhooks", nil, body, &out); err != nil {
		return Webhook{}, err
	}
	return Webhook{ID: out.WebhookID, URL: r.URL, Secret: out.WebhookSecret}, nil
}

// EnableRetries is PATCH /v1/workspace/webhooks/{webhook_id} {"is_disabled": false, "name",
// "retry_enabled": true}: is_disabled and name are required by the endpoint, retry_enabled turns on
// retries of post_call_transcription deliveries on 5xx/429/timeouts (CONFIRMED,
// elevenlabs/elevenlabs-python src/elevenlabs/webhooks/raw_client.py `update`, commit 54e58995;
// the answer is {"status": "ok"}).
func (e *ElevenLabs) EnableRetries(ctx context.Context, id, name string) error {
	p, err := pathID(id)
	if err != nil {
		return err
	}
	if name == "" {
		name = DefaultWebhookName
	}
	body := struct {
		IsDisabled   bool   `json:"is_disabled"`
		Name         string `json:"name"`
		RetryEnabled bool   `json:"retry_enabled"`
	}{false, name, true}
	return e.c.call(ctx, http.MethodPatch, "/v1/workspace/webhooks"+p, nil, body, nil)
}

var _ RetryEnabler = (*ElevenLabs)(nil)

// List is GET /v1/workspace/webhooks.
func (e *ElevenLabs) List(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []struct {
			Name           string `json:"name"`
			WebhookID      string `json:"webhook_id"`
			WebhookURL     string `json:"webhook_url"`
			IsDisabled     bool   `json:"is_disabled"`
			IsAutoDisabled bool   `json:"is_auto_disabled"`
			CreatedAtUnix  int64  `json:"created_at_unix"`
		} `json:"webhooks"`
	}
	if err := e.c.call(ctx, http.MethodGet, "/v1/workspace/webhooks", nil, nil, &out); err != nil {
		return nil, err
	}
	all := make([]Webhook, 0, len(out.Webhooks))
	for _, w := range out.Webhooks {
		status := "enabled"
		switch {
		case w.IsAutoDisabled:
			status = "auto-disabled"
		case w.IsDisabled:
			status = "disabled"
		}
		created := ""
		if w.CreatedAtUnix > 0 {
			created = strconv.FormatInt(w.CreatedAtUnix, 10)
		}
		all = append(all, Webhook{ID: w.WebhookID, URL: w.WebhookURL, Status: status, Created: created})
	}
	return all, nil
}

// Delete is DELETE /v1/workspace/webhooks/{webhook_id}.
func (e *ElevenLabs) Delete(ctx context.Context, id string) error {
	p, err := pathID(id)
	if err != nil {
		return err
	}
	return e.c.call(ctx, http.MethodDelete, "/v1/workspace/webhooks"+p, nil, nil, nil)
}

var _ Registrar = (*ElevenLabs)(nil)
