package reliability

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
)

// Errors of StreamIDs about what the stream holds (not about reading it).
var (
	// ErrIDMismatch: a stored message's Nats-Msg-Id is not its envelope's id.
	ErrIDMismatch = errors.New("envelope id differs from its Nats-Msg-Id")
	// ErrNotEnvelope: a stored message is not an envelope.
	ErrNotEnvelope = errors.New("stored message is not an envelope")
)

// stallLimit bounds how long StreamIDs goes on re-creating its consumer while reading nothing. A
// cluster whose partition has just healed answered "JetStream system temporarily unavailable" to
// every consumer create for over 5 s on a loaded CI machine (10 tries 500 ms apart were not
// enough), so the bound is time, not tries.
const stallLimit = time.Minute

// StreamIDs reads every message of stream through an ordered consumer and returns how many
// messages carry each Nats-Msg-Id. It checks on the way that each header equals the envelope id in
// the body (ErrIDMismatch otherwise) and that each body is an envelope (ErrNotEnvelope). A failed
// fetch (a cluster node that has just rejoined may route a request nowhere for a moment) resumes
// after the last message read, with a new consumer, for up to stallLimit without progress.
func StreamIDs(ctx context.Context, js jetstream.JetStream, stream string) (map[string]int, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", stream, err)
	}
	ids := make(map[string]int, info.State.Msgs)
	var read, lastSeq uint64
	for progressed := time.Now(); read < info.State.Msgs; {
		n, last, err := readFrom(ctx, s, lastSeq+1, info.State.Msgs-read, ids)
		read, lastSeq = read+n, max(lastSeq, last)
		if errors.Is(err, ErrIDMismatch) || errors.Is(err, ErrNotEnvelope) {
			return nil, err
		}
		if n > 0 {
			progressed = time.Now()
			if err == nil {
				continue
			}
		}
		if time.Since(progressed) >= stallLimit || ctx.Err() != nil {
			return nil, fmt.Errorf("stream %s: read %d of %d messages: %w", stream, read, info.State.Msgs, errors.Join(err, ctx.Err()))
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return ids, nil
}

// readFrom reads up to want messages from stream sequence start on with a new ordered consumer,
// counting their ids into ids. It returns how many it read and the last stream sequence, also when
// it stops on an error.
func readFrom(ctx context.Context, s jetstream.Stream, start, want uint64, ids map[string]int) (n, last uint64, err error) {
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ordered consumer: %w", err)
	}
	for n < want {
		batch, err := cons.Fetch(int(min(1000, want-n)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return n, last, fmt.Errorf("fetch: %w", err)
		}
		got := uint64(0)
		for msg := range batch.Messages() {
			got++
			id := msg.Headers().Get(jetstream.MsgIDHeader)
			ev, err := envelope.Unmarshal(msg.Data())
			if err != nil {
				return n + got, last, fmt.Errorf("%w: %q: %w", ErrNotEnvelope, id, err)
			}
			if ev.ID != id {
				return n + got, last, fmt.Errorf("%w: %q, envelope %q", ErrIDMismatch, id, ev.ID)
			}
			ids[id]++
			if meta, err := msg.Metadata(); err == nil {
				last = meta.Sequence.Stream
			}
		}
		n += got
		if err := batch.Error(); err != nil {
			return n, last, fmt.Errorf("fetch: %w", err)
		}
		if got == 0 {
			return n, last, errors.New("fetch returned no message")
		}
	}
	return n, last, nil
}
