// Package adminapitest holds the fixtures the admin API's and the console's tests share: a real
// in-process JetStream with the event, dead-letter and quarantine streams, events published the way
// ingest stores them, a receiver that records deliveries, and a redrive through package router.
package adminapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/router"
)

// Streams creates AVATAR (avatar.>), AVATAR_DLQ (dlq.>) and AVATAR_QUARANTINE (quarantine.>) on
// the JetStream of js (a real server: internal/broker/brokertest starts one) and returns js.
func Streams(t *testing.T, js jetstream.JetStream) jetstream.JetStream {
	t.Helper()
	for name, subj := range map[string]string{"AVATAR": "avatar.>", "AVATAR_DLQ": "dlq.>", "AVATAR_QUARANTINE": "quarantine.>"} {
		if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

// Event is one event to publish: its id, platform, canonical type, resource and correlation ids,
// and its raw payload ({"k":1} when empty).
type Event struct {
	ID, Platform, Type, Resource, Correlation string
	Raw                                       string
}

// Publish stores ev on AVATAR as ingest would (subject <type>.<platform>, Nats-Msg-Id = id), with
// at as its event and receive time.
func Publish(t *testing.T, js jetstream.JetStream, ev Event, at time.Time) {
	t.Helper()
	raw := ev.Raw
	if raw == "" {
		raw = `{"k":1}`
	}
	e := &envelope.Event{SpecVersion: envelope.SpecVersion, ID: ev.ID, Source: envelope.SourceFor(ev.Platform), Type: ev.Type,
		Time: at, DataContentType: envelope.DataContentType, Platform: ev.Platform, CorrelationID: ev.Correlation,
		ReceivedAt: at, Data: envelope.Data{ResourceID: ev.Resource, Raw: json.RawMessage(raw)}}
	b, err := envelope.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	subj := "avatar." + strings.TrimPrefix(ev.Type, "avatar.") + "." + ev.Platform
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subj, Data: b,
		Header: nats.Header{jetstream.MsgIDHeader: {ev.ID}}}); err != nil {
		t.Fatal(err)
	}
}

// Receiver is an HTTP endpoint that answers 204 and records the webhook-id of each delivery.
type Receiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

// NewReceiver starts a Receiver until the test ends.
func NewReceiver(t *testing.T) *Receiver {
	rc := &Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Got returns the webhook-ids received so far, in order.
func (rc *Receiver) Got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}

// Redriver sends dead letter seq of AVATAR_DLQ to url with router.Redrive, as serve's redrive
// does for the route whose consumer gave it up; a missing dead letter wraps adminapi.ErrNotFound.
func Redriver(js jetstream.JetStream, url string) adminapi.Redriver {
	return func(ctx context.Context, seq uint64) error {
		s, err := js.Stream(ctx, "AVATAR_DLQ")
		if err != nil {
			return err
		}
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("%w: %w", adminapi.ErrNotFound, err)
		}
		_, _, err = router.Redrive{Stream: "AVATAR_DLQ", Prefix: "avatar", Consumer: m.Header.Get(router.HeaderDeadLetterConsumer),
			Target: deliver.Target{URL: url}, Only: []uint64{seq}}.Run(ctx, js)
		return err
	}
}
