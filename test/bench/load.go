package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avatarbus/avatarbus/verify"
)

// benchSecret is the Standard Webhooks secret of the bench source (a test value, not a secret).
const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signedRequest is one pre-signed Standard Webhooks request: headers and body ready to send.
type signedRequest struct {
	id, ts, sig string
	body        []byte
}

// makeBody returns a Standard Webhooks payload of about size bytes carrying the unique id n.
func makeBody(prefix string, n int, size int) []byte {
	head := fmt.Sprintf(`{"type":"video.done","timestamp":"2026-11-26T10:00:00Z","data":{"id":"vid_%s_%d","status":"completed",`+
		`"url":"https://cdn.example.com/videos/%s_%d.mp4","thumbnail_url":"https://cdn.example.com/thumbs/%s_%d.jpg","duration":59.5,"note":"`,
		prefix, n, prefix, n, prefix, n)
	const tail = `"}}`
	pad := size - len(head) - len(tail)
	if pad < 0 {
		pad = 0
	}
	b := make([]byte, 0, len(head)+pad+len(tail))
	b = append(b, head...)
	for i := 0; i < pad; i++ {
		b = append(b, 'a'+byte(i%26))
	}
	return append(b, tail...)
}

// presign signs count requests with unique webhook-ids prefix-0 … prefix-(count-1), so that every
// request is a new event for avatarbus (no duplicate answers skew the figures).
func presign(prefix string, count, size int, now time.Time) ([]signedRequest, error) {
	out := make([]signedRequest, count)
	ts := strconv.FormatInt(now.Unix(), 10)
	for i := range out {
		id := prefix + "-" + strconv.Itoa(i)
		body := makeBody(prefix, i, size)
		sig, err := verify.SignStandardWebhooks(benchSecret, id, now, body)
		if err != nil {
			return nil, err
		}
		out[i] = signedRequest{id: id, ts: ts, sig: sig, body: body}
	}
	return out, nil
}

// newClient returns an HTTP client that keeps exactly one connection alive: one load-generator
// connection is one client.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
		Timeout: 10 * time.Second,
	}
}

// post sends r to url and reports the status (0 with an error when there was no answer).
func post(c *http.Client, url string, r *signedRequest) (int, error) {
	_, status, err := send(c, url, r, false)
	return status, err
}

// postRead is post that also returns the answer's body.
func postRead(c *http.Client, url string, r *signedRequest) ([]byte, int, error) {
	return send(c, url, r, true)
}

func send(c *http.Client, url string, r *signedRequest, keep bool) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.body)) //nolint:noctx // bounded by the client timeout
	if err != nil {
		return nil, 0, err
	}
	req.Header = http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {r.id},
		"Webhook-Timestamp": {r.ts},
		"Webhook-Signature": {r.sig},
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if keep {
		body, err := io.ReadAll(resp.Body)
		return body, resp.StatusCode, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil, resp.StatusCode, nil
}

// loadResult is what one closed-loop run measured, over its measurement window only.
type loadResult struct {
	Requests int           // answered inside the window
	Non2xx   int           // answered with another status
	Errors   int           // no answer (transport error)
	Window   time.Duration // the measurement window
	Latency  []time.Duration
	FirstErr string
	Sent     int // requests sent by the whole run, warm-up and stragglers included: reqs[:Sent]
	Total2xx int // 2xx answers of the whole run: events a target that stores must now hold
}

// RPS is the rate of 2xx answers in the window.
func (r loadResult) RPS() float64 {
	return float64(r.Requests-r.Non2xx) / r.Window.Seconds()
}

// Percentile returns the q-quantile (0..1) of the sorted latencies, nearest rank.
func (r loadResult) Percentile(q float64) time.Duration {
	return percentile(r.Latency, q)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Phases of a closed-loop run.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// closedLoop drives url with conns connections, each sending its next request as soon as the last
// one was answered. It warms up, then calls onMeasure(start) when the window opens and
// onMeasure(end) when it closes (the caller snapshots CPU and allocations there), and stops.
// Requests come from reqs in order; running out of them ends the run early with an error.
func closedLoop(url string, conns int, reqs []signedRequest, warmup, window time.Duration, onEdge func()) (loadResult, error) {
	var (
		phase  atomic.Int32
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		res    loadResult
		ranOut atomic.Bool
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer c.CloseIdleConnections()
			lat := make([]time.Duration, 0, 4096)
			var n, non2xx, errs, ok2xx int
			var firstErr string
			for {
				p := phase.Load()
				if p == phaseStop {
					break
				}
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					ranOut.Store(true)
					break
				}
				start := time.Now()
				status, err := post(c, url, &reqs[i])
				took := time.Since(start)
				if err == nil && status >= 200 && status <= 299 {
					ok2xx++
				}
				if p != phaseMeasure || phase.Load() != phaseMeasure {
					continue // started or ended outside the window
				}
				switch {
				case err != nil:
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				case status < 200 || status > 299:
					non2xx++
					if firstErr == "" {
						firstErr = "status " + strconv.Itoa(status)
					}
				}
				n++
				lat = append(lat, took)
			}
			mu.Lock()
			res.Requests += n
			res.Total2xx += ok2xx
			res.Non2xx += non2xx
			res.Errors += errs
			res.Latency = append(res.Latency, lat...)
			if res.FirstErr == "" {
				res.FirstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	onEdge()
	start := time.Now()
	phase.Store(phaseMeasure)
	time.Sleep(window)
	phase.Store(phaseStop)
	res.Window = time.Since(start)
	onEdge()
	wg.Wait()
	res.Sent = int(min(next.Load(), int64(len(reqs))))
	slices.Sort(res.Latency)
	if ranOut.Load() {
		return res, fmt.Errorf("ran out of %d pre-signed requests: raise -max-rate (-index-max-rate with -index)", len(reqs))
	}
	return res, nil
}
