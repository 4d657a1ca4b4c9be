package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// postAll posts the requests concurrently, one goroutine each, and returns the answers in order.
func postAll(t *testing.T, url string, reqs []signedRequest) []answer {
	t.Helper()
	out := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { out[i] = postWebhook(t, url, r) })
	}
	wg.Wait()
	return out
}

// storedSeqs reads every event of stream: Nats-Msg-Id -> sequence, failing on an id stored twice.
func storedSeqs(t *testing.T, stream jetstream.Stream) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]uint64{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get seq %d: %v", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if first, dup := ids[id]; dup {
			t.Errorf("id %s stored twice: seq %d and %d", id, first, seq)
		}
		ids[id] = seq
	}
	return ids
}

// TestServeBatchModeEmbeddedSyncAlways: serve with the embedded server fsyncing before every ack
// and publish_mode unset publishes in batch mode (the stream allows atomic batches); concurrent
// webhooks are each answered 200 with the sequence their event is stored at, redeliveries racing
// new deliveries are answered duplicate with the original sequence, each event is stored once, and
// the object store and the quarantine keep working.
func TestServeBatchModeEmbeddedSyncAlways(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	yaml := strings.Replace(acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream"))+"    offload_above: 1KiB\n",
		"    store_dir:", "    sync_interval: always\n    store_dir:", 1)
	// Room for a loaded test machine; the deadline is not what this test is about.
	yaml = strings.Replace(yaml, "nats:\n", "nats:\n  publish_timeout: 5s\n", 1)
	cfg := mustLoadConfig(t, yaml)
	if cfg.NATS.PublishMode != "" || cfg.NATS.EffectivePublishMode() != "batch" {
		t.Fatalf("publish_mode %q chooses %q, want unset choosing batch", cfg.NATS.PublishMode, cfg.NATS.EffectivePublishMode())
	}
	startServe(t, cfg)
	url := "http://" + listen + "/webhooks/acme"
	now := time.Now()
	request := func(i int) signedRequest {
		return newSignedRequest(t, fmt.Sprintf("msg_%03d", i), now, fmt.Sprintf(`{"type":"video.done","data":{"id":"vid_%d"}}`, i))
	}

	var first []signedRequest
	for i := range 48 {
		first = append(first, request(i))
	}
	answers := postAll(t, url, first)
	seqs := map[string]uint64{}
	for i, a := range answers {
		seq, _ := a.body["seq"].(float64)
		if a.status != http.StatusOK || a.body["duplicate"] != false || seq == 0 {
			t.Fatalf("request %d: %d %s", i, a.status, a.raw)
		}
		seqs[a.body["id"].(string)] = uint64(seq)
	}
	// Redeliveries of the first 16, racing 16 new deliveries.
	var mixed []signedRequest
	for i := range 16 {
		mixed = append(mixed, request(i), request(100+i))
	}
	for i, a := range postAll(t, url, mixed) {
		seq, _ := a.body["seq"].(float64)
		id, _ := a.body["id"].(string)
		redelivery := i%2 == 0
		if a.status != http.StatusOK || a.body["duplicate"] != redelivery {
			t.Fatalf("request %s: %d %s, want 200 with duplicate %v", id, a.status, a.raw, redelivery)
		}
		if redelivery && uint64(seq) != seqs[id] {
			t.Errorf("redelivery of %s answered seq %v, want the original %d", id, seq, seqs[id])
		}
		if !redelivery {
			seqs[id] = uint64(seq)
		}
	}

	// The writes beside the event stream keep working: a large field goes to the object store
	// first (offload_above: 1KiB), a request with a bad signature to the quarantine.
	note := strings.Repeat("n", 4096)
	big := newSignedRequest(t, "msg_big", now, fmt.Sprintf(`{"type":"video.done","data":{"id":"vid_big","note":%q}}`, note))
	bad := newSignedRequest(t, "msg_bad", now, `{"type":"video.done","data":{"id":"vid_bad"}}`)
	bad.body = strings.Replace(bad.body, "vid_bad", "vid_forged", 1)
	for i, a := range postAll(t, url, []signedRequest{big, bad}) {
		if want := []int{http.StatusOK, http.StatusUnauthorized}[i]; a.status != want {
			t.Fatalf("request %d: %d %s, want %d", i, a.status, a.raw, want)
		}
		if i == 0 {
			seq, _ := a.body["seq"].(float64)
			seqs[a.body["id"].(string)] = uint64(seq)
		}
	}
	_, js := connectEmbedded(t, natsListen)
	q, err := js.Stream(context.Background(), "AVATAR_QUARANTINE")
	if err != nil {
		t.Fatal(err)
	}
	if qi, err := q.Info(context.Background()); err != nil || qi.State.Msgs != 1 {
		t.Errorf("quarantine: %+v %v, want the forged request", qi, err)
	}

	stream, info := avatarStreamInfo(t, natsListen)
	if m, err := stream.GetMsg(context.Background(), seqs["acme:msg_big"]); err != nil {
		t.Error(err)
	} else if ev, err := envelope.Unmarshal(m.Data); err != nil || len(ev.Data.Objects) != 1 || ev.Data.Objects[0].Path != "/data/note" {
		t.Errorf("large event: %v, objects %+v, want /data/note stored apart", err, ev.Data.Objects)
	}
	if !info.Config.AllowAtomicPublish {
		t.Error("stream AVATAR does not allow atomic publish: batch mode was not chosen")
	}
	stored := storedSeqs(t, stream)
	if !equalIDs(seqs, stored) {
		t.Fatalf("stored ids differ from answered ids:\nanswered: %v\nstored:   %v", seqs, stored)
	}
}

