// Command baseline is the webhook bridge a user would write by hand instead of running avatarbus:
// an Echo handler that reads the body, publishes it unchanged to JetStream with a synchronous
// js.Publish and answers 200 once the ack is back. No signature check, no normalization, no
// message id. The bench harness (go run ./test/bench) measures it side by side with avatarbus.
// With -msgid it also sets Nats-Msg-Id from the request's webhook-id header, as a bridge that
// drops redeliveries must: the harness's baseline-dedup target, which prices JetStream's
// deduplication apart from everything else avatarbus does.
package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"io"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	natsURL := flag.String("nats", nats.DefaultURL, "NATS server URL")
	listen := flag.String("listen", "127.0.0.1:8081", "HTTP listen address")
	stats := flag.String("stats", "", "listen address of /debug/vars (expvar, with memstats), empty: none")
	subject := flag.String("subject", "webhooks.raw", "subject to publish each body on (a stream must cover it)")
	msgID := flag.Bool("msgid", false, "set Nats-Msg-Id from the webhook-id header (JetStream dedup)")
	flag.Parse()

	nc, err := nats.Connect(*natsURL, nats.Name("baseline"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain() //nolint:errcheck // best effort at exit
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhooks/:source", func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return c.NoContent(http.StatusBadRequest)
		}
		m := &nats.Msg{Subject: *subject, Data: body}
		if *msgID {
			m.Header = nats.Header{jetstream.MsgIDHeader: {c.Request().Header.Get("webhook-id")}}
		}
		if _, err := js.PublishMsg(c.Request().Context(), m); err != nil {
			return c.NoContent(http.StatusServiceUnavailable)
		}
		return c.NoContent(http.StatusOK)
	})

	if *stats != "" {
		go func() { log.Print(http.ListenAndServe(*stats, expvar.Handler())) }() //nolint:gosec // bench only, loopback
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(sctx)
	}()
	if err := e.Start(*listen); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
