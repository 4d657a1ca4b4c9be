package platformapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// DID is D-ID's API (https://api.d-id.com), used to fetch a talk or a clip back. Sources and labels:
//
//   - GET /talks/{id} and GET /clips/{id} return the talk and the clip object: CONFIRMED,
//     https://docs.d-id.com/reference/talks-overview and https://docs.d-id.com/reference/clips-overview
//     ("GET https://api.d-id.com/clips/<id> | Get a specific clip"), and D-ID's OpenAPI as mirrored
//     in tryAGI/DId src/libs/DId/openapi.json @935b251 (GetTalkDto, GetClipResponse);
//   - auth is HTTP Basic with the key from D-ID Studio, "in this format: API_USERNAME:API_PASSWORD":
//     CONFIRMED, https://docs.d-id.com/reference/basic-authentication. A key of that form is
//     sent as is, any other key as the user name with an empty password.
type DID struct{ c *client }

// NewDID returns a D-ID client.
func NewDID(o Options) (*DID, error) {
	c, err := newClient("did", "https://api.d-id.com", didAuth, o)
	if err != nil {
		return nil, err
	}
	return &DID{c: c}, nil
}

func didAuth(h http.Header, key string) {
	if !strings.Contains(key, ":") {
		key += ":"
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key)))
}

// Talk is GET /talks/{id}: the talk object as D-ID sends it.
func (d *DID) Talk(ctx context.Context, id string) (json.RawMessage, error) {
	return d.get(ctx, "/talks", id)
}

// Clip is GET /clips/{id}: the clip object (clp_…) as D-ID sends it.
func (d *DID) Clip(ctx context.Context, id string) (json.RawMessage, error) {
	return d.get(ctx, "/clips", id)
}

func (d *DID) get(ctx context.Context, collection, id string) (json.RawMessage, error) {
	p, err := pathID(id)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := d.c.call(ctx, http.MethodGet, collection+p, nil, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
