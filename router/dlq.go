package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/subjects"
)

// Headers of a dead letter, besides the original message's own headers.
const (
	// HeaderDeadLetterReason holds why the event was dead-lettered: the handler's error text (or
	// "undecodable: …"), on one line, at most MaxReasonLength bytes.
	HeaderDeadLetterReason = "Avatarbus-Dlq-Reason"
	// HeaderDeadLetterConsumer holds the durable name of the consumer that gave up.
	HeaderDeadLetterConsumer = "Avatarbus-Dlq-Consumer"
	// HeaderDeadLetterSubject holds the subject the event was stored on.
	HeaderDeadLetterSubject = "Avatarbus-Dlq-Subject"
	// HeaderDeadLetterSequence holds the event's sequence in the consumed stream.
	HeaderDeadLetterSequence = "Avatarbus-Dlq-Sequence"
	// HeaderDeadLetterDeliveries holds how many deliveries the event had.
	HeaderDeadLetterDeliveries = "Avatarbus-Dlq-Deliveries"
)

// MaxReasonLength is the longest HeaderDeadLetterReason value, in bytes.
const MaxReasonLength = 1024

// DeadLetterSubjectPrefix is put before an event's subject to make its dead letter's subject:
// avatar.video.completed.heygen is dead-lettered on dlq.avatar.video.completed.heygen (see
// subjects.DeadLetter).
const DeadLetterSubjectPrefix = subjects.DeadLetterRoot + "."

// deadLetterDuplicates is the dead-letter stream's duplicate window (capped by its max age): a
// repeated dead-lettering of the same delivery within it is stored once.
const deadLetterDuplicates = time.Hour

// ensureDeadLetterStream creates the dead-letter stream (file storage, as many replicas as the
// consumed stream, bound to dlq.<prefix>.>) or, when it exists, adds that subject and sets the max
// age, leaving the rest as an operator set it. It also checks that the consumed stream exists.
func (r *Router) ensureDeadLetterStream(ctx context.Context) error {
	src, err := r.js.Stream(ctx, r.opts.stream)
	if err != nil {
		return fmt.Errorf("router: stream %s: %w", r.opts.stream, err)
	}
	subject := subjects.DeadLetterFilter(r.opts.prefix)
	existing, err := r.js.Stream(ctx, r.opts.dlqStream)
	switch {
	case err == nil:
		cfg := existing.CachedInfo().Config
		if slices.Contains(cfg.Subjects, subject) && cfg.MaxAge == r.opts.dlqMaxAge {
			return nil
		}
		if !slices.Contains(cfg.Subjects, subject) {
			cfg.Subjects = append(cfg.Subjects, subject)
		}
		cfg.MaxAge = r.opts.dlqMaxAge
		if cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge {
			cfg.Duplicates = cfg.MaxAge
		}
		if _, err := r.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("router: update dead-letter stream %s: %w", r.opts.dlqStream, err)
		}
		return nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("router: dead-letter stream %s: %w", r.opts.dlqStream, err)
	}
	dup := deadLetterDuplicates
	if r.opts.dlqMaxAge > 0 {
		dup = min(dup, r.opts.dlqMaxAge)
	}
	cfg := jetstream.StreamConfig{
		Name:        r.opts.dlqStream,
		Description: "avatarbus dead letters: events a router consumer gave up on",
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Replicas:    max(src.CachedInfo().Config.Replicas, 1),
		MaxAge:      r.opts.dlqMaxAge,
		Duplicates:  dup,
	}
	// CreateOrUpdate, not Create: another replica of the service may be creating it too.
	if _, err := r.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("router: create dead-letter stream %s: %w", r.opts.dlqStream, err)
	}
	return nil
}

// publishDeadLetter stores ev, unchanged, on dlq.<subject> with the dead-letter headers, and waits
// for JetStream's ack. Its message id is durable:sequence, so dead-lettering one delivery twice
// stores it once.
func (r *Router) publishDeadLetter(ctx context.Context, durable string, ev Event, reason string) error {
	h := make(nats.Header, len(ev.Header)+6)
	for k, vs := range ev.Header {
		// Nats-* headers are instructions to JetStream for the original publish (message id,
		// expected sequence, TTL…), not part of the event.
		if len(k) >= 5 && strings.EqualFold(k[:5], "nats-") {
			continue
		}
		h[k] = slices.Clone(vs)
	}
	seq := formatUint(ev.Sequence)
	h.Set(HeaderDeadLetterReason, reason)
	h.Set(HeaderDeadLetterConsumer, durable)
	h.Set(HeaderDeadLetterSubject, ev.Subject)
	h.Set(HeaderDeadLetterSequence, seq)
	h.Set(HeaderDeadLetterDeliveries, formatUint(ev.NumDelivered))
	msg := &nats.Msg{Subject: subjects.DeadLetter(ev.Subject), Data: ev.Body, Header: h}
	_, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(durable+":"+seq), jetstream.WithExpectStream(r.opts.dlqStream))
	if err != nil {
		return fmt.Errorf("router: publish dead letter to %s: %w", r.opts.dlqStream, err)
	}
	return nil
}

// cleanReason makes reason a one-line header value of at most MaxReasonLength bytes.
func cleanReason(reason string) string {
	reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(reason, "\uFFFD"))
	reason = strings.TrimSpace(reason)
	if len(reason) <= MaxReasonLength {
		return reason
	}
	const ellipsis = "…"
	cut := MaxReasonLength - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + ellipsis
}

// DeadLetter is what a dead letter's headers say about the event it holds (its body is the event,
// unchanged).
type DeadLetter struct {
	Consumer   string // durable name of the consumer that gave up, e.g. route-crm
	Subject    string // the subject the event was stored on
	Sequence   uint64 // its sequence in the consumed stream
	Deliveries uint64 // how many deliveries it had
	Reason     string // the last error
}

// ReadDeadLetter reads the dead-letter headers of a message of the dead-letter stream; ok is false
// when h lacks the consumer or the subject, i.e. the message was not put there by a Router.
func ReadDeadLetter(h nats.Header) (dl DeadLetter, ok bool) {
	dl = DeadLetter{
		Consumer: h.Get(HeaderDeadLetterConsumer),
		Subject:  h.Get(HeaderDeadLetterSubject),
		Reason:   h.Get(HeaderDeadLetterReason),
	}
	dl.Sequence, _ = strconv.ParseUint(h.Get(HeaderDeadLetterSequence), 10, 64)
	dl.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeadLetterDeliveries), 10, 64)
	return dl, dl.Consumer != "" && dl.Subject != ""
}
