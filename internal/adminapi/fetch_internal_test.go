package adminapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// TestFetchAsksAgainWhileNobodyAnswers: a pull request nobody serves yet (here: the consumer is
// gone and comes back 200 ms later) is asked again until the consumer answers, and gives up with
// "no responders" after about a second when it never does.
func TestFetchAsksAgainWhileNobodyAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, js := brokertest.Connect(t, brokertest.RunJetStream(t).ClientURL())
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "F", Subjects: []string{"f.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := js.Publish(ctx, "f.x", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cfg := jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckNonePolicy}
	cons, err := s.CreateConsumer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsumer(ctx, "c"); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if _, err := fetch(ctx, cons, 3); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("fetch from a consumer that never comes back: %v, want no responders", err)
	}
	if d := time.Since(began); d < time.Second {
		t.Errorf("gave up after %s, want about a second of asking again", d)
	}

	back := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, err := s.CreateConsumer(ctx, cfg)
		back <- err
	}()
	msgs, err := fetch(ctx, cons, 3)
	if err := <-back; err != nil {
		t.Fatal(err)
	}
	if err != nil || len(msgs) != 3 {
		t.Fatalf("fetch while the consumer comes back: %d messages, %v; want 3", len(msgs), err)
	}
}
