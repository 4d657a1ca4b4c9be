package reliability

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
)

// ErrIDMismatch: a stored message's Nats-Msg-Id is not its envelope's id.
var ErrIDMismatch = errors.New("envelope id differs from its Nats-Msg-Id")

// StreamIDs reads every message of stream through an ordered consumer and returns how many
// messages carry each Nats-Msg-Id. It checks on the way that each header equals the envelope id in
// the body (ErrIDMismatch otherwise).
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
	if info.State.Msgs == 0 {
		return ids, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("ordered consumer: %w", err)
	}
	for read := uint64(0); read < info.State.Msgs; {
		batch, err := cons.Fetch(int(min(1000, info.State.Msgs-read)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("fetch after %d of %d messages: %w", read, info.State.Msgs, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			id := msg.Headers().Get(jetstream.MsgIDHeader)
			ev, err := envelope.Unmarshal(msg.Data())
			if err != nil {
				return nil, fmt.Errorf("message %q: %w", id, err)
			}
			if ev.ID != id {
				return nil, fmt.Errorf("%w: %q, envelope %q", ErrIDMismatch, id, ev.ID)
			}
			ids[id]++
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("fetch after %d of %d messages: %w", read, info.State.Msgs, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("stream %s: no message after %d of %d", stream, read, info.State.Msgs)
		}
		read += uint64(n)
	}
	return ids, nil
}
