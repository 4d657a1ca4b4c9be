package router_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/router"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	tests := []struct {
		name   string
		opt    router.Option
		option string // the option the error must name
	}{
		{"negative backoff", router.WithBackoff(time.Second, -time.Millisecond), "WithBackoff"},
		{"no backoff", router.WithBackoff(), "WithBackoff"},
		{"concurrency 0", router.WithConcurrency(0), "WithConcurrency"},
		{"negative concurrency", router.WithConcurrency(-3), "WithConcurrency"},
		{"jitter 2", router.WithJitter(2), "WithJitter"},
		{"negative jitter", router.WithJitter(-0.1), "WithJitter"},
		{"NaN jitter", router.WithJitter(math.NaN()), "WithJitter"},
		{"max deliveries 0", router.WithMaxDeliveries(0), "WithMaxDeliveries"},
		{"ack wait 0", router.WithAckWait(0), "WithAckWait"},
		{"negative stop timeout", router.WithStopTimeout(-time.Second), "WithStopTimeout"},
		{"empty stream", router.WithStream(""), "WithStream"},
		{"stream with a dot", router.WithStream("AVATAR.X"), "WithStream"},
		{"stream with a space", router.WithStream("AVA TAR"), "WithStream"},
		{"empty dead-letter stream", router.WithDeadLetterStream(""), "WithDeadLetterStream"},
		{"dead-letter stream is the stream", router.WithDeadLetterStream("AVATAR"), "WithDeadLetterStream"},
		{"negative dead-letter max age", router.WithDeadLetterMaxAge(-time.Hour), "WithDeadLetterMaxAge"},
		{"empty prefix", router.WithSubjectPrefix(""), "WithSubjectPrefix"},
		{"prefix with a dot", router.WithSubjectPrefix("a.b"), "WithSubjectPrefix"},
		{"prefix wildcard", router.WithSubjectPrefix("*"), "WithSubjectPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := router.New(b.js, tt.opt)
			if err == nil {
				t.Fatalf("New accepted it: %v", r)
			}
			if !errors.Is(err, router.ErrInvalidOption) || !strings.Contains(err.Error(), tt.option) {
				t.Fatalf("error %q: want ErrInvalidOption naming %s", err, tt.option)
			}
		})
	}
	if _, err := router.New(nil); err == nil {
		t.Fatal("New(nil) accepted")
	}
	if _, err := router.New(b.js, router.WithBackoff(0), router.WithJitter(1), router.WithStopTimeout(0),
		router.WithDeadLetterMaxAge(0)); err != nil {
		t.Fatalf("boundary values refused: %v", err)
	}
}

func TestHandleRefusesInvalidArguments(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ok := func(context.Context, router.Event) error { return nil }
	r := b.router()
	tests := []struct {
		name            string
		filter, durable string
		h               router.HandlerFunc
		opts            []router.Option
		mention         string
	}{
		{"empty filter", "", "d", ok, nil, "filter"},
		{"filter outside the prefix", "other.video.completed.*", "d", ok, nil, "filter"},
		{"dead-letter filter", "dlq.avatar.>", "d", ok, nil, "filter"},
		{"prefix alone", "avatar", "d", ok, nil, "filter"},
		{"> not last", "avatar.>.heygen", "d", ok, nil, "filter"},
		{"empty token", "avatar..heygen", "d", ok, nil, "filter"},
		{"space in filter", "avatar.video completed", "d", ok, nil, "filter"},
		{"empty durable", "avatar.>", "", ok, nil, "durable"},
		{"durable with a dot", "avatar.>", "a.b", ok, nil, "durable"},
		{"durable with *", "avatar.>", "a*", ok, nil, "durable"},
		{"durable with >", "avatar.>", "a>", ok, nil, "durable"},
		{"durable with a space", "avatar.>", "a b", ok, nil, "durable"},
		{"durable with a tab", "avatar.>", "a\tb", ok, nil, "durable"},
		{"nil handler", "avatar.>", "d", nil, nil, "handler"},
		{"bad per-handler option", "avatar.>", "d", ok, []router.Option{router.WithConcurrency(0)}, "WithConcurrency"},
		{"router-only option", "avatar.>", "d", ok, []router.Option{router.WithStream("OTHER")}, "WithStream"},
		{"router-only stop timeout", "avatar.>", "d", ok, []router.Option{router.WithStopTimeout(time.Second)}, "WithStopTimeout"},
		{"router-only logger", "avatar.>", "d", ok, []router.Option{router.WithLogger(zerolog.Nop())}, "WithLogger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Handle(tt.filter, tt.durable, tt.h, tt.opts...)
			if err == nil {
				t.Fatal("Handle accepted it")
			}
			if !errors.Is(err, router.ErrInvalidOption) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %q: want ErrInvalidOption mentioning %s", err, tt.mention)
			}
		})
	}
	if err := r.Handle("avatar.video.completed.*", "dup", ok, router.WithConcurrency(2), router.WithAckWait(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle("avatar.>", "dup", ok); err == nil || !strings.Contains(err.Error(), "dup") {
		t.Fatalf("duplicate durable: %v", err)
	}
	if err := r.Handle("avatar.*.*.heygen", "other", ok); err != nil {
		t.Fatalf("a valid second handler: %v", err)
	}
}

func TestHTTPRouteRefusesInvalidTargets(t *testing.T) {
	t.Parallel()
	for _, tgt := range []deliver.Target{
		{},
		{URL: "ftp://example.test/hook"},
		{URL: "/relative"},
		{URL: "http://127.0.0.1/hook", Secret: "whsec_not base64!"},
	} {
		if h, err := router.HTTPRoute(tgt); err == nil || h != nil {
			t.Errorf("HTTPRoute(%+v) accepted", tgt)
		}
	}
}
