// Command avatarflow is an example consumer of avatarbus: a small service that reacts to the events
// avatarbus stores in JetStream, built on package router.
//
//   - a finished video (avatar.video.completed.*) is sent to a notifier, e.g. your mailer;
//   - a failed video (avatar.video.failed.*) is re-rendered when its error looks transient, else
//     reported to an alert endpoint;
//   - a low-credit warning (avatar.account.credits_low.*) is passed on;
//   - a conversation's recording or transcript (avatar.conversation.recording_ready.*,
//     avatar.conversation.transcript_ready.*) starts the next generation step.
//
// Each flow is a durable consumer: events wait in the stream while the service is down, failed
// calls are retried with backoff, and events that cannot be handled go to the dead-letter stream
// AVATAR_DLQ. Each flow is idempotent on the event id. README.md beside this file is the tutorial.
//
//	go run ./examples/avatarflow --notify-url http://127.0.0.1:8090/notify --alert-url …
//
// Every flag can also be set in the environment: --notify-url is AVATARFLOW_NOTIFY_URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "avatarflow:", err)
		os.Exit(2)
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel) // checked by parseConfig
	console := zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly, NoColor: !isatty.IsTerminal(os.Stderr.Fd())}
	log := zerolog.New(console).
		Level(level).With().Timestamp().Logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error().Err(err).Msg("avatarflow stopped")
		os.Exit(1)
	}
}