// TestServeBatchModeAnswers503WhenBrokerDown: in batch mode a webhook that cannot be stored is
// answered 503 soon after the broker goes down (not after a timeout per queued request), and the
// platform's retry is stored once the broker is back.
func TestServeBatchModeAnswers503WhenBrokerDown(t *testing.T) {
	dir := t.TempDir()
	opts := brokertest.Options(dir)
	opts.SyncAlways = true
	srv := brokertest.RunWithOptions(t, opts)
	port := brokertest.Port(srv)
	listen := freeAddr(t)
	yaml := fmt.Sprintf(`listen: %q
admin_listen: "127.0.0.1:0"
nats:
  url: %q
  publish_mode: batch
sources:
  - name: acme
    platform: standardwebhooks
    secrets: [%q]
    events:
      video.done: avatar.video.completed
`, listen, srv.ClientURL(), swSecret)
	startServe(t, mustLoadConfig(t, yaml))
	url := "http://" + listen + "/webhooks/acme"
	body := `{"type":"video.done","data":{"id":"vid_1"}}`
	if a := postWebhook(t, url, newSignedRequest(t, "msg_up", time.Now(), body)); a.status != http.StatusOK {
		t.Fatalf("with the broker up: %d %s", a.status, a.raw)
	}

	brokertest.Stop(srv)
	down := make([]signedRequest, 8)
	for i := range down {
		down[i] = newSignedRequest(t, fmt.Sprintf("msg_down_%d", i), time.Now(), body)
	}
	start := time.Now()
	for i, a := range postAll(t, url, down) {
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("request %d with the broker down: %d %s, want 503", i, a.status, a.raw)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("503s took %s with the broker down, want within 2s", took)
	}

	restarted := brokertest.Options(dir)
	restarted.Port, restarted.SyncAlways = port, true
	brokertest.RunWithOptions(t, restarted)
	// The platform retries until it gets a 2xx; serve reconnects by itself.
	for i, r := range down {
		for deadline := time.Now().Add(20 * time.Second); ; {
			a := postWebhook(t, url, r)
			if a.status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retry %d still answered %d %s 20s after the broker came back", i, a.status, a.raw)
			}
			time.Sleep(50 * time.Millisecond) // retry interval, not an assertion
		}
	}
	_, js := brokertest.Connect(t, srv.ClientURL())
	s, err := js.Stream(context.Background(), "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if stored := storedSeqs(t, s); len(stored) != 1+len(down) {
		t.Errorf("stream holds %v, want msg_up and the %d retries once each", stored, len(down))
	}
}
