package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Defaults of the polling of a platform's API (docs/reconciliation.md).
const (
	DefaultReconcileEvery    = Duration(5 * time.Minute)
	DefaultReconcileLookback = Duration(48 * time.Hour)
	DefaultUsageEvery        = Duration(15 * time.Minute)
	DefaultStallAfter        = Duration(2 * time.Hour)
	// MinPollInterval is the shortest interval accepted (tests and staging use seconds);
	// PollWarnBelow the shortest one that does not warn: platforms budget their reads per minute
	// (see pollWarnings).
	MinPollInterval = Duration(time.Second)
	PollWarnBelow   = Duration(time.Minute)
)

// DefaultUsageLow is the default threshold of usage.low: 10% of the period's allowance.
const DefaultUsageLow = "10%"

// Reconcile turns on reconciliation: listing the platform's jobs to recover lost webhooks.
type Reconcile struct {
	// Every is the interval between passes, default 5m; >= 1s (warned below 1m).
	Every Duration `yaml:"every"`
	// Lookback is how far back each pass lists, default 48h; >= Every.
	Lookback Duration `yaml:"lookback"`
}

// Usage turns on the polling of the account's credit balance.
type Usage struct {
	// Every is the interval between balance reads, default 15m; >= 1s (warned below 1m).
	Every Duration `yaml:"every"`
	// Low is the threshold under which avatar.account.credits_low is published, default "10%":
	// a percentage of the period's allowance or an amount in the platform's unit (500); see
	// Threshold.
	Low string `yaml:"low"`
}

// Threshold is Low parsed; the zero Threshold when Low is invalid (Validate refuses it).
func (u *Usage) Threshold() Threshold {
	t, _ := ParseThreshold(u.Low)
	return t
}

// Threshold is a level of remaining credits: a percentage of the period's allowance ("10%") or
// an absolute amount in the platform's unit (500).
type Threshold struct {
	Value   float64
	Percent bool
}

// String writes t as it is read: "10%" or "500".
func (t Threshold) String() string {
	s := strconv.FormatFloat(t.Value, 'f', -1, 64)
	if t.Percent {
		s += "%"
	}
	return s
}

// ParseThreshold reads "10%", "12.5%" or "500".
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Threshold{}, fmt.Errorf("%q: want a percentage of the allowance (\"10%%\") or an amount (500)", s)
	}
	return Threshold{Value: v, Percent: pct}, nil
}

// applyPollDefaults fills in the unset fields of the polling sections of s.
func applyPollDefaults(s *Source) {
	if r := s.Reconcile; r != nil {
		if r.Every == 0 {
			r.Every = DefaultReconcileEvery
		}
		if r.Lookback == 0 {
			r.Lookback = DefaultReconcileLookback
		}
		if s.StallAfter == 0 {
			s.StallAfter = DefaultStallAfter
		}
	}
	if u := s.Usage; u != nil {
		if u.Every == 0 {
			u.Every = DefaultUsageEvery
		}
		if strings.TrimSpace(u.Low) == "" {
			u.Low = DefaultUsageLow
		}
	}
}

// checkPoll validates the polling sections of the source at path p.
func checkPoll(k *checker, p string, s *Source) {
	if s.Reconcile == nil && s.Usage == nil {
		if s.StallAfter != 0 {
			k.add(p+".stall_after", "needs reconcile: stalls are seen by listing the platform's jobs")
		}
		return
	}
	if s.API == nil || strings.TrimSpace(s.API.Key) == "" {
		k.add(p+".api.key", "required with reconcile or usage: the platform's API key, e.g. \"${HEYGEN_API_KEY}\"")
	}
	if r := s.Reconcile; r != nil {
		if r.Every < MinPollInterval {
			k.add(p+".reconcile.every", "must be >= %s (got %s)", MinPollInterval, r.Every)
		}
		if r.Lookback < r.Every {
			k.add(p+".reconcile.lookback", "%s is shorter than reconcile.every %s: jobs between passes would be missed", r.Lookback, r.Every)
		}
		if s.StallAfter < 0 {
			k.add(p+".stall_after", "must be >= 0 (got %s)", s.StallAfter)
		}
	}
	if u := s.Usage; u != nil {
		if u.Every < MinPollInterval {
			k.add(p+".usage.every", "must be >= %s (got %s)", MinPollInterval, u.Every)
		}
		if t, err := ParseThreshold(u.Low); err != nil {
			k.add(p+".usage.low", "%v", err)
		} else if t.Value < 0 || (t.Percent && t.Value > 100) {
			k.add(p+".usage.low", "%s must be a percentage in 0%%..100%% or an amount >= 0", u.Low)
		}
	}
}

// pollWarnings warns about intervals under a minute: fine for tests, but each pass spends the
// platform's request budget (Synthesia: 60 reads a minute on its lowest tier, CONFIRMED,
// https://docs.synthesia.io/reference/rate-limits).
func pollWarnings(c *Config) []string {
	var w []string
	for i, s := range c.Sources {
		if r := s.Reconcile; r != nil && r.Every > 0 && r.Every < PollWarnBelow {
			w = append(w, fmt.Sprintf("sources[%d] (%s): reconcile.every %s is under %s: each pass spends the platform's API budget", i, s.Name, r.Every, PollWarnBelow))
		}
		if u := s.Usage; u != nil && u.Every > 0 && u.Every < PollWarnBelow {
			w = append(w, fmt.Sprintf("sources[%d] (%s): usage.every %s is under %s: each read spends the platform's API budget", i, s.Name, u.Every, PollWarnBelow))
		}
	}
	return w
}
