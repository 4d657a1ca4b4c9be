package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// e2eResult is the open-loop run at a fixed rate: POST → 200, and POST → a durable consumer
// receiving the event.
type e2eResult struct {
	rate           int
	sent, received int
	failed         int
	http, consumer []time.Duration // sorted
}

// endToEnd posts o.e2eRate requests a second to avatarbus for o.e2eDuration (open loop: each
// request leaves at its scheduled time, whatever the answers) while a durable pull consumer on its
// stream receives the events; a receipt is matched to its POST by the event id (Nats-Msg-Id).
func endToEnd(ctx context.Context, t *target, o options) (*e2eResult, error) {
	total := o.e2eRate * int(o.e2eDuration/time.Second)
	reqs, err := presign("e2e", total, o.size, time.Now())
	if err != nil {
		return nil, err
	}
	if err := t.purge(ctx); err != nil {
		return nil, err
	}
	cons, err := t.js.CreateOrUpdateConsumer(ctx, t.stream, jetstream.ConsumerConfig{
		Durable: "bench-e2e", FilterSubject: avatarbusPrefix + ".>",
		DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	defer func() { _ = t.js.DeleteConsumer(context.Background(), t.stream, "bench-e2e") }()

	sentAt := make([]time.Time, total) // written by the sender of request i before it posts
	recvAt := make([]time.Time, total) // written by the consumer callback
	httpLat := make([]time.Duration, total)
	var mu sync.Mutex // guards sentAt/recvAt reads across goroutines
	idPrefix := benchSource + ":e2e-"
	done := make(chan struct{})
	received := 0
	cc, err := cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		_ = m.Ack()
		id := m.Headers().Get("Nats-Msg-Id")
		n, err := strconv.Atoi(strings.TrimPrefix(id, idPrefix))
		if err != nil || n < 0 || n >= total {
			return
		}
		mu.Lock()
		if recvAt[n].IsZero() {
			recvAt[n] = now
			received++
			if received == total {
				close(done)
			}
		}
		mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	defer cc.Stop()

	const workers = 64
	jobs := make(chan int, total)
	var wg sync.WaitGroup
	failed := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer c.CloseIdleConnections()
			for i := range jobs {
				start := time.Now()
				mu.Lock()
				sentAt[i] = start
				mu.Unlock()
				status, err := post(c, t.url, &reqs[i])
				httpLat[i] = time.Since(start)
				if err != nil || status != 200 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	log.Printf("end to end: %d req/s for %s", o.e2eRate, o.e2eDuration)
	interval := time.Second / time.Duration(o.e2eRate)
	begin := time.Now()
	for i := range total {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	cc.Stop()

	mu.Lock()
	defer mu.Unlock()
	r := &e2eResult{rate: o.e2eRate, sent: total, received: received, failed: failed}
	for i := range total {
		r.http = append(r.http, httpLat[i])
		if !recvAt[i].IsZero() {
			r.consumer = append(r.consumer, recvAt[i].Sub(sentAt[i]))
		}
	}
	slices.Sort(r.http)
	slices.Sort(r.consumer)
	log.Printf("end to end: POST→200 p50 %s p99 %s; POST→consumer p50 %s p99 %s (%d/%d received, %d failed)",
		percentile(r.http, .5), percentile(r.http, .99), percentile(r.consumer, .5), percentile(r.consumer, .99), received, total, failed)
	return r, nil
}
