package reliability

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/avatarbus/avatarbus/verify"
)

// Load sends signed Standard Webhooks requests to a Stack's "load" source from several workers,
// each one event after the other, re-signing and retrying a refused event (any answer but 2xx, or
// none) with the same webhook-id until it is accepted, as a platform does.
type Load struct {
	// URL is the base URL of avatarbus (the Stack's URL).
	URL string
	// Source and Secret name a Standard Webhooks source of the avatarbus at URL and its whsec_
	// secret; empty means the Stack's "load" source.
	Source, Secret string
	// Prefix starts every webhook-id, so that runs do not collide.
	Prefix string
	// Workers sending at the same time; 0 = 4.
	Workers int
	// Timeout is the client's limit per request; 0 = 10s. A request that reaches it counts as hung.
	Timeout time.Duration
	// RetryWait is the pause before a retry; 0 = 100ms.
	RetryWait time.Duration
	// Pause is each worker's pause between events; 0 = none.
	Pause time.Duration
	// RedeliverEvery, when positive, makes every n-th request of a worker a redelivery of its
	// previous accepted event (the answer should say duplicate).
	RedeliverEvery int
}

// Result is one request of a Load and its answer.
type Result struct {
	// EventID is the envelope id (= Nats-Msg-Id) the event must get: source + ":" + webhook-id.
	EventID string
	// Worker sent it; Seq numbers the worker's new events from 0 (a redelivery has the Seq of the
	// event it repeats). A worker moves to its next event only once the current one is accepted,
	// so the accepted events of a worker are exactly Seq 0 to its highest accepted Seq.
	Worker, Seq int
	Attempt     int  // 1 for the first send of an event
	Redelivery  bool // a deliberate resend of an accepted event
	Start, End  time.Time
	Status      int  // 0 when no answer came
	Duplicate   bool // the 200 said JetStream already had the event
	Err         error
}

// Latency is how long the request took.
func (r Result) Latency() time.Duration { return r.End.Sub(r.Start) }

// OK reports whether the answer was 2xx.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Run sends until ctx ends, calls record (from several goroutines) with every result, and returns
// once every worker has its last answer. Requests are not cut short by ctx: the Timeout bounds them.
func (l *Load) Run(ctx context.Context, record func(Result)) {
	workers := cmp.Or(l.Workers, 4)
	client := &http.Client{
		Timeout:   cmp.Or(l.Timeout, 10*time.Second),
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { l.worker(ctx, client, w, record) })
	}
	wg.Wait()
}

func (l *Load) worker(ctx context.Context, client *http.Client, w int, record func(Result)) {
	seq, accepted := 0, -1 // the next new event; the last accepted one
	for n := 1; ctx.Err() == nil; n++ {
		ev, redeliver := seq, l.RedeliverEvery > 0 && n%l.RedeliverEvery == 0 && accepted >= 0
		if redeliver {
			ev = accepted
		}
		id := l.webhookID(w, ev)
		for attempt := 1; ; attempt++ {
			r := l.send(client, id, attempt)
			r.Worker, r.Seq, r.Redelivery = w, ev, redeliver
			record(r)
			if r.OK() {
				if !redeliver {
					accepted, seq = ev, seq+1
				}
				break
			}
			if !sleep(ctx, cmp.Or(l.RetryWait, 100*time.Millisecond)) {
				break
			}
		}
		if l.Pause > 0 && !sleep(ctx, l.Pause) {
			return
		}
	}
}

// EventID returns the envelope id of a worker's event seq, as Result.EventID names it.
func (l *Load) EventID(worker, seq int) string {
	return cmp.Or(l.Source, LoadSource) + ":" + l.webhookID(worker, seq)
}

func (l *Load) webhookID(worker, seq int) string {
	return fmt.Sprintf("%s-w%d-%d", l.Prefix, worker, seq)
}

// send posts one signed event with webhook-id id.
func (l *Load) send(client *http.Client, id string, attempt int) Result {
	// The same bytes on every retry, re-signed with a fresh timestamp, as a platform sends them.
	body := fmt.Appendf(nil, `{"type":"video.done","data":{"id":%q}}`, id)
	source, secret := cmp.Or(l.Source, LoadSource), cmp.Or(l.Secret, LoadSecret)
	r := Result{EventID: source + ":" + id, Attempt: attempt, Start: time.Now()}
	req, err := signedWith(l.URL, source, verify.Config{Scheme: "standardwebhooks"}, secret, id, time.Now(), body)
	if err == nil {
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			r.Status = resp.StatusCode
			var a struct {
				Duplicate bool `json:"duplicate"`
			}
			raw, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if r.OK() {
				rerr = json.Unmarshal(raw, &a)
			}
			r.Duplicate, err = a.Duplicate, rerr
		}
	}
	r.End, r.Err = time.Now(), err
	return r
}

// SignedRequest builds a POST of body to source of the Stack at baseURL, signed with the source's
// scheme and secret at time ts (msgID is the webhook-id for the schemes that carry one).
func SignedRequest(baseURL, source, msgID string, ts time.Time, body []byte) (*http.Request, error) {
	_, vc, err := VerifyConfig(source)
	if err != nil {
		return nil, err
	}
	return signedWith(baseURL, source, vc, vc.Secrets[0], msgID, ts, body)
}

// signedWith builds a POST of body to source at baseURL signed with vc's scheme and secret.
func signedWith(baseURL, source string, vc verify.Config, secret, msgID string, ts time.Time, body []byte) (*http.Request, error) {
	signed, err := verify.Sign(vc, secret, msgID, ts, body)
	if err != nil {
		return nil, err
	}
	u := baseURL + "/webhooks/" + source
	if len(signed.Query) > 0 {
		u += "?" + signed.Query.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range signed.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the nearest-rank method, sorting
// ds in place; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(math.Ceil(p/100*float64(len(ds)))) - 1
	return ds[min(max(rank, 0), len(ds)-1)]
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
