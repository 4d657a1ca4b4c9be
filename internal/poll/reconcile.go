package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
)

// Outcome is what a reconcile pass did with one job.
type Outcome string

// The outcomes of a job in a pass.
const (
	Recovered    Outcome = "recovered"     // stored now: its webhook was lost
	WouldRecover Outcome = "would_recover" // dry run: not in SEEN, would be published
	AlreadySeen  Outcome = "already_seen"  // in SEEN: stored before, skipped
	Duplicate    Outcome = "duplicate"     // published, and JetStream answered duplicate
	Pending      Outcome = "pending"       // not terminal yet
	Stalled      Outcome = "stalled"       // not terminal for stall_after: avatar.video.stalled stored
	Failed       Outcome = "failed"        // could not be checked or published (Err)
)

// Result is one job of a pass.
type Result struct {
	Outcome  Outcome
	Resource string // the platform's job id
	Status   string // the platform's status word
	ID       string // the event id (empty for pending)
	Type     string // the event type (empty for pending)
	Subject  string
	Err      error
}

// Report is one reconcile pass of one source.
type Report struct {
	Source  string
	Since   time.Time
	Results []Result
}

// Count returns how many results had outcome o.
func (r Report) Count(o Outcome) int {
	n := 0
	for _, x := range r.Results {
		if x.Outcome == o {
			n++
		}
	}
	return n
}

// jobState is the value of a <stream>_JOBS key: when the job was first seen non-terminal, and
// whether its stall was announced.
type jobState struct {
	FirstSeen time.Time `json:"first_seen"`
	Stalled   bool      `json:"stalled,omitempty"`
}

