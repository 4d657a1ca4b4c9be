// Command inbox stands in for the services avatarflow calls (a mailer, a re-render endpoint, an
// alert channel …) in the tutorial: it prints every POST it receives and answers 200, or fails
// on purpose to show retries and dead letters.
//
//	go run ./examples/avatarflow/inbox --listen 127.0.0.1:8090 [--fail-first N] [--reject /path]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to listen on")
	failFirst := flag.Int("fail-first", 0, "answer 500 to the first N calls of each Idempotency-Key on each path")
	reject := flag.String("reject", "", "answer 422 to every call on this path, e.g. /notify")
	flag.Parse()

	var mu sync.Mutex
	calls := map[string]int{} // path + Idempotency-Key → calls so far
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		calls[r.URL.Path+" "+key]++
		n := calls[r.URL.Path+" "+key]
		mu.Unlock()
		status := http.StatusOK
		switch {
		case r.Method != http.MethodPost:
			status = http.StatusMethodNotAllowed
		case r.URL.Path == *reject:
			status = http.StatusUnprocessableEntity
		case n <= *failFirst:
			status = http.StatusInternalServerError
		}
		var compact bytes.Buffer
		if json.Compact(&compact, body) != nil {
			compact.Reset()
			compact.Write(body)
		}
		fmt.Printf("%s %s %s call %d → %d\n  %s\n", time.Now().Format(time.TimeOnly), r.Method, r.URL.Path, n, status, compact.Bytes())
		w.WriteHeader(status)
		if status != http.StatusOK {
			_, _ = io.WriteString(w, http.StatusText(status))
		}
	})

	srv := &http.Server{Addr: *listen, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("inbox listening on http://%s\n", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "inbox:", err)
		os.Exit(1)
	}
}
