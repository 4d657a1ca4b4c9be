package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
)

// flow is one durable consumer of the service.
type flow struct {
	name    string // the durable is <Config.Name>-<name>
	typ     string // the canonical type it consumes, from every platform
	handler router.HandlerFunc
	on      bool // its target is configured
}

// run connects to NATS, creates or updates the service's consumers and its bucket of handled ids,
// and consumes until ctx ends; then it lets the running calls finish and returns nil. It returns
// an error when it cannot start: NATS unreachable, the stream missing, a consumer refused.
func run(ctx context.Context, cfg Config, log zerolog.Logger) error {
	nc, err := nats.Connect(cfg.NATSURL, nats.Name(cfg.Name), nats.MaxReconnects(-1))
	if err != nil {
		// The URL may carry a password: not repeated here.
		return fmt.Errorf("connect to NATS (--nats-url): %w; is `avatarbus serve` running?", err)
	}
	// Run waits for every handler to settle its event before it returns, so nothing is pending.
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	setup, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := js.Stream(setup, cfg.Stream); err != nil {
		return fmt.Errorf("stream %s: %w; avatarbus creates it when it starts", cfg.Stream, err)
	}
	done, err := openDoneIDs(setup, js, cfg.Name+"-done", cfg.DoneTTL, log)
	if err != nil {
		return err
	}
	r, err := newRouter(js, cfg, done, log)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// newRouter registers one durable consumer per configured flow on one router.
func newRouter(js jetstream.JetStream, cfg Config, done *doneIDs, log zerolog.Logger) (*router.Router, error) {
	f := &flows{cfg: cfg, transient: cfg.Transient,
		call: &caller{client: &http.Client{}, timeout: cfg.HTTPTimeout, secret: cfg.SigningSecret}}
	r, err := router.New(js,
		router.WithStream(cfg.Stream),
		router.WithLogger(log),
		router.WithBackoff(cfg.Backoff...),
		router.WithMaxDeliveries(cfg.MaxDeliveries),
		// A call is bounded by HTTPTimeout; the ack wait must be longer, or JetStream would
		// redeliver an event while its call is still running.
		router.WithAckWait(max(router.DefaultAckWait, 2*cfg.HTTPTimeout)),
	)
	if err != nil {
		return nil, err
	}
	all := []flow{
		{"notify", envelope.TypeVideoCompleted, f.videoCompleted, cfg.NotifyURL != ""},
		{"failed", envelope.TypeVideoFailed, f.videoFailed, cfg.AlertURL != ""},
		{"credits", envelope.TypeAccountCreditsLow, f.creditsLow, cfg.CreditsURL != ""},
		{"recording", envelope.TypeConversationRecordingReady, f.startNextStep, cfg.GenerateURL != ""},
		{"transcript", envelope.TypeConversationTranscriptReady, f.startNextStep, cfg.GenerateURL != ""},
	}
	n := 0
	for _, fl := range all {
		if !fl.on {
			continue
		}
		filter := subjects.Filter{Type: fl.typ}.Subject(subjects.CanonicalRoot)
		durable := cfg.Name + "-" + fl.name
		if err := r.Handle(filter, durable, done.once(fl.name, fl.handler)); err != nil {
			return nil, err
		}
		log.Info().Str("durable", durable).Str("filter", filter).Msg("flow on")
		n++
	}
	if n == 0 {
		return nil, errors.New("no flow configured")
	}
	return r, nil
}
