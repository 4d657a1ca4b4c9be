package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// A refused request whose headers come near the HTTP limit (64 KiB), with a large body, is still
// quarantined on a real nats-server: request headers are dropped, largest first, until JetStream's
// 64 KiB header block and the max payload are met, and then the body is cut; each cut is marked.
func TestQuarantineFitsLargeHeadersAndBodies(t *testing.T) {
	t.Parallel()
	srv := brokertest.RunJetStream(t)
	q := quarantineConfig()
	q.MaxBytes = 64 << 20
	b := open(t, broker.Config{Conn: broker.ConnConfig{URL: srv.ClientURL()}, Stream: streamConfig(), Quarantine: q})
	maxPayload := int(b.MaxPayload())
	sig := "v1,c2lnbmF0dXJl"
	padded := func(n, size int) http.Header {
		h := http.Header{"Webhook-Signature": {sig}, "Webhook-Id": {"msg_1"}}
		for i := 0; i < n; i++ {
			h.Set(fmt.Sprintf("X-Pad-%04d", i), strings.Repeat("p", size))
		}
		return h
	}
	tests := []struct {
		name        string
		header      http.Header
		body        int
		wantDropped []string // names that must be listed as dropped
		wantBodyCut bool
	}{
		{name: "a few large headers near 64 KiB, body 512 KiB", header: padded(4, 16300), body: 512 << 10,
			wantDropped: []string{"X-Pad-0000="}},
		{name: "many small headers near 64 KiB", header: padded(2100, 20), body: 1024,
			wantDropped: []string{"more="}},
		{name: "large headers and a body at the max payload", header: padded(4, 16300), body: maxPayload - 100,
			wantDropped: []string{"X-Pad-0000=", "X-Pad-0003="}, wantBodyCut: true},
		{name: "a body larger than the max payload alone", header: padded(0, 0), body: maxPayload + 1, wantBodyCut: true},
	}
	s, err := b.JS.Stream(context.Background(), q.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("b"), tt.body)
			in := &broker.Refused{Source: "acme", Reason: "signature_mismatch", Path: "/webhooks/acme", Header: tt.header, Body: body}
			seq, err := b.Quarantine().Keep(context.Background(), "quarantine.avatar.acme", in)
			if err != nil {
				t.Fatalf("Keep: %v", err)
			}
			raw, err := s.GetMsg(context.Background(), seq)
			if err != nil {
				t.Fatal(err)
			}
			out, err := broker.RefusedFromMsg(raw.Header, raw.Data)
			if err != nil {
				t.Fatal(err)
			}
			if out.Header.Get("Webhook-Signature") != sig || out.Header.Get("Webhook-Id") != "msg_1" || out.Source != "acme" || out.Reason != "signature_mismatch" {
				t.Errorf("what re-verification needs was not kept: %+v %v", out, out.Header)
			}
			for _, w := range tt.wantDropped {
				if !strings.Contains(out.HeadersDropped, w) {
					t.Errorf("%s = %q, want it to name %q", broker.HeaderHeadersDropped, out.HeadersDropped, w)
				}
			}
			if len(tt.wantDropped) == 0 && out.HeadersDropped != "" {
				t.Errorf("headers dropped without need: %q", out.HeadersDropped)
			}
			kept := len(out.Header) - 2
			if len(tt.wantDropped) > 0 && kept >= len(tt.header)-2 {
				t.Errorf("%d padding headers kept of %d", kept, len(tt.header)-2)
			}
			switch {
			case tt.wantBodyCut && (out.BodyTruncatedFrom != tt.body || len(out.Body) >= tt.body || !bytes.HasPrefix(body, out.Body) || len(out.Body) < tt.body-8192):
				t.Errorf("body: kept %d of %d, marked %d; want its start, marked with its full length", len(out.Body), tt.body, out.BodyTruncatedFrom)
			case !tt.wantBodyCut && (out.BodyTruncatedFrom != 0 || !bytes.Equal(out.Body, body)):
				t.Errorf("body cut without need: kept %d of %d, marked %d", len(out.Body), tt.body, out.BodyTruncatedFrom)
			}
		})
	}
}
