package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Issue 13 point 4: the embedded server refuses clients that do not log in. Before, a local
// process could plant a Nats-Msg-Id so that the genuine webhook with that id was answered
// duplicate and never stored, and could purge the stream.
func TestEmbeddedNATSRefusesAnonymous(t *testing.T) {
	_, url, natsAddr := serveWithConfig(t)
	postEvent(t, url, "msg_before", "vid_0")

	nc, err := nats.Connect("nats://"+natsAddr, nats.Timeout(2*time.Second))
	if err == nil {
		defer nc.Close()
		js, jerr := jetstream.New(nc)
		if jerr != nil {
			t.Fatal(jerr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		poison := &nats.Msg{Subject: "avatar.video.completed.acme", Header: nats.Header{}, Data: []byte(`{"forged":true}`)}
		poison.Header.Set(jetstream.MsgIDHeader, "acme:poison-1")
		if _, err := js.PublishMsg(ctx, poison); err == nil {
			t.Error("an anonymous client stored a forged event with a planted Nats-Msg-Id")
		}
		if err := js.DeleteStream(ctx, "AVATAR-does-not-matter"); err == nil {
			t.Error("an anonymous client may delete streams")
		}
		if s, err := js.Stream(ctx, "AVATAR"); err == nil {
			if err := s.Purge(ctx); err == nil {
				t.Error("an anonymous client purged the stream")
			}
		}
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect failed with %v, want an authorization error", err)
	}

	// The genuine webhook with the planted id is stored, and the event from before is still there.
	body := `{"type":"video.done","data":{"id":"vid_1"}}`
	if a := postWebhook(t, url, newSignedRequest(t, "poison-1", time.Now(), body)); a.status != http.StatusOK || a.body["duplicate"] == true {
		t.Errorf("genuine webhook after the attack: %d %s, want 200 and not duplicate", a.status, a.raw)
	}
	body = `{"type":"video.done","data":{"id":"vid_0"}}`
	if a := postWebhook(t, url, newSignedRequest(t, "msg_before", time.Now(), body)); a.status != http.StatusOK || a.body["duplicate"] != true {
		t.Errorf("redelivery of the event stored before the attack: %d %s, want 200 duplicate (the stream kept it)", a.status, a.raw)
	}
}

// Issue 13 point 5: a second serve on the same store_dir (other ports) exits non-zero naming the
// first's pid, and the first keeps storing. Two real processes.
func TestSecondServeOnOneStoreExits(t *testing.T) {
	bin := buildBinary(t)
	store := filepath.Join(t.TempDir(), "jetstream")
	start := func(listen string) (*exec.Cmd, *bytes.Buffer, chan error) {
		cfg := writeFile(t, t.TempDir(), "avatarbus.yaml", acmeConfig(listen, freeAddr(t), store))
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
			}
		})
		return cmd, &stderr, exited
	}
	listen1 := freeAddr(t)
	first, firstLog, firstExited := start(listen1)
	waitHTTP(t, listen1, firstExited)
	postEvent(t, "http://"+listen1+"/webhooks/acme", "msg_first", "vid_1")

	second, secondLog, secondExited := start(freeAddr(t))
	select {
	case <-secondExited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the second serve on the same store_dir still runs after 20s\nstderr:\n%s", secondLog)
	}
	if code := second.ProcessState.ExitCode(); code == 0 {
		t.Errorf("second serve exited 0, want non-zero\nstderr:\n%s", secondLog)
	}
	if want := "pid " + strconv.Itoa(first.Process.Pid); !strings.Contains(secondLog.String(), want) {
		t.Errorf("second serve's message does not name the holder (%q):\n%s", want, secondLog)
	}

	// The first still stores, and still has what it stored before.
	postEvent(t, "http://"+listen1+"/webhooks/acme", "msg_after", "vid_2")
	r := newSignedRequest(t, "msg_first", time.Now(), `{"type":"video.done","data":{"id":"vid_1"}}`)
	if a := postWebhook(t, "http://"+listen1+"/webhooks/acme", r); a.status != http.StatusOK || a.body["duplicate"] != true {
		t.Errorf("redelivery to the first: %d %s, want 200 duplicate", a.status, a.raw)
	}
	select {
	case err := <-firstExited:
		t.Fatalf("the first serve exited: %v\n%s", err, firstLog)
	default:
	}
}

