package platform

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/verify"
)

func init() { Register(synthesia{}) }

// synthesia normalizes Synthesia webhooks: {"type": "video.completed" | "video.failed", "data": the
// video object}. The video object has id, download (a time-limited URL), duration ("0:00:59.000000"),
// callbackId, captions {srt, vtt}, thumbnail {image, gif}, createdAt and lastUpdatedAt (Unix
// seconds). The fields of video.failed are unconfirmed (presumably the same object with status
// "error"). Facts and sources: docs/platforms/synthesia.md.
//
// Synthesia signs with Synthesia-Signature = lowercase hex HMAC-SHA256 over
// "<Synthesia-Timestamp>.<body>", keyed with the secret as UTF-8 (CONFIRMED,
// docs.synthesia.io/reference/verifying-synthesia-signatures): the synthesia scheme.
type synthesia struct{}

var synthesiaEvents = map[string]string{
	"video.completed": envelope.TypeVideoCompleted,
	"video.failed":    envelope.TypeVideoFailed,
}

func (synthesia) Name() string { return "synthesia" }

func (synthesia) DefaultVerify() verify.Config { return verify.Config{Scheme: "synthesia"} }

func (synthesia) Events() map[string]string { return synthesiaEvents }

// RetryHorizon: Synthesia retries a failed delivery twice within ten minutes.
func (synthesia) RetryHorizon() Horizon {
	return Horizon{Duration: 10 * time.Minute, Source: "CONFIRMED: docs.synthesia.io/reference/webhooks (2 retries within 10 min)"}
}

// Samples returns the Synthesia fixtures for `avatarbus trigger`.
func (synthesia) Samples() []Sample { return samplesOf("synthesia") }

func (s synthesia) Normalize(in Input) envelope.Event {
	ev := newEvent(s.Name(), in)
	body, ok := parseBody(in, &ev)
	if !ok {
		return finish(ev, in)
	}
	name := eventName(body.str("type"))
	ev.PlatformEvent = name
	data := body.object("data")
	ev.Data.ResourceID = data.str("id")
	ev.ID = envelope.ID("synthesia", name, ev.Data.ResourceID)
	ev.CorrelationID = data.str("callbackId")
	t := data.unixTime("lastUpdatedAt")
	if t.IsZero() {
		t = data.unixTime("createdAt")
	}
	if !t.IsZero() {
		ev.Time = t
	}

	typ, known := canonicalType(name, in, synthesiaEvents)
	if !known {
		return finish(ev, in)
	}
	ev.Type = typ
	ev.Data.Status = statusFor(typ)
	ev.Data.MediaURL = data.str("download")
	thumbnail := data.object("thumbnail")
	ev.Data.ThumbnailURL = thumbnail.str("image")
	ev.Data.GifURL = thumbnail.str("gif")
	ev.Data.CaptionsURL = data.object("captions").str("vtt", "srt")
	ev.Data.DurationSeconds = synthesiaDuration(data)
	if ev.Data.Status == "failed" {
		// A community handler reads data.message; Synthesia's failed payload is unconfirmed.
		ev.Data.Error = failure(data, "message", "error")
	}
	return finish(ev, in)
}

// synthesiaDuration reads data.duration: Synthesia writes it as a clock, "0:00:59.000000" (Python's
// timedelta, so "1 day, 0:00:59" past a day); a plain number of seconds is accepted too. Anything
// else is no duration.
func synthesiaDuration(data fields) *float64 {
	if d := data.duration("duration"); d != nil {
		return d
	}
	n, ok := parseClock(data.str("duration"))
	if !ok || math.IsInf(n, 0) {
		return nil
	}
	return &n
}

// parseClock reads "[D day[s], ][H:]MM:SS[.ffffff]" as seconds.
func parseClock(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	var days float64
	if before, after, ok := strings.Cut(s, ", "); ok {
		n, unit, _ := strings.Cut(before, " ")
		if unit != "day" && unit != "days" || !digits(n) {
			return 0, false
		}
		d, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, false
		}
		days, s = d, after
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	// Seconds: digits with an optional fraction, below 60.
	whole, frac, hasFrac := strings.Cut(parts[len(parts)-1], ".")
	if !digits(whole) || (hasFrac && !digits(frac)) {
		return 0, false
	}
	sec, err := strconv.ParseFloat(parts[len(parts)-1], 64)
	if err != nil || sec >= 60 {
		return 0, false
	}
	total := sec
	for i, unit := range []float64{60, 3600}[:len(parts)-1] {
		p := parts[len(parts)-2-i]
		if !digits(p) {
			return 0, false
		}
		n, err := strconv.ParseFloat(p, 64)
		if err != nil || (unit == 60 && len(parts) == 3 && n >= 60) {
			return 0, false
		}
		total += n * unit
	}
	return days*86400 + total, true
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	_ Preset  = synthesia{}
	_ Sampler = synthesia{}
)
