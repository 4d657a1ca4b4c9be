package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/router"
)

// doneIDs remembers, in a JetStream key-value bucket, which events each flow has handled, so that
// a flow's side effect (an email, a re-render) happens once per event id even when the event is
// delivered again. The bucket is on the same NATS as the stream: it survives restarts and is
// shared by every copy of the service.
type doneIDs struct {
	kv  jetstream.KeyValue
	log zerolog.Logger
}

// openDoneIDs creates the bucket, or updates it to ttl.
func openDoneIDs(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, log zerolog.Logger) (*doneIDs, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "avatarflow: ids of the events each flow has handled",
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", bucket, err)
	}
	return &doneIDs{kv: kv, log: log}, nil
}

// doneKey is the bucket key of an event id in a flow. Envelope ids hold ':' and may be long, which
// keys may not, hence the digest.
func doneKey(flow, id string) string {
	sum := sha256.Sum256([]byte(id))
	return flow + "." + hex.EncodeToString(sum[:16])
}

// once wraps h so that it runs at most once to success per event id in flow.
//
// The check and the record are not one transaction: a crash after h succeeded and before the
// record is written runs h again on the redelivery. That is why every call also carries the event
// id as Idempotency-Key, for the receiver to drop the repeat.
func (d *doneIDs) once(flow string, h router.HandlerFunc) router.HandlerFunc {
	return func(ctx context.Context, ev router.Event) error {
		key := doneKey(flow, ev.ID)
		switch _, err := d.kv.Get(ctx, key); {
		case err == nil:
			d.log.Info().Str("flow", flow).Str("id", ev.ID).Uint64("seq", ev.Sequence).
				Msg("already handled; skipped")
			return nil
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return fmt.Errorf("check handled ids: %w", err) // retried: better late than twice
		}
		if err := h(ctx, ev); err != nil {
			// The router decides what follows: a retry after the backoff, or the dead-letter
			// stream for a permanent error or the last delivery.
			d.log.Warn().Err(err).Str("flow", flow).Str("id", ev.ID).Uint64("delivery", ev.NumDelivered).
				Bool("permanent", errors.Is(err, router.ErrPermanent)).Msg("not handled")
			return err
		}
		if _, err := d.kv.Put(ctx, key, []byte(ev.Subject)); err != nil {
			// The effect has happened: retrying would repeat it. Acknowledge, and rely on the
			// Idempotency-Key should the event come again.
			d.log.Warn().Err(err).Str("flow", flow).Str("id", ev.ID).Msg("handled, but not recorded")
		}
		d.log.Info().Str("flow", flow).Str("id", ev.ID).Uint64("seq", ev.Sequence).
			Uint64("delivery", ev.NumDelivered).Msg("handled")
		return nil
	}
}
