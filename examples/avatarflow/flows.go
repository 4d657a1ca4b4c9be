package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/router"
)

// The payloads the flows send. They carry the envelope id as "id" so that each receiver can
// deduplicate, and the caller's correlation id (HeyGen callback_id, Synthesia callbackId, D-ID
// user_data …) so that it can find its own record of the job.

// videoReady is what the notifier receives for a finished video.
type videoReady struct {
	ID            string `json:"id"`
	Platform      string `json:"platform"`
	VideoID       string `json:"video_id"`
	VideoURL      string `json:"video_url"`
	ThumbnailURL  string `json:"thumbnail_url,omitempty"`
	CorrelationID string `json:"correlationid,omitempty"`
}

// renderFailed is what the re-render endpoint or the alert receives for a failed video.
type renderFailed struct {
	ID            string          `json:"id"`
	Platform      string          `json:"platform"`
	VideoID       string          `json:"video_id"`
	CorrelationID string          `json:"correlationid,omitempty"`
	Error         *envelope.Error `json:"error,omitempty"`
	// Verdict is "transient" (sent to the re-render endpoint), "permanent" (the error says a
	// retry will not help) or "unknown" (the platform gave no reason).
	Verdict string `json:"verdict"`
}

// creditsLow is what the credits target receives.
type creditsLow struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	// Account is the resource the platform named (data.id for a Standard Webhooks sender).
	Account string `json:"account,omitempty"`
	// Details is the platform's payload as it sent it.
	Details json.RawMessage `json:"details"`
}

// nextStep is what the generate endpoint receives when a conversation's recording or transcript
// is ready. The audio or the transcript itself can be large (ElevenLabs sends the audio inline), so
// the step gets a reference: the stored event, which `nats stream get` or any JetStream client
// reads by stream and sequence, and the platform's conversation id for its API.
type nextStep struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Platform       string `json:"platform"`
	ConversationID string `json:"conversation_id"`
	AudioURL       string `json:"audio_url,omitempty"`
	CorrelationID  string `json:"correlationid,omitempty"`
	Event          struct {
		Stream   string `json:"stream"`
		Sequence uint64 `json:"seq"`
		Subject  string `json:"subject"`
	} `json:"event"`
}

// flows are the handlers. Each returns nil when its target accepted the call, and the caller's
// error otherwise, which the router turns into a retry or a dead letter.
type flows struct {
	cfg       Config
	call      *caller
	transient *regexp.Regexp
}

// videoCompleted tells the notifier that a video is ready.
func (f *flows) videoCompleted(ctx context.Context, ev router.Event) error {
	p := videoReady{ID: ev.ID, Platform: ev.Platform, VideoID: ev.Data.ResourceID, VideoURL: ev.Data.MediaURL,
		ThumbnailURL: ev.Data.ThumbnailURL, CorrelationID: ev.CorrelationID}
	if p.VideoURL == "" {
		p.VideoURL = ev.Data.PageURL
	}
	if p.VideoURL == "" {
		// Nothing to send; retrying cannot change the stored event.
		return router.Permanent(errors.New("the event has no media_url or page_url"))
	}
	return f.call.post(ctx, "notifier", f.cfg.NotifyURL, ev.ID, p)
}

// videoFailed re-renders a failure that looks transient and raises an alert for the others.
//
// The re-render endpoint is where the platform's generate API is called again: for HeyGen,
// POST https://api.heygen.com/v2/video/generate with the request your application made for this
// job, found by the correlationid (your callback_id). Each re-render is a new video with a new id,
// so a render that keeps failing would loop: count attempts per correlationid there.
func (f *flows) videoFailed(ctx context.Context, ev router.Event) error {
	p := renderFailed{ID: ev.ID, Platform: ev.Platform, VideoID: ev.Data.ResourceID,
		CorrelationID: ev.CorrelationID, Error: ev.Data.Error, Verdict: f.verdict(ev.Data.Error)}
	if p.Verdict == "transient" && f.cfg.RerenderURL != "" {
		return f.call.post(ctx, "re-render", f.cfg.RerenderURL, ev.ID, p)
	}
	return f.call.post(ctx, "alert", f.cfg.AlertURL, ev.ID, p)
}

// verdict classifies a failure by the error the platform gave.
func (f *flows) verdict(e *envelope.Error) string {
	if e == nil || (e.Code == "" && e.Message == "") {
		return "unknown"
	}
	if f.transient.MatchString(e.Code + " " + e.Message) {
		return "transient"
	}
	return "permanent"
}

// creditsLow passes a low-credit warning on.
func (f *flows) creditsLow(ctx context.Context, ev router.Event) error {
	p := creditsLow{ID: ev.ID, Platform: ev.Platform, Account: ev.Data.ResourceID, Details: ev.Data.Raw}
	return f.call.post(ctx, "credits", f.cfg.CreditsURL, ev.ID, p)
}

// startNextStep starts the next generation step, e.g. a video from a conversation's audio or
// transcript.
func (f *flows) startNextStep(ctx context.Context, ev router.Event) error {
	p := nextStep{ID: ev.ID, Type: ev.Type, Platform: ev.Platform, ConversationID: ev.Data.ResourceID,
		AudioURL: ev.Data.MediaURL, CorrelationID: ev.CorrelationID}
	p.Event.Stream, p.Event.Sequence, p.Event.Subject = f.cfg.Stream, ev.Sequence, ev.Subject
	if p.ConversationID == "" {
		return router.Permanent(fmt.Errorf("%s event without a resource id", ev.Type))
	}
	return f.call.post(ctx, "generate", f.cfg.GenerateURL, ev.ID, p)
}
