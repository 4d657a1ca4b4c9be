package platform

import (
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(heygen{}) }

// heygen normalizes HeyGen webhooks: {"event_type": "...", "event_data": {...}}.
//
// HeyGen's signature header is unconfirmed (see the README), so its default verification is a
// configurable hmac: hex HMAC-SHA256 of the raw body in the `Signature` header, keyed with the
// endpoint secret. A source switches to `verify: {scheme: standardwebhooks}` when its deliveries carry
// webhook-* headers, or changes `verify.header` to what HeyGen really sends.
type heygen struct{}

var heygenEvents = map[string]string{
	"avatar_video.success":                        envelope.TypeVideoCompleted,
	"avatar_video_gif.success":                    envelope.TypeVideoCompleted,
	"avatar_video_caption.success":                envelope.TypeVideoCompleted,
	"video_agent.success":                         envelope.TypeVideoCompleted,
	"hyperframes_video.success":                   envelope.TypeVideoCompleted,
	"ai_clipping.success":                         envelope.TypeVideoCompleted,
	"personalized_video":                          envelope.TypeVideoCompleted,
	"avatar_video.fail":                           envelope.TypeVideoFailed,
	"avatar_video_gif.fail":                       envelope.TypeVideoFailed,
	"avatar_video_caption.fail":                   envelope.TypeVideoFailed,
	"video_agent.fail":                            envelope.TypeVideoFailed,
	"hyperframes_video.fail":                      envelope.TypeVideoFailed,
	"ai_clipping.fail":                            envelope.TypeVideoFailed,
	"video_translate.success":                     envelope.TypeTranslationCompleted,
	"video_translate.fail":                        envelope.TypeTranslationFailed,
	"video_translate.preflight.validation_failed": envelope.TypeTranslationFailed,
	"video_translate.preflight.download_failed":   envelope.TypeTranslationFailed,
	"instant_avatar.success":                      envelope.TypePersonaReady,
	"photo_avatar_generation.success":             envelope.TypePersonaReady,
	"photo_avatar_train.success":                  envelope.TypePersonaReady,
	"photo_avatar_add_motion.success":             envelope.TypePersonaReady,
	"instant_avatar.fail":                         envelope.TypePersonaFailed,
	"photo_avatar_generation.fail":                envelope.TypePersonaFailed,
	"photo_avatar_train.fail":                     envelope.TypePersonaFailed,
	"photo_avatar_add_motion.fail":                envelope.TypePersonaFailed,
	"batch.finished":                              envelope.TypeBatchCompleted,
}

// heygenResourceKeys are the event_data fields that name the resource, most specific first.
var heygenResourceKeys = []string{"video_translate_id", "video_id", "avatar_id", "photo_avatar_id", "group_id", "batch_id", "clip_id", "project_id", "id"}

func (heygen) Name() string { return "heygen" }

func (heygen) DefaultVerify() verify.Config {
	return verify.Config{Scheme: "hmac", Header: "Signature", Algorithm: "sha256", Encoding: "hex", Content: "body"}
}

func (heygen) Events() map[string]string { return heygenEvents }

// Samples returns the HeyGen fixtures for `avatarbus trigger`.
func (heygen) Samples() []Sample { return samplesOf("heygen") }

func (h heygen) Normalize(in Input) envelope.Event {
	ev := newEvent(h.Name(), in)
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	name := eventName(body.str("event_type"))
	ev.PlatformEvent = name
	data := body.object("event_data")
	ev.Data.ResourceID = data.str(heygenResourceKeys...)
	ev.CorrelationID = data.str("callback_id")
	ev.ID = heygenID(name, body, data, in)

	typ, known := canonicalType(name, in, heygenEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = data.str("url", "video_url")
	ev.Data.ThumbnailURL = data.str("thumbnail_url")
	ev.Data.GifURL = data.str("gif_url")
	ev.Data.CaptionsURL = data.str("caption_url", "subtitle_url")
	ev.Data.PageURL = data.str("landing_page_url", "video_page_url")
	ev.Data.DurationSeconds = data.duration("duration")
	if ev.Data.Status == "failed" {
		msg := data.str("msg", "message", "failure_message", "error_message")
		code := data.str("failure_code", "error_code", "code")
		if msg != "" || code != "" {
			ev.Data.Error = &envelope.Error{Code: code, Message: msg}
		}
	}
	return finish(ev, in)
}

// heygenID prefers HeyGen's own event_id (v3), then the event name with the resource: a
// personalized video is identified by project and video, other jobs by their single id.
func heygenID(name string, body, data fields, in Input) string {
	if id := body.str("event_id"); id != "" {
		return envelope.ID("heygen", id)
	}
	if id := data.str("event_id"); id != "" {
		return envelope.ID("heygen", id)
	}
	if in.MessageID != "" {
		return envelope.ID("heygen", in.MessageID)
	}
	if project, video := data.str("project_id"), data.str("video_id"); project != "" && video != "" {
		return envelope.ID("heygen", name, project, video)
	}
	return envelope.ID("heygen", name, data.str(heygenResourceKeys...))
}

var (
	_ Preset  = heygen{}
	_ Sampler = heygen{}
)