// The consumer user reads (stream info and messages, durable and ordered consumers, fetch, ack,
// consumer delete) but cannot publish to the stream, plant a Nats-Msg-Id, purge, delete or update
// the stream. avatarbus tail works as the consumer user.
func TestEmbeddedNATSConsumerUser(t *testing.T) {
	cfgPath, url, natsAddr := serveWithConfig(t)
	postEvent(t, url, "msg_1", "vid_1")
	creds := embeddedCredentials(t, natsAddr)
	var asyncErrs syncBuffer
	nc, js := connectEmbedded(t, natsAddr, creds.Consumer.Option(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		fmt.Fprintln(&asyncErrs, err)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("refused", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		poison := &nats.Msg{Subject: "avatar.video.completed.acme", Header: nats.Header{}, Data: []byte(`{}`)}
		poison.Header.Set(jetstream.MsgIDHeader, "acme:poison-2")
		if _, err := js.PublishMsg(short, poison); err == nil {
			t.Error("the consumer user published to the stream")
		}
		if err := nc.Publish("avatar.video.completed.acme", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		s, err := js.Stream(ctx, "AVATAR")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(short); err == nil {
			t.Error("the consumer user purged the stream")
		}
		if err := js.DeleteStream(short, "AVATAR"); err == nil {
			t.Error("the consumer user deleted the stream")
		}
		cfg := s.CachedInfo().Config
		cfg.MaxMsgs = 1
		if _, err := js.UpdateStream(short, cfg); err == nil {
			t.Error("the consumer user updated the stream")
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(asyncErrs.String(), "Permissions Violation") {
			t.Errorf("no permissions violation reported; async errors: %q", asyncErrs.String())
		}
		// The genuine webhook with the id the consumer tried to plant is stored.
		body := `{"type":"video.done","data":{"id":"vid_2"}}`
		if a := postWebhook(t, url, newSignedRequest(t, "poison-2", time.Now(), body)); a.status != http.StatusOK || a.body["duplicate"] == true {
			t.Errorf("genuine webhook: %d %s, want 200 and not duplicate", a.status, a.raw)
		}
		if _, info := avatarStreamInfo(t, natsAddr); info.State.Msgs != 2 {
			t.Errorf("stream holds %d messages, want the 2 genuine ones", info.State.Msgs)
		}
	})

	t.Run("reads", func(t *testing.T) {
		s, err := js.Stream(ctx, "AVATAR")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMsg(ctx, info.State.FirstSeq); err != nil {
			t.Errorf("get message: %v", err)
		}
		if _, err := s.GetLastMsgForSubject(ctx, "avatar.>"); err != nil {
			t.Errorf("get last message: %v", err)
		}
		c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "crm", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "avatar.video.>"})
		if err != nil {
			t.Fatalf("create durable consumer: %v", err)
		}
		batch, err := c.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				t.Errorf("ack: %v", err)
			}
			n++
		}
		if n != int(info.State.Msgs) {
			t.Errorf("fetched %d events, want %d", n, info.State.Msgs)
		}
		ci, err := c.Info(ctx)
		if err != nil || ci.AckFloor.Stream != info.State.LastSeq {
			t.Errorf("consumer info %+v %v, want ack floor %d", ci, err, info.State.LastSeq)
		}
		oc, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatalf("ordered consumer: %v", err)
		}
		if m, err := oc.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || m == nil {
			t.Errorf("ordered consumer next: %v", err)
		}
		if err := s.DeleteConsumer(ctx, "crm"); err != nil {
			t.Errorf("delete consumer: %v", err)
		}
	})

	t.Run("avatarbus tail as the consumer user", func(t *testing.T) {
		t.Setenv("AVATARBUS_NATS_USER", "consumer")
		t.Setenv("AVATARBUS_NATS_PASSWORD", creds.Consumer.Password)
		s, err := js.Stream(ctx, "AVATAR")
		if err != nil {
			t.Fatal(err)
		}
		tail := startCLI(t, "tail", "--json", "--config", cfgPath)
		waitConsumer(t, s, "avatarbus_tail_")
		postEvent(t, url, "msg_tail_consumer", "vid_3")
		if lines := tail.waitLines(t, 1); !strings.Contains(lines[0], "acme:msg_tail_consumer") {
			t.Errorf("tail printed %q", lines[0])
		}
	})
}

// nats.embedded.auth: false lets anonymous clients in, and is warned about: the one test with
// auth off.
func TestEmbeddedNATSAuthOff(t *testing.T) {
	listen, natsAddr := freeAddr(t), freeAddr(t)
	yaml := strings.Replace(acmeConfig(listen, natsAddr, filepath.Join(t.TempDir(), "js")), "  embedded:\n", "  embedded:\n    auth: false\n", 1)
	cfg := mustLoadConfig(t, yaml)
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, "nats.embedded.auth: false") {
		t.Errorf("no warning about auth: false in %q", w)
	}
	startServe(t, cfg)
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatalf("anonymous connect with auth off: %v", err)
	}
	defer nc.Close()
	if _, err := os.Stat(filepath.Join(cfg.NATS.Embedded.StoreDir, "nats-credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file with auth off: %v", err)
	}
	r := runCLI(t, "", "replay", "--dry-run", "--since", "1h", "--config", writeFile(t, t.TempDir(), "c.yaml", yaml))
	if r.err != nil {
		t.Errorf("replay with auth off: %v", r.err)
	}
}

// Passwords given in the config (secret references) replace the generated file; serve and the CLI
// commands use them.
func TestEmbeddedNATSPasswordsFromConfig(t *testing.T) {
	dir := t.TempDir()
	listen, natsAddr := freeAddr(t), freeAddr(t)
	writeFile(t, dir, "avatarbus.pw", "avatarbus-password-from-a-file\n")
	writeFile(t, dir, "consumer.pw", "consumer-password-from-a-file\n")
	yaml := strings.Replace(acmeConfig(listen, natsAddr, filepath.Join(dir, "js")), "  embedded:\n",
		fmt.Sprintf("  embedded:\n    avatarbus_password: \"@%s/avatarbus.pw\"\n    consumer_password: \"@%s/consumer.pw\"\n", dir, dir), 1)
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	cfg := mustLoadConfig(t, yaml)
	startServe(t, cfg)
	postEvent(t, "http://"+listen+"/webhooks/acme", "msg_1", "vid_1")

	if _, err := os.Stat(filepath.Join(dir, "js", "nats-credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file written although the config gives the passwords: %v", err)
	}
	if nc, err := nats.Connect("nats://"+natsAddr, nats.UserInfo("consumer", "consumer-password-from-a-file")); err != nil {
		t.Errorf("consumer with the configured password: %v", err)
	} else {
		nc.Close()
	}
	if _, err := nats.Connect("nats://"+natsAddr, nats.UserInfo("consumer", "wrong")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("consumer with a wrong password: %v, want an authorization error", err)
	}
	if r := runCLI(t, "", "replay", "--dry-run", "--since", "1h", "--config", cfgPath); r.err != nil || r.stdout != "1 events match\n" {
		t.Errorf("replay with the configured password: %q %v", r.stdout, r.err)
	}
}
