package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/subjects"
)

// HeaderRedrive marks a request that Redrive sent: the value is the dead letter's sequence in the
// dead-letter stream, so a receiver's logs can tell a redrive from the first deliveries.
const HeaderRedrive = "Avatarbus-Redrive"

// StoredDeadLetter is one message of the dead-letter stream as ScanDeadLetters reads it: what its
// headers say, where it is stored, and the event it holds.
type StoredDeadLetter struct {
	DeadLetter
	DLQSequence uint64    // its sequence in the dead-letter stream
	Time        time.Time // when it was dead-lettered
	Data        []byte    // the event's envelope, as stored
	EventID     string    // the envelope's id; "" when the body is not an envelope
}

// ScanDeadLetters calls fn for each dead letter that a Router stored on stream for events of
// prefix (the events' subject prefix, e.g. "avatar"), oldest first, up to the last message stored
// when the scan started. Messages without dead-letter headers are skipped. An error of fn stops
// the scan and is returned as it is. The scan reads through an ephemeral ordered consumer, which
// it deletes; it touches no durable consumer. A missing stream gives an error wrapping
// jetstream.ErrStreamNotFound.
func ScanDeadLetters(ctx context.Context, js jetstream.JetStream, stream, prefix string, fn func(StoredDeadLetter) error) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("router: dead-letter stream %s: %w", stream, err)
	}
	last := s.CachedInfo().State.LastSeq // the snapshot: later dead letters wait for the next scan
	if last == 0 {
		return nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subjects.DeadLetterFilter(prefix)},
		NamePrefix:        "avatarbus_dlq_" + hex.EncodeToString(b[:]),
		InactiveThreshold: time.Minute, // removed by the server if this client vanishes mid-scan
	})
	if err != nil {
		return fmt.Errorf("router: read %s: %w", stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if info := cons.CachedInfo(); info != nil {
			_ = s.DeleteConsumer(dctx, info.Name)
		}
	}()
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return nil
	}
	for {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("router: read %s: %w", stream, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("router: read %s: message metadata: %w", stream, err)
		}
		if meta.Sequence.Stream > last {
			return nil
		}
		if info, ok := ReadDeadLetter(msg.Headers()); ok {
			l := StoredDeadLetter{DeadLetter: info, DLQSequence: meta.Sequence.Stream, Time: meta.Timestamp, Data: msg.Data()}
			if ev, err := envelope.Unmarshal(l.Data); err == nil {
				l.EventID = ev.ID
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		if meta.Sequence.Stream == last || meta.NumPending == 0 {
			return nil
		}
	}
}

// Redrive is a redrive of one consumer's dead letters to an HTTP target: see Run.
type Redrive struct {
	Stream   string         // the dead-letter stream, e.g. DefaultDeadLetterStream
	Prefix   string         // the events' subject prefix, e.g. DefaultSubjectPrefix
	Consumer string         // the durable name whose dead letters to send, e.g. route-crm
	Target   deliver.Target // where to send them, signed like HTTPRoute
	Only     []uint64       // only these dead-letter sequences; all when empty
	// DryRun sends and deletes nothing: Sent is called for each dead letter that would be sent.
	DryRun bool
	// Sent, when set, is called after each dead letter was delivered and deleted (or, with
	// DryRun, instead of sending it); an error stops the redrive and is returned.
	Sent func(StoredDeadLetter) error
}

// RedriveError is returned by Redrive.Run when a dead letter was not accepted (or, accepted, not
// deleted): it and the ones after it stay in the stream.
type RedriveError struct {
	Letter StoredDeadLetter // the dead letter it stopped at
	Sent   int              // how many were sent and deleted before it
	Err    error            // the delivery's (or the deletion's) error
}

func (e *RedriveError) Error() string {
	return fmt.Sprintf("redrive stopped at dead letter %d (%s) after %d sent: %v", e.Letter.DLQSequence, e.Letter.Subject, e.Sent, e.Err)
}

func (e *RedriveError) Unwrap() error { return e.Err }

// Run POSTs the dead letters of r.Consumer to r.Target, oldest first, each with the event id as
// webhook-id and HeaderRedrive set to its sequence, and deletes each one the target accepted
// (2xx). The first failure stops it with a *RedriveError: nothing after it is sent. It returns
// how many dead letters matched (with DryRun: would be sent) and how many were sent.
func (r Redrive) Run(ctx context.Context, js jetstream.JetStream) (matched, sent int, err error) {
	if r.Consumer == "" {
		return 0, 0, errors.New("router: redrive: no consumer")
	}
	if err := r.Target.Validate(); err != nil {
		return 0, 0, fmt.Errorf("router: redrive: %w", err)
	}
	dlq, err := js.Stream(ctx, r.Stream)
	if err != nil {
		return 0, 0, fmt.Errorf("router: dead-letter stream %s: %w", r.Stream, err)
	}
	err = ScanDeadLetters(ctx, js, r.Stream, r.Prefix, func(l StoredDeadLetter) error {
		if l.Consumer != r.Consumer || (len(r.Only) > 0 && !slices.Contains(r.Only, l.DLQSequence)) {
			return nil
		}
		matched++
		if r.DryRun {
			return r.report(l)
		}
		h := http.Header{HeaderRedrive: {strconv.FormatUint(l.DLQSequence, 10)}}
		id := l.EventID
		if id == "" {
			id = "-" // not an envelope: still sent, as dlq list shows it
		}
		if err := deliver.Post(ctx, r.Target, id, l.Data, h); err != nil {
			return &RedriveError{Letter: l, Sent: sent, Err: err}
		}
		// Deleted only once accepted: a crash between the two sends it once more next time,
		// which receivers deduplicate by webhook-id (the event id), never loses it.
		if err := dlq.DeleteMsg(ctx, l.DLQSequence); err != nil {
			return &RedriveError{Letter: l, Sent: sent, Err: fmt.Errorf("delivered but not deleted, so a redrive would send it again: %w", err)}
		}
		sent++
		return r.report(l)
	})
	return matched, sent, err
}

func (r Redrive) report(l StoredDeadLetter) error {
	if r.Sent == nil {
		return nil
	}
	return r.Sent(l)
}
