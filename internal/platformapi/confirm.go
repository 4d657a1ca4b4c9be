package platformapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

// ReasonUnconfirmed is the reason code (HTTP error code and metric label) of a callback whose
// resource the platform's API does not know: a forged callback, or one sent with a leaked token.
// Such requests are answered 401 and never published.
const ReasonUnconfirmed = "unconfirmed"

// confirmScheme names the step that refused a request in a *verify.Error.
const confirmScheme = "confirm"

// ErrPending: the platform knows the resource but does not list this event (yet). The request is
// answered 503, so a genuine callback that arrived before the API caught up is retried, and a forged
// one is never stored.
var ErrPending = errors.New("the platform does not list this event yet")

// Confirmer checks a normalized event against the platform's API and returns the event to
// publish, rebuilt from what the API says. It has the method set of ingest.Confirmer.
type Confirmer interface {
	Confirm(ctx context.Context, ev *envelope.Event) (*envelope.Event, error)
}

// ConfirmPlatforms returns the platforms whose callbacks can be confirmed (`confirm: fetch`).
func ConfirmPlatforms() []string { return []string{"did", "heygen", "tavus"} }

// NewConfirmer returns the Confirmer of a source: its preset rebuilds events from the fetched
// resource, with the source's name and event mapping, so a confirmed event is normalized exactly as
// a callback would be. It returns an error wrapping ErrUnsupported for a platform that has no
// fetch-back, and ErrNoKey without a key.
func NewConfirmer(p platform.Preset, source string, events map[string]string, o Options) (Confirmer, error) {
	b := rebuilder{preset: p, source: source, events: events}
	switch p.Name() {
	case "did":
		api, err := NewDID(o)
		if err != nil {
			return nil, err
		}
		return &didConfirmer{api: api, rebuilder: b}, nil
	case "heygen":
		api, err := NewHeyGen(o)
		if err != nil {
			return nil, err
		}
		return &heygenConfirmer{api: api, rebuilder: b}, nil
	case "tavus":
		api, err := NewTavus(o)
		if err != nil {
			return nil, err
		}
		return &tavusConfirmer{api: api, rebuilder: b}, nil
	}
	return nil, fmt.Errorf("%w: confirm: fetch works for %v, not %q", ErrUnsupported, ConfirmPlatforms(), p.Name())
}

// unconfirmed refuses a request; detail is sent to the caller, so it names what was asked only.
func unconfirmed(format string, args ...any) error {
	return &verify.Error{Scheme: confirmScheme, Reason: ReasonUnconfirmed, Detail: fmt.Sprintf(format, args...)}
}

// fetchFailed sorts an API error: the platform refusing the id is an unconfirmed event; anything
// else (our key refused, 429, 5xx, no answer) leaves the question open and is returned as is.
func fetchFailed(err error, what, id string) error {
	if errors.Is(err, ErrBadID) {
		return unconfirmed("the event names no valid %s id", what)
	}
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status >= 400 && ae.Status < 500 &&
		!errors.Is(ae, ErrUnauthorized) && !errors.Is(ae, ErrRateLimited) && ae.Status != http.StatusRequestTimeout {
		return unconfirmed("the platform does not know %s %s (%d)", what, quoteID(id), ae.Status)
	}
	return err
}

// quoteID quotes an id from a request for a message, shortened: it comes from the caller.
func quoteID(id string) string {
	if len(id) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(id[cut]) {
			cut--
		}
		id = id[:cut] + "…"
	}
	return fmt.Sprintf("%q", id)
}

// rebuilder normalizes a fetched resource as the source would normalize a callback.
type rebuilder struct {
	preset platform.Preset
	source string
	events map[string]string
}

// rebuild makes the event to publish from body, the platform's answer for the resource id under
// idKey. The answer must name the same resource; when it names none, id is added, so the event id
// stays the deterministic one ("did:{id}:{status}") and a redelivery is a duplicate.
func (b rebuilder) rebuild(ev *envelope.Event, body json.RawMessage, idKey, id, what string) (*envelope.Event, error) {
	body, err := sameResource(body, idKey, id, what)
	if err != nil {
		return nil, err
	}
	return b.normalize(ev, body), nil
}

// sameResource is withID for the platform's answer about the resource id (a what): an answer that
// names another resource is refused as unconfirmed.
func sameResource(body json.RawMessage, idKey, id, what string) (json.RawMessage, error) {
	body, err := withID(body, idKey, id)
	if errors.Is(err, errOtherResource) {
		return nil, unconfirmed("the platform answered for another %s than %s", what, quoteID(id))
	}
	return body, err
}

