package platformapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Synthesia is Synthesia's webhook API (https://api.synthesia.io, header Authorization: <key>).
// It has no update or rotate call: to change a secret, create a new webhook and delete the old.
// CONFIRMED: https://docs.synthesia.io/reference/create-a-webhook (POST /v2/webhooks {url, events},
// the secret only in that answer) and https://docs.synthesia.io/reference/webhooks; the list, get
// and delete paths and the Authorization header from Synthesia's OpenAPI v2.0.0 as vendored in
// tryAGI/Synthesia src/libs/Synthesia/openapi.yaml (THIRD-PARTY copy of the vendor's spec).
type Synthesia struct{ c *client }

// NewSynthesia returns a Synthesia client.
func NewSynthesia(o Options) (*Synthesia, error) {
	c, err := newClient("synthesia", "https://api.synthesia.io", func(h http.Header, key string) { h.Set("Authorization", key) }, o)
	if err != nil {
		return nil, err
	}
	return &Synthesia{c: c}, nil
}

// SynthesiaEvents are the events Synthesia accepts, and what Create subscribes to by default.
var SynthesiaEvents = []string{"video.completed", "video.failed"}

// synthesiaWebhook is a WebhookResponse; createdAt is a Unix time, secret only on create.
type synthesiaWebhook struct {
	ID        string          `json:"id"`
	URL       string          `json:"url"`
	Events    []string        `json:"events"`
	Status    string          `json:"status"`
	CreatedAt json.RawMessage `json:"createdAt"`
	Secret    string          `json:"secret"`
}

func (w synthesiaWebhook) webhook() Webhook {
	created := string(w.CreatedAt)
	if created == "null" {
		created = ""
	}
	return Webhook{ID: w.ID, URL: w.URL, Events: w.Events, Status: w.Status, Created: created, Secret: w.Secret}
}

// Create is POST /v2/webhooks {"url", "events"}; events default to SynthesiaEvents.
func (s *Synthesia) Create(ctx context.Context, r Registration) (Webhook, error) {
	events := r.Events
	if len(events) == 0 {
		events = SynthesiaEvents
	}
	for _, e := range events {
		if !slices.Contains(SynthesiaEvents, e) {
			return Webhook{}, fmt.Errorf("synthesia: %w: %q (Synthesia accepts %v)", ErrEvents, e, SynthesiaEvents)
		}
	}
	body := struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}{r.URL, events}
	var out synthesiaWebhook
	if err := s.c.call(ctx, http.MethodPost, "/v2/webhooks", nil, body, &out); err != nil {
		return Webhook{}, err
	}
	return out.webhook(), nil
}

// List is GET /v2/webhooks?limit=100&offset=…, page after page.
func (s *Synthesia) List(ctx context.Context) ([]Webhook, error) {
	const limit = 100
	var all []Webhook
	offset := 0
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		var out struct {
			Webhooks []synthesiaWebhook `json:"webhooks"`
		}
		if err := s.c.call(ctx, http.MethodGet, "/v2/webhooks", q, nil, &out); err != nil {
			return nil, err
		}
		for _, w := range out.Webhooks {
			all = append(all, w.webhook())
		}
		if len(out.Webhooks) < limit {
			break
		}
		offset += limit
	}
	return all, nil
}

// Delete is DELETE /v2/webhooks/{webhook_id}.
func (s *Synthesia) Delete(ctx context.Context, id string) error {
	p, err := pathID(id)
	if err != nil {
		return err
	}
	return s.c.call(ctx, http.MethodDelete, "/v2/webhooks"+p, nil, nil, nil)
}

var _ Registrar = (*Synthesia)(nil)
