package poll

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leader reports whether this instance holds the lease (and so polls).
func (p *Poller) Leader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader
}

func (p *Poller) setLeader(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leader = v
}

// Run polls until ctx ends: it keeps trying to hold the lease, and while it holds it runs every
// source's reconcile and usage passes at their intervals and feeds SEEN from the stream. It
// releases the lease on return, so that another replica takes over at once.
func (p *Poller) Run(ctx context.Context) {
	l := &lease{kv: p.leases, holder: p.cfg.Holder, ttl: p.cfg.LeaseTTL}
	var wg sync.WaitGroup
	for _, s := range p.order {
		if s.Lister != nil {
			wg.Go(func() { p.every(ctx, s.Every, func(ctx context.Context) { p.reconcilePass(ctx, s) }) })
		}
		if s.Balancer != nil {
			wg.Go(func() { p.every(ctx, s.UsageEvery, func(ctx context.Context) { p.usagePass(ctx, s) }) })
		}
	}
	wg.Go(func() { p.feedSeen(ctx) })

	t := time.NewTicker(l.tryEvery())
	defer t.Stop()
	for {
		held := l.tick(ctx)
		if held != p.Leader() {
			p.cfg.Log.Info().Bool("leader", held).Str("holder", p.cfg.Holder).Msg("poller lease")
		}
		p.setLeader(held)
		select {
		case <-ctx.Done():
			p.setLeader(false)
			wg.Wait()
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			l.release(rctx)
			cancel()
			return
		case <-t.C:
		}
		if !l.held() { // renewals failing for the whole TTL: another may hold it now
			p.setLeader(false)
		}
	}
}

// every calls f each interval while this instance holds the lease. A new holder calls it at
// once: its predecessor may have died right before its pass.
func (p *Poller) every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(min(interval, 250*time.Millisecond))
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.Leader() && (last.IsZero() || time.Since(last) >= interval) {
			last = time.Now()
			f(ctx)
		}
	}
}

// reconcilePass is one scheduled pass of s: errors are counted and logged once per pass.
func (p *Poller) reconcilePass(ctx context.Context, s *Source) {
	pctx, cancel := context.WithTimeout(ctx, max(s.Every, 10*time.Second))
	defer cancel()
	rep, err := p.Reconcile(pctx, s.Name, p.cfg.Now().Add(-s.Lookback), false)
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Log.Warn().Err(err).Str("source", s.Name).Msg("reconcile pass failed; next pass retries")
		}
		return
	}
	var first error
	for _, r := range rep.Results {
		if r.Err != nil && first == nil {
			first = r.Err
		}
	}
	ev := p.cfg.Log.Debug()
	if rep.Count(Recovered) > 0 || rep.Count(Stalled) > 0 || first != nil {
		ev = p.cfg.Log.Info()
	}
	if first != nil {
		ev = p.cfg.Log.Warn().AnErr("first_error", first).Int("failed", rep.Count(Failed))
	}
	ev.Str("source", s.Name).Int("jobs", len(rep.Results)).Int("recovered", rep.Count(Recovered)).
		Int("already_stored", rep.Count(AlreadySeen)+rep.Count(Duplicate)).Int("stalled", rep.Count(Stalled)).
		Msg("reconcile pass")
}

// usagePass is one scheduled balance read of s.
func (p *Poller) usagePass(ctx context.Context, s *Source) {
	pctx, cancel := context.WithTimeout(ctx, max(s.UsageEvery, 10*time.Second))
	defer cancel()
	rep, err := p.Usage(pctx, s.Name)
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Log.Warn().Err(err).Str("source", s.Name).Msg("usage read failed; next read retries")
		}
		return
	}
	for _, id := range rep.Published {
		p.cfg.Log.Info().Str("source", s.Name).Str("id", id).Float64("remaining", rep.Balance.Remaining).
			Str("unit", rep.Balance.Unit).Msg("credits threshold crossed")
	}
}

// SeenConsumer is the durable consumer on the stream that feeds <stream>_SEEN.
func (p *Poller) SeenConsumer() string { return p.cfg.Stream + "_SEEN" }

// feedSeen records the id of every event stored in the stream (webhooks included) in SEEN,
// through a durable headers-only consumer, off the ingest path. Only the lease holder reads it.
func (p *Poller) feedSeen(ctx context.Context) {
	var cons jetstream.Consumer
	idle := time.NewTicker(500 * time.Millisecond)
	defer idle.Stop()
	for ctx.Err() == nil {
		if !p.Leader() {
			select {
			case <-ctx.Done():
				return
			case <-idle.C:
				continue
			}
		}
		if cons == nil {
			// An existing one resumes where it was (its start time cannot be updated).
			if c, err := p.js.Consumer(ctx, p.cfg.Stream, p.SeenConsumer()); err == nil {
				cons = c
				continue
			}
			start := time.Now().Add(-p.seenTTL)
			c, err := p.js.CreateConsumer(ctx, p.cfg.Stream, jetstream.ConsumerConfig{
				Durable: p.SeenConsumer(), Description: "avatarbus: ids of stored events into " + p.cfg.Stream + "_SEEN",
				AckPolicy: jetstream.AckAllPolicy, HeadersOnly: true,
				// Older events are past SEEN's TTL anyway.
				DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start,
				MaxAckPending: 1000,
			})
			if err != nil {
				p.cfg.Log.Warn().Err(err).Msg("seen consumer: not created; retrying")
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Second):
				}
				continue
			}
			cons = c
		}
		batch, err := cons.Fetch(200, jetstream.FetchMaxWait(time.Second))
		if err != nil { // disconnected: wait rather than spin
			select {
			case <-ctx.Done():
				return
			case <-idle.C:
			}
			continue
		}
		var last jetstream.Msg
		for m := range batch.Messages() {
			if id := m.Headers().Get(jetstream.MsgIDHeader); id != "" {
				if err := p.MarkSeen(ctx, id); err != nil {
					break // not acked: read again
				}
			}
			last = m
		}
		if last != nil {
			_ = last.Ack()
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			cons = nil // e.g. the consumer was deleted: make it again
		}
	}
}
