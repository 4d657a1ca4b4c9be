package platform

import (
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(heygen{}) }

// heygen normalizes HeyGen webhooks: {"event_type": "...", "event_id": "...", "created_at": ...,
// "event_data": {...}}. Facts and sources: docs/platforms/heygen.md.
//
// Deliveries to a registered (v3) endpoint are signed (CONFIRMED, developers.heygen.com/docs/webhooks
// "Verifying Payloads"): Heygen-Signature is the lowercase hex HMAC-SHA256 of the raw body keyed with
// the endpoint secret as returned (whsec_ prefix included, not base64-decoded); Heygen-Timestamp (unix
// seconds) is not signed but must be recent (5 min). Per-job callback_url deliveries are not signed
// (CONFIRMED): such a source uses `verify: {scheme: token}` and `confirm: fetch` instead.
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
// video_translation_id, session_id (video agent), render_id and lipsync_id name the newer resources
// of the v3 API (CONFIRMED for the API in heygen-com/heygen-cli gen/*.go, UNCONFIRMED in webhook
// bodies).
var heygenResourceKeys = []string{"video_translate_id", "video_translation_id", "video_id", "session_id", "render_id",
	"lipsync_id", "avatar_id", "photo_avatar_id", "group_id", "batch_id", "clip_id", "project_id", "id"}

// HeyGenEventIDHeader carries HeyGen's event id, the same on every redelivery (CONFIRMED,
// developers.heygen.com/docs/webhooks). It is not signed, so it is reported as platformeventid but
// never becomes the envelope id: whoever captured a signed body could resend it under a new header
// value and have it stored twice.
const HeyGenEventIDHeader = "Heygen-Event-Id"

func (heygen) Name() string { return "heygen" }

func (heygen) DefaultVerify() verify.Config {
	// The hmac scheme checks TimestampHeader against its default tolerance, 5 min, as HeyGen asks.
	return verify.Config{Scheme: "hmac", Header: "Heygen-Signature", Algorithm: "sha256", Encoding: "hex",
		Content: "body", TimestampHeader: "Heygen-Timestamp"}
}

// RetryHorizon: HeyGen retries failed deliveries with exponential backoff for up to 24 h.
func (heygen) RetryHorizon() Horizon {
	return Horizon{Duration: 24 * time.Hour, Source: "CONFIRMED: developers.heygen.com/docs/webhooks (retries for up to 24 h)"}
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
	ev.ID = heygenID(name, body, data)
	ev.PlatformEventID = body.str("event_id")
	if ev.PlatformEventID == "" {
		ev.PlatformEventID = data.str("event_id")
	}
	if ev.PlatformEventID == "" && in.Header != nil {
		ev.PlatformEventID = in.Header.Get(HeyGenEventIDHeader)
	}
	if t := heygenTime(body); !t.IsZero() {
		ev.Time = t
	}

	typ, known := canonicalType(name, in, heygenEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = data.str("url", "video_url")
	ev.Data.ThumbnailURL = data.str("thumbnail_url")
	ev.Data.GifURL = data.str("gif_url", "gif_download_url")
	ev.Data.CaptionsURL = data.str("caption_url", "subtitle_url")
	ev.Data.PageURL = data.str("landing_page_url", "video_share_page_url", "video_page_url")
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

// heygenID prefers HeyGen's own event_id (v3, in the signed body), then the event name with the
// resource: a personalized video is identified by project and video, other jobs by their single id.
// It reads the body only: no header (Heygen-Event-Id is unsigned) can choose the Nats-Msg-Id.
func heygenID(name string, body, data fields) string {
	if id := body.str("event_id"); id != "" {
		return envelope.ID("heygen", id)
	}
	if id := data.str("event_id"); id != "" {
		return envelope.ID("heygen", id)
	}
	if project, video := data.str("project_id"), data.str("video_id"); project != "" && video != "" {
		return envelope.ID("heygen", name, project, video)
	}
	if res := data.str(heygenResourceKeys...); res != "" {
		return envelope.ID("heygen", name, res)
	}
	return "" // finish uses the body digest
}

// heygenTime reads the top-level created_at of v3 bodies as the event time. The docs example, as
// quoted (THIRD-PARTY, fixture avatar_video.success.v3-docs.json), writes RFC 3339; the format is
// not specified (UNCONFIRMED), so unix seconds and milliseconds are read too; anything else (null,
// garbage) leaves the receive time.
func heygenTime(body fields) time.Time {
	if n, ok := body.number("created_at"); ok && n > 1e11 && n < 1e14 {
		return representable(time.UnixMilli(int64(n)).UTC())
	}
	if t := body.unixTime("created_at"); !t.IsZero() {
		return t
	}
	return body.isoTime("created_at")
}

// HeyGenEventID returns the Heygen-Event-Id a HeyGen delivery of body carries: its event_id, or ""
// when the body has none. `avatarbus trigger` uses it to send what HeyGen sends.
func HeyGenEventID(body []byte) string {
	f, ok := parseObject(body)
	if !ok {
		return ""
	}
	return f.str("event_id")
}

var (
	_ Preset  = heygen{}
	_ Sampler = heygen{}
)
