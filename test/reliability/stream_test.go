package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/test/reliability"
)

// TestStreamIDs reads back more messages than one fetch holds, counting a redelivered id once per
// stored message, and refuses a message whose Nats-Msg-Id is not its envelope's id.
func TestStreamIDs(t *testing.T) {
	skipShort(t)
	srv := brokertest.RunJetStream(t)
	js := jetStream(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: reliability.StreamName, Subjects: []string{"avatar.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(msgID, envelopeID string) {
		t.Helper()
		b, err := envelope.Marshal(&envelope.Event{SpecVersion: envelope.SpecVersion, ID: envelopeID, Type: envelope.TypeVideoCompleted})
		if err != nil {
			t.Fatal(err)
		}
		msg := &nats.Msg{Subject: "avatar.video.completed.load", Data: b, Header: nats.Header{}}
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID)); err != nil {
			t.Fatal(err)
		}
	}
	const n = 2500
	for i := range n {
		publish(fmt.Sprintf("load:e%d", i), fmt.Sprintf("load:e%d", i))
	}
	ids, err := reliability.StreamIDs(ctx, js, reliability.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n || ids["load:e0"] != 1 || ids[fmt.Sprintf("load:e%d", n-1)] != 1 {
		t.Fatalf("read %d ids, want %d each once", len(ids), n)
	}
	publish("load:x", "load:y")
	if _, err := reliability.StreamIDs(ctx, js, reliability.StreamName); !errors.Is(err, reliability.ErrIDMismatch) {
		t.Fatalf("mismatched id: %v, want ErrIDMismatch", err)
	}
}
