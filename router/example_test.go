package router_test

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/router"
)

// A service that makes a thumbnail of every finished video and forwards every event to an HTTP
// endpoint. It runs until SIGINT or SIGTERM, then lets the running handlers finish.
func Example_handle() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// avatarbus's embedded server wants a login (docs/operations.md: NATS credentials); the router also writes
	// dead letters to AVATAR_DLQ, which the read-only user "consumer" may not.
	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.UserInfo("avatarbus", os.Getenv("NATS_PASSWORD")))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}

	r, err := router.New(js,
		router.WithLogger(zerolog.New(os.Stderr).With().Timestamp().Logger()),
		router.WithBackoff(5*time.Second, 30*time.Second, 2*time.Minute),
		router.WithMaxDeliveries(8),
	)
	if err != nil {
		log.Fatal(err)
	}

	// Every finished video from every platform; each id is handled once.
	err = r.Handle("avatar.video.completed.*", "thumbnails", func(ctx context.Context, ev router.Event) error {
		if ev.Data.MediaURL == "" {
			// No retry can fix this: straight to the dead-letter stream.
			return router.Permanent(errors.New("no media_url"))
		}
		return makeThumbnail(ctx, ev.ID, ev.Data.MediaURL) // an error is retried with backoff
	}, router.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}

	// Every event, forwarded to an HTTP service with Standard Webhooks signatures.
	crm, err := router.HTTPRoute(deliver.Target{
		URL:     "http://crm.internal/hooks/avatar",
		Secret:  os.Getenv("CRM_WEBHOOK_SECRET"),
		Timeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := r.Handle("avatar.>", "crm", crm); err != nil {
		log.Fatal(err)
	}

	if err := r.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// makeThumbnail stands for the service's own, idempotent, work.
func makeThumbnail(ctx context.Context, id, mediaURL string) error { return ctx.Err() }
