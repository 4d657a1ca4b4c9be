package platform

import "time"

// Horizon is how long after a first delivery a platform may still redeliver the same event. The
// stream's duplicate window must cover it, or a late retry is stored twice.
type Horizon struct {
	// Duration is the documented time from the first attempt to the last retry; zero when the
	// platform documents none.
	Duration time.Duration
	// Source is where the figure comes from, with its status label (CONFIRMED, UNCONFIRMED).
	Source string
}

// RetryHorizoner is implemented by presets whose platform documents how long it retries.
type RetryHorizoner interface {
	RetryHorizon() Horizon
}

// RetryHorizonOf returns p's documented retry horizon, or a zero Horizon when p documents none.
func RetryHorizonOf(p Preset) Horizon {
	if h, ok := p.(RetryHorizoner); ok {
		return h.RetryHorizon()
	}
	return Horizon{}
}

// The horizons of the presets whose normalizers live in other files are declared here, so that the
// whole table of retry horizons reads in one place.

// RetryHorizon: ElevenLabs retries (opt-in, post_call_transcription only) immediately, then after
// 30 s, 2 min, 8 min and 30 min, each with up to 10% jitter: 40.5 min, ~45 min with jitter.
func (elevenlabs) RetryHorizon() Horizon {
	return Horizon{Duration: 45 * time.Minute,
		Source: "CONFIRMED: elevenlabs.io/docs/eleven-api/resources/webhooks (retries: immediately, 30s, 2m, 8m, 30m, <=10% jitter)"}
}

// RetryHorizon: D-ID documents no retry policy for its webhooks.
func (did) RetryHorizon() Horizon {
	return Horizon{Source: "UNCONFIRMED: no retry policy found in docs.d-id.com"}
}

// RetryHorizon: Tavus documents no retry policy for its callbacks.
func (tavus) RetryHorizon() Horizon {
	return Horizon{Source: "UNCONFIRMED: no retry policy found in docs.tavus.io"}
}

var (
	_ RetryHorizoner = heygen{}
	_ RetryHorizoner = synthesia{}
	_ RetryHorizoner = generic{}
	_ RetryHorizoner = elevenlabs{}
	_ RetryHorizoner = did{}
	_ RetryHorizoner = tavus{}
)
