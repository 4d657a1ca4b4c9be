// Package router is the consumer side of avatarbus for Go services: it reads the events avatarbus
// stores in the JetStream stream AVATAR through durable pull consumers, runs a handler for each,
// and acknowledges, retries with backoff, or dead-letters them.
//
// A Router holds the settings shared by its consumers ([New] with [Option] values); [Router.Handle]
// registers one handler on one durable consumer with a subject filter such as
// "avatar.video.completed.*" (every finished video from every platform) or "avatar.>"; [Router.Run]
// creates or updates the consumers and the dead-letter stream, and consumes until its context
// ends. [HTTPRoute] turns an HTTP endpoint into a handler that forwards each event, signed with
// Standard Webhooks headers.
//
// # Guarantees
//
//   - Durable: a consumer remembers what it has acknowledged across restarts of the service and
//     of NATS; a new consumer starts with the oldest event in the stream.
//   - Deduplicated: an event acknowledged by a handler is not delivered to that consumer again.
//     The acknowledgement is confirmed by JetStream (a double ack) before the next event of the
//     slot is fetched, so a restart does not replay handled events. A crash between the handler's
//     return and the confirmation, or a handler that outlives its ack wait, can still cause a
//     second delivery: make handlers idempotent on [Event] ID (the envelope id, also the stored
//     message's Nats-Msg-Id).
//   - Retries: a handler error makes JetStream redeliver the event after the backoff delay for that
//     delivery (5s, 30s, 2m, 10m, 30m by default, the last repeating, with ±20% jitter), or after
//     the delay of a [RetryAfterError].
//   - Dead letters: when the last delivery fails ([WithMaxDeliveries], 10 by default), at once
//     for an error matching [ErrPermanent] and for a message that is not an envelope, the event is
//     copied unchanged to the dead-letter stream AVATAR_DLQ on "dlq." + its subject, with headers
//     [HeaderDeadLetterReason], [HeaderDeadLetterConsumer], [HeaderDeadLetterSubject],
//     [HeaderDeadLetterSequence] and [HeaderDeadLetterDeliveries]; only once that copy is stored is
//     the original terminated, and when it cannot be stored the event is retried shortly. A
//     handler's panic counts as an error. Deliveries that end without an outcome (a crash, a
//     handler ignoring its context past the ack wait) are counted too: past twice the maximum the
//     event is dead-lettered without running the handler again. [ScanDeadLetters] reads them back
//     ([ReadDeadLetter] for one message's headers), and a [Redrive] sends one consumer's to an
//     HTTP target again, deleting each one accepted (`avatarbus dlq list|redrive` use both).
//   - Bounded: at most [WithConcurrency] handlers per consumer run at once.
//   - Graceful stop: when Run's context ends, no new event starts, events fetched but not started
//     go back to JetStream at once, and running handlers get up to [WithStopTimeout] to finish
//     and settle their events; their contexts are not cancelled before that.
//
// # Example
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//		"os"
//		"os/signal"
//		"syscall"
//		"time"
//
//		"github.com/nats-io/nats.go"
//		"github.com/nats-io/nats.go/jetstream"
//		"github.com/rs/zerolog"
//
//		"github.com/avatarbus/avatarbus/deliver"
//		"github.com/avatarbus/avatarbus/router"
//	)
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//
//		// avatarbus's embedded server wants a login (docs/operations.md: NATS credentials); the router also
//		// writes dead letters to AVATAR_DLQ, which the read-only user "consumer" may not.
//		nc, err := nats.Connect("nats://127.0.0.1:4222", nats.UserInfo("avatarbus", os.Getenv("NATS_PASSWORD")))
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer nc.Drain()
//		js, err := jetstream.New(nc)
//		if err != nil {
//			log.Fatal(err)
//		}
//
//		r, err := router.New(js,
//			router.WithLogger(zerolog.New(os.Stderr).With().Timestamp().Logger()),
//			router.WithBackoff(5*time.Second, 30*time.Second, 2*time.Minute),
//			router.WithMaxDeliveries(8),
//		)
//		if err != nil {
//			log.Fatal(err)
//		}
//
//		// Every finished video, from every platform, once per id.
//		err = r.Handle("avatar.video.completed.*", "thumbnails",
//			func(ctx context.Context, ev router.Event) error {
//				if ev.Data.MediaURL == "" {
//					return router.Permanent(fmt.Errorf("event %s has no media_url", ev.ID))
//				}
//				return makeThumbnail(ctx, ev.ID, ev.Data.MediaURL) // an error retries with backoff
//			},
//			router.WithConcurrency(4),
//		)
//		if err != nil {
//			log.Fatal(err)
//		}
//
//		// Forward every event to an HTTP service, signed with Standard Webhooks headers.
//		crm, err := router.HTTPRoute(deliver.Target{
//			URL:     "http://crm.internal/hooks/avatar",
//			Secret:  os.Getenv("CRM_WEBHOOK_SECRET"), // whsec_…
//			Timeout: 10 * time.Second,
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		if err := r.Handle("avatar.>", "crm", crm); err != nil {
//			log.Fatal(err)
//		}
//
//		// Consume until SIGINT/SIGTERM, then let running handlers finish.
//		if err := r.Run(ctx); err != nil {
//			log.Fatal(err)
//		}
//	}
//
// makeThumbnail stands for the service's own work.
//
// router imports envelope, subjects and deliver of avatarbus, and nothing else of it.
package router