// normalize makes the event to publish from body, a payload shaped like the platform's callback.
func (b rebuilder) normalize(ev *envelope.Event, body json.RawMessage) *envelope.Event {
	next := b.preset.Normalize(platform.Input{
		Source: b.source, Header: textproto.MIMEHeader{}, Body: body, ReceivedAt: ev.ReceivedAt, Events: b.events,
	})
	return &next
}

var errOtherResource = errors.New("answer for another resource")

// withID returns obj with key set to id: unchanged (byte for byte) when it already says id, with
// the key added when it is absent, null or empty, and errOtherResource when it names another id.
func withID(obj json.RawMessage, key, id string) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadResponse)
	}
	if v, ok := fields[key]; ok && !bytes.Equal(v, []byte("null")) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // a number: platform.fields reads ids in their JSON spelling too
		}
		switch s {
		case id:
			return obj, nil
		case "":
		default:
			return nil, errOtherResource
		}
	}
	fields[key], _ = json.Marshal(id)
	return json.Marshal(fields)
}

// didConfirmer confirms D-ID callbacks: talks with GET /talks/{id}, clips with GET /clips/{id}.
type didConfirmer struct {
	api *DID
	rebuilder
}

// Confirm fetches the talk or clip and publishes it as D-ID describes it now: a callback claiming
// "done" for a talk D-ID reports as "error" publishes talk.error. A clip is what the did preset
// named clip.<status> (its object field or clp_ id prefix), or any clp_ id; the rest are talks.
func (c *didConfirmer) Confirm(ctx context.Context, ev *envelope.Event) (*envelope.Event, error) {
	id := ev.Data.ResourceID
	if !strings.HasPrefix(ev.PlatformEvent, "clip.") && !strings.HasPrefix(id, "clp_") {
		talk, err := c.api.Talk(ctx, id)
		if err != nil {
			return nil, fetchFailed(err, "talk", id)
		}
		return c.rebuild(ev, talk, "id", id, "talk")
	}
	clip, err := c.api.Clip(ctx, id)
	if err != nil {
		return nil, fetchFailed(err, "clip", id)
	}
	clip, err = sameResource(clip, "id", id, "clip")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(id, "clp_") {
		// Only the callback's object field said "clip": say it in the answer too, so the preset
		// rebuilds a clip event (an answer calling itself something else is refused).
		if clip, err = withID(clip, "object", "clip"); errors.Is(err, errOtherResource) {
			return nil, unconfirmed("the platform answered for another object than clip %s", quoteID(id))
		} else if err != nil {
			return nil, err
		}
	}
	return c.normalize(ev, clip), nil
}

// tavusConfirmer confirms Tavus video callbacks with GET /v2/videos/{id} and conversation
// callbacks with GET /v2/conversations/{id}?verbose=true.
type tavusConfirmer struct {
	api *Tavus
	rebuilder
}

// Confirm tells the payload kinds apart as the tavus preset does (event_type, then video_id, then
// replica_id). Replica callbacks cannot be confirmed and are refused: send them to a source
// without `confirm`.
func (c *tavusConfirmer) Confirm(ctx context.Context, ev *envelope.Event) (*envelope.Event, error) {
	var cb struct {
		EventType      string `json:"event_type"`
		ConversationID string `json:"conversation_id"`
		VideoID        string `json:"video_id"`
		ReplicaID      string `json:"replica_id"`
	}
	_ = json.Unmarshal(ev.Data.Raw, &cb) // a payload that is not an object names no resource
	switch {
	case cb.EventType != "":
		return c.conversation(ctx, ev, cb.ConversationID, cb.EventType)
	case cb.VideoID != "":
		video, err := c.api.Video(ctx, cb.VideoID)
		if err != nil {
			return nil, fetchFailed(err, "video", cb.VideoID)
		}
		return c.rebuild(ev, video, "video_id", cb.VideoID, "video")
	case cb.ReplicaID != "":
		return nil, unconfirmed("replica callbacks cannot be confirmed: use a source without confirm for them")
	}
	return nil, unconfirmed("the callback names no conversation or video")
}

