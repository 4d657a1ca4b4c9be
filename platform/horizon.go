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

var (
	_ RetryHorizoner = heygen{}
	_ RetryHorizoner = synthesia{}
	_ RetryHorizoner = generic{}
	_ RetryHorizoner = elevenlabs{}
	_ RetryHorizoner = did{}
	_ RetryHorizoner = tavus{}
)
