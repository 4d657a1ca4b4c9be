package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig is what avatarbus decides about the AVATAR stream.
type StreamConfig struct {
	Name       string
	Subjects   []string
	Replicas   int
	MaxAge     time.Duration
	Duplicates time.Duration // the dedup window
	MaxBytes   int64         // 0 = unlimited
	// AtomicPublish turns on atomic batch publish (allow_atomic), which BatchPublisher needs. It is
	// set only in publish_mode batch, and never turned off here: another avatarbus (a rolling
	// switch of modes) or another batch publisher of the operator's may rely on it.
	AtomicPublish bool
}

// EnsureStream creates the stream or updates it to cfg, so that starting avatarbus twice, or with a
// changed window, is safe. Settings avatarbus does not manage are left as an operator set them.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	sc := jetstream.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
		Duplicates: cfg.Duplicates,
		MaxBytes:   cfg.MaxBytes,
		Discard:    jetstream.DiscardOld,
		// Harmless to messages without batch headers; a server older than v2.12 has no atomic
		// batches, so it is asked for only when used.
		AllowAtomicPublish: cfg.AtomicPublish,
	}
	if sc.MaxBytes == 0 {
		sc.MaxBytes = -1
	}
	if existing, err := js.Stream(ctx, cfg.Name); err == nil {
		cur := existing.CachedInfo().Config
		cur.Subjects, cur.Replicas, cur.MaxAge, cur.Duplicates, cur.MaxBytes =
			sc.Subjects, sc.Replicas, sc.MaxAge, sc.Duplicates, sc.MaxBytes
		// nats-server allows turning it on in place (server/stream.go update: only turning it off
		// has an effect, on open batches); TestEnsureStreamTurnsOnAtomicPublishInPlace.
		cur.AllowAtomicPublish = cur.AllowAtomicPublish || cfg.AtomicPublish
		s, err := js.UpdateStream(ctx, cur)
		if err != nil {
			return nil, fmt.Errorf("update stream %s: %w", cfg.Name, err)
		}
		return s, nil
	}
	s, err := js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
