package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// heldPublisher holds every publish until release is closed, then acks it.
type heldPublisher struct {
	fakePublisher
	arrived chan struct{}
	release chan struct{}
}

func (p *heldPublisher) Publish(ctx context.Context, subject string, ev *envelope.Event) (broker.Ack, error) {
	p.arrived <- struct{}{}
	<-p.release
	return p.fakePublisher.Publish(ctx, subject, ev)
}

// TestLoadIsMeasured: AnsweringTime grows by the time each webhook request took once it is
// answered, not before (what serve's index writer yields to).
func TestLoadIsMeasured(t *testing.T) {
	t.Parallel()
	const n = 4
	const held = 50 * time.Millisecond
	pub := &heldPublisher{arrived: make(chan struct{}, n), release: make(chan struct{})}
	base, ing := serveIngest(t, ingest.Config{Sources: testSources(t), SubjectPrefix: "avatar", Publisher: pub,
		Log: zerolog.Nop(), Metrics: metrics.New(metrics.NewRegistry())})
	if ing.AnsweringTime() != 0 {
		t.Fatalf("before any request: answering time %s", ing.AnsweringTime())
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"type":"video.done","data":{"id":"vid_%d"}}`, i)
			statuses[i] = post(t, base+"/webhooks/acme", signedSW(t, fmt.Sprintf("load_%d", i), time.Now(), body), body).status
		})
	}
	for range n {
		<-pub.arrived
	}
	if got := ing.AnsweringTime(); got != 0 {
		t.Errorf("nothing answered yet, answering time %s: want 0 (each request counts when answered)", got)
	}
	time.Sleep(held) // the requests are held this long at least
	close(pub.release)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: status %d", i, s)
		}
	}
	// The time is added when the handler returns, just after the answer is written.
	waitfor.Cond(t, 5*time.Second, func() bool { return ing.AnsweringTime() >= n*held },
		fmt.Sprintf("answering time (%s) at least %d × %s", ing.AnsweringTime(), n, held))
}