// Reconcile runs one pass over source: lists its jobs changed since since, recovers the terminal
// ones not yet stored and watches the others for stalls. With dryRun nothing is written (no
// event, no KV). The error is the listing's (nothing was done); per-job failures are in the
// Report and counted.
func (p *Poller) Reconcile(ctx context.Context, source string, since time.Time, dryRun bool) (Report, error) {
	s, ok := p.sources[source]
	if !ok {
		return Report{}, fmt.Errorf("%w: %q", ErrUnknownSource, source)
	}
	if s.Lister == nil {
		return Report{}, fmt.Errorf("%w: %q has no reconcile", ErrNotPolled, source)
	}
	rep := Report{Source: source, Since: since}
	jobs, err := s.Lister.ListJobs(ctx, since)
	if err != nil {
		if s.Metrics != nil {
			s.Metrics.Errors.Inc()
		}
		return rep, fmt.Errorf("reconcile %s: list jobs: %w", source, err)
	}
	if s.Metrics != nil {
		s.Metrics.Polls.Inc()
	}
	now := p.cfg.Now()
	for _, job := range jobs {
		var r Result
		if job.Terminal {
			r = p.recover(ctx, s, job, now, dryRun)
		} else {
			r = p.watch(ctx, s, job, now, dryRun)
		}
		if s.Metrics != nil {
			switch r.Outcome {
			case Recovered:
				s.Metrics.Recovered.Inc()
			case AlreadySeen, Duplicate:
				s.Metrics.DuplicatesAvoided.Inc()
			case Failed:
				s.Metrics.Errors.Inc()
			}
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

// recover publishes the event of a terminal job unless it is already stored.
func (p *Poller) recover(ctx context.Context, s *Source, job platformapi.Job, now time.Time, dryRun bool) Result {
	ev := s.Preset.Normalize(platform.Input{Source: s.Name, Body: job.Body, ReceivedAt: now, Events: s.Events})
	r := Result{Resource: job.ResourceID, Status: job.Status, ID: ev.ID, Type: ev.Type}
	subject, err := subjects.For(p.cfg.Prefix, ev.Type, ev.Platform)
	if err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.Subject = subject
	seen, err := p.isSeen(ctx, ev.ID)
	switch {
	case err != nil:
		r.Outcome, r.Err = Failed, err
		return r
	case seen:
		r.Outcome = AlreadySeen
		return r
	case dryRun:
		r.Outcome = WouldRecover
		return r
	}
	ev.RecoveredBy = RecoveredBy
	ack, err := p.pub.Publish(ctx, subject, &ev)
	if err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.Outcome = Recovered
	if ack.Duplicate {
		r.Outcome = Duplicate
	}
	// Stored either way: remember it past the dedup window, and forget the job's stall watch.
	if err := p.MarkSeen(ctx, ev.ID); err != nil {
		p.cfg.Log.Warn().Err(err).Str("source", s.Name).Str("id", ev.ID).Msg("reconcile: event stored but not recorded as seen; the dedup window still covers it")
	}
	_ = p.jobs.Purge(ctx, jobKey(s.Name, job.ResourceID))
	return r
}

// jobKey is the JOBS key of a source's job.
func jobKey(source, resource string) string { return "job." + key(source, resource) }

// watch records when a non-terminal job was first seen and publishes one avatar.video.stalled
// when it has been non-terminal for stall_after.
func (p *Poller) watch(ctx context.Context, s *Source, job platformapi.Job, now time.Time, dryRun bool) Result {
	r := Result{Outcome: Pending, Resource: job.ResourceID, Status: job.Status}
	if s.StallAfter <= 0 || job.ResourceID == "" {
		return r
	}
	k := jobKey(s.Name, job.ResourceID)
	var st jobState
	var rev uint64
	e, err := p.jobs.Get(ctx, k)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if dryRun {
			return r
		}
		st = jobState{FirstSeen: now}
		// The platform's own change time is older than our first sight when the job was
		// submitted before reconciliation looked: count from there.
		if !job.UpdatedAt.IsZero() && job.UpdatedAt.Before(now) {
			st.FirstSeen = job.UpdatedAt
		}
		b, _ := json.Marshal(st)
		if rev, err = p.jobs.Create(ctx, k, b); err != nil {
			r.Outcome, r.Err = Failed, fmt.Errorf("kv %s_JOBS: %w", p.cfg.Stream, err)
			return r
		}
	case err != nil:
		r.Outcome, r.Err = Failed, fmt.Errorf("kv %s_JOBS: %w", p.cfg.Stream, err)
		return r
	default:
		rev = e.Revision()
		if json.Unmarshal(e.Value(), &st) != nil {
			st = jobState{FirstSeen: now}
		}
	}
	if st.Stalled || now.Sub(st.FirstSeen) < s.StallAfter {
		return r
	}
	norm := s.Preset.Normalize(platform.Input{Source: s.Name, Body: job.Body, ReceivedAt: now, Events: s.Events})
	plat := platformOf(s, &norm)
	ev := p.newEvent(s, plat, envelope.TypeVideoStalled, plat+":stalled:"+job.ResourceID, now)
	ev.CorrelationID = norm.CorrelationID
	ev.Data = envelope.PayloadData(job.Body)
	// A stalled job is still processing (the canonical status); the platform's word is in raw.
	ev.Subject, ev.Data.ResourceID, ev.Data.Status = job.ResourceID, job.ResourceID, "processing"
	r.ID, r.Type = ev.ID, ev.Type
	subject, err := subjects.For(p.cfg.Prefix, ev.Type, plat)
	if err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.Subject = subject
	if dryRun {
		r.Outcome = Stalled
		return r
	}
	if _, err := p.pub.Publish(ctx, subject, &ev); err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.Outcome = Stalled
	st.Stalled = true
	b, _ := json.Marshal(st)
	if _, err := p.jobs.Update(ctx, k, b, rev); err != nil {
		// The next pass publishes the same id again: JetStream answers duplicate within its window.
		p.cfg.Log.Warn().Err(err).Str("source", s.Name).Str("resource", job.ResourceID).Msg("reconcile: stall announced but not recorded")
	}
	return r
}