// conversation confirms a conversation callback: the conversation must exist and list an event
// of the same event_type, which is what gets published (conversation_id added when the listed
// event omits it). A mapped event not listed yet is ErrPending (503, retried); an unmapped one is
// refused.
func (c *tavusConfirmer) conversation(ctx context.Context, ev *envelope.Event, id, eventType string) (*envelope.Event, error) {
	conv, err := c.api.Conversation(ctx, id)
	if err != nil {
		return nil, fetchFailed(err, "conversation", id)
	}
	var body struct {
		ConversationID string            `json:"conversation_id"`
		Events         []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(conv, &body); err != nil {
		return nil, fmt.Errorf("%w: tavus conversation: %v", ErrBadResponse, err)
	}
	if body.ConversationID != "" && body.ConversationID != id {
		return nil, unconfirmed("the platform answered for another conversation than %s", quoteID(id))
	}
	i := slices.IndexFunc(body.Events, func(e json.RawMessage) bool {
		var t struct {
			EventType string `json:"event_type"`
		}
		return json.Unmarshal(e, &t) == nil && t.EventType == eventType
	})
	if i < 0 {
		if ev.Type == envelope.TypeUnrecognized {
			// An event the source does not map (a guardrail or objective callback, whose names
			// Tavus does not document) may never be listed: refusing it puts it on the
			// quarantine, where it can be seen, instead of answering 503 for ever.
			return nil, unconfirmed("tavus conversation %s lists no %s event, and it is no event this source maps: "+
				"use a source without confirm for guardrail and objective callbacks", quoteID(id), quoteID(eventType))
		}
		return nil, fmt.Errorf("%w: tavus conversation %s lists no %s event", ErrPending, quoteID(id), quoteID(eventType))
	}
	return c.rebuild(ev, body.Events[i], "conversation_id", id, "conversation")
}

// heygenConfirmer confirms HeyGen video callbacks (the unsigned per-job callback_url deliveries)
// with GET /v3/videos/{video_id}.
type heygenConfirmer struct {
	api *HeyGen
	rebuilder
}

// heygenVideoFamilies are the HeyGen events about a video that GET /v3/videos/{id} describes;
// "<family>.success" and "<family>.fail" are published from its status.
var heygenVideoFamilies = []string{"avatar_video", "avatar_video_gif", "avatar_video_caption"}

// Confirm fetches the video and publishes the event HeyGen's status gives, with the fetched video
// as event_data: a callback claiming success for a video HeyGen reports failed publishes
// "<family>.fail". The callback's callback_id is kept when the API does not return one, and must
// match when it does. Other events (translations, avatars, batches) cannot be confirmed and are
// refused: send them to a source without `confirm`.
func (c *heygenConfirmer) Confirm(ctx context.Context, ev *envelope.Event) (*envelope.Event, error) {
	var cb struct {
		EventType string `json:"event_type"`
		EventData struct {
			VideoID    string `json:"video_id"`
			CallbackID string `json:"callback_id"`
		} `json:"event_data"`
	}
	_ = json.Unmarshal(ev.Data.Raw, &cb) // a payload that is not an object names no video
	family, _, _ := strings.Cut(cb.EventType, ".")
	if !slices.Contains(heygenVideoFamilies, family) {
		return nil, unconfirmed("only video events (%s) can be confirmed, not %s: use a source without confirm for them",
			strings.Join(heygenVideoFamilies, ".*, ")+".*", quoteID(cb.EventType))
	}
	id := cb.EventData.VideoID
	video, err := c.api.Video(ctx, id)
	if err != nil {
		return nil, fetchFailed(err, "video", id)
	}
	if video, err = sameResource(video, "id", id, "video"); err != nil {
		return nil, err
	}
	if cb.EventData.CallbackID != "" {
		if video, err = withID(video, "callback_id", cb.EventData.CallbackID); err != nil {
			if errors.Is(err, errOtherResource) {
				return nil, unconfirmed("video %s belongs to another callback_id", quoteID(id))
			}
			return nil, err
		}
	}
	var state struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(video, &state) // withID checked it is an object
	outcome := map[string]string{"completed": ".success", "failed": ".fail"}[state.Status]
	if outcome == "" {
		return nil, fmt.Errorf("%w: heygen video %s is %s", ErrPending, quoteID(id), quoteID(state.Status))
	}
	body, err := json.Marshal(struct {
		EventType string          `json:"event_type"`
		EventData json.RawMessage `json:"event_data"`
	}{family + outcome, video})
	if err != nil {
		return nil, fmt.Errorf("%w: heygen video: %v", ErrBadResponse, err)
	}
	return c.normalize(ev, body), nil
}

var (
	_ Confirmer = (*heygenConfirmer)(nil)
	_ Confirmer = (*didConfirmer)(nil)
	_ Confirmer = (*tavusConfirmer)(nil)
)
