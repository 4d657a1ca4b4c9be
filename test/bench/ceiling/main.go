// Command ceiling is the HTTP ceiling of the bench: an Echo handler that reads the body and answers
// 200, storing nothing. No webhook bridge on the same machine can answer faster.
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
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "HTTP listen address")
	stats := flag.String("stats", "", "listen address of /debug/vars (expvar, with memstats), empty: none")
	flag.Parse()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhooks/:source", func(c echo.Context) error {
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return c.NoContent(http.StatusBadRequest)
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
