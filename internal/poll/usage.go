package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/subjects"
)

// usageState is the value of a <stream>_USAGE key: which thresholds the balance is below in
// the current period, and how many times each was crossed (the crossing number makes each
// announcement's id unique, and a repeated publish of the same crossing a duplicate).
type usageState struct {
	Period         string `json:"period"`
	Low            bool   `json:"low,omitempty"`
	Exhausted      bool   `json:"exhausted,omitempty"`
	LowCount       int    `json:"low_count,omitempty"`
	ExhaustedCount int    `json:"exhausted_count,omitempty"`
}

// UsageReport is one balance read.
type UsageReport struct {
	Balance   platformapi.Balance
	Level     float64  // the credits_low level in the balance's unit; -1 when not computable
	Published []string // ids of the events published by this read
}

// level is the credits_low level of b: a percentage of the limit, or an amount. A percentage of
// a platform without a limit (a prepaid wallet) cannot be computed: -1, only exhaustion is
// announced then.
func (t Threshold) level(b platformapi.Balance) float64 {
	if !t.Percent {
		return t.Value
	}
	if b.Limit <= 0 {
		return -1
	}
	return b.Limit * t.Value / 100
}

// Usage reads source's balance once, sets the gauge, and publishes credits_low /
// credits_exhausted when the balance crossed below their levels since the last read of the
// same billing period.
func (p *Poller) Usage(ctx context.Context, source string) (UsageReport, error) {
	s, ok := p.sources[source]
	if !ok {
		return UsageReport{}, fmt.Errorf("%w: %q", ErrUnknownSource, source)
	}
	if s.Balancer == nil {
		return UsageReport{}, fmt.Errorf("%w: %q has no usage", ErrNotPolled, source)
	}
	rep, err := p.usageOnce(ctx, s)
	if s.Metrics != nil {
		if err != nil {
			s.Metrics.Errors.Inc()
		}
	}
	return rep, err
}

func (p *Poller) usageOnce(ctx context.Context, s *Source) (UsageReport, error) {
	b, err := s.Balancer.Balance(ctx)
	if err != nil {
		return UsageReport{}, fmt.Errorf("usage %s: balance: %w", s.Name, err)
	}
	if s.Metrics != nil {
		s.Metrics.Polls.Inc()
		s.Metrics.SetCredits(b.Remaining)
	}
	rep := UsageReport{Balance: b, Level: s.Low.level(b)}
	k := "usage." + key(s.Name)
	var st usageState
	var rev uint64
	switch e, err := p.usage.Get(ctx, k); {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return rep, fmt.Errorf("usage %s: kv %s_USAGE: %w", s.Name, p.cfg.Stream, err)
	default:
		rev = e.Revision()
		_ = json.Unmarshal(e.Value(), &st)
	}
	if st.Period != b.Period { // a new period: its thresholds are announced anew
		st = usageState{Period: b.Period, LowCount: st.LowCount, ExhaustedCount: st.ExhaustedCount}
	}
	next := st
	next.Low = rep.Level >= 0 && b.Remaining < rep.Level
	next.Exhausted = b.Remaining <= 0
	now := p.cfg.Now()
	announce := func(typ string, count int) error {
		id := fmt.Sprintf("%s:%s:%s:%s:%d", s.Preset.Name(), typ[len("avatar.account."):], s.Name, b.Period, count)
		plat := platformOf(s, nil)
		ev := p.newEvent(s, plat, typ, id, now)
		raw, _ := json.Marshal(balanceJSON(b, rep.Level))
		ev.Data = envelope.PayloadData(raw) // no subject: the account is no platform resource
		subject, err := subjects.For(p.cfg.Prefix, typ, plat)
		if err != nil {
			return err
		}
		if _, err := p.pub.Publish(ctx, subject, &ev); err != nil {
			return err
		}
		rep.Published = append(rep.Published, id)
		return nil
	}
	if next.Low && !st.Low {
		next.LowCount++
		if err := announce(envelope.TypeAccountCreditsLow, next.LowCount); err != nil {
			return rep, fmt.Errorf("usage %s: publish credits_low: %w", s.Name, err)
		}
	}
	if next.Exhausted && !st.Exhausted {
		next.ExhaustedCount++
		if err := announce(envelope.TypeAccountCreditsExhausted, next.ExhaustedCount); err != nil {
			return rep, fmt.Errorf("usage %s: publish credits_exhausted: %w", s.Name, err)
		}
	}
	if next == st && rev != 0 {
		return rep, nil
	}
	v, _ := json.Marshal(next)
	if rev == 0 {
		_, err = p.usage.Create(ctx, k, v)
	} else {
		_, err = p.usage.Update(ctx, k, v, rev)
	}
	if err != nil {
		// Announced but not recorded: the next read publishes the same ids, which JetStream
		// answers duplicate within its window.
		return rep, fmt.Errorf("usage %s: kv %s_USAGE: %w", s.Name, p.cfg.Stream, err)
	}
	return rep, nil
}

// balanceJSON is data.raw of a credits event: the balance as read, and the level crossed.
func balanceJSON(b platformapi.Balance, level float64) map[string]any {
	m := map[string]any{"remaining": b.Remaining, "limit": b.Limit, "unit": b.Unit, "period": b.Period}
	if !b.ResetAt.IsZero() {
		m["reset_at"] = b.ResetAt.UTC().Format(time.RFC3339)
	}
	if level >= 0 {
		m["threshold"] = json.Number(strconv.FormatFloat(level, 'f', -1, 64))
	}
	return m
}
