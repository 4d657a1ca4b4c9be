package verify

import "time"

// EffectiveTolerance returns how far from now a signed timestamp may be for cfg: its Tolerance,
// or the scheme's default when that is zero. Schemes without timestamps (token, none, hmac without
// a timestamp header) return 0. The dedup window must be at least this long, or a request replayed
// inside the tolerance would be stored twice.
func EffectiveTolerance(cfg Config) time.Duration {
	var def time.Duration
	switch cfg.Scheme {
	case swScheme:
		def = swDefaultTolerance
	case elScheme:
		def = elDefaultTolerance
	case synScheme:
		def = synDefaultTolerance
	case hmacScheme:
		if cfg.TimestampHeader == "" {
			return 0
		}
		def = hmacDefaultTolerance
	default:
		return 0
	}
	return tolerance(cfg, def)
}
