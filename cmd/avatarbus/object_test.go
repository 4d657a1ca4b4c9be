package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
)

// TestObjectCommand: serve stores an ElevenLabs call recording larger than the default max_body
// and than a NATS message (the preset's defaults apply), and `avatarbus object get` downloads it
// as it was, checking the digest; `object info` describes it. A source opting in with offload_above
// stores a body that would have fitted.
func TestObjectCommand(t *testing.T) {
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	const secret = "wsec_object-command"
	yaml := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream")) + `    offload_above: 1KiB
  - name: voice
    platform: elevenlabs
    secrets: ["` + secret + `"]
`
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))
	_, stream := avatarStream(t, natsListen)

	audio := make([]byte, 3<<20)
	rand.Read(audio)
	body := `{"type":"post_call_audio","event_timestamp":1764151200,"data":{"agent_id":"a1","conversation_id":"conv_cli","full_audio":"` +
		base64.StdEncoding.EncodeToString(audio) + `"}}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("ElevenLabs-Signature", "t="+ts+",v0="+hex.EncodeToString(mac.Sum(nil)))
	if a := postWebhook(t, "http://"+listen+"/webhooks/voice", signedRequest{header: h, body: body}); a.status != http.StatusOK {
		t.Fatalf("POST: %d %s", a.status, a.raw)
	}
	msg, err := stream.GetLastMsgForSubject(context.Background(), "avatar.conversation.recording_ready.elevenlabs")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := envelope.Unmarshal(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	url := ev.Data.MediaURL
	if url != "nats://AVATAR_OBJECTS/elevenlabs:post_call_audio:conv_cli/data/full_audio" || len(ev.Data.Objects) != 1 {
		t.Fatalf("media_url %q, objects %+v", url, ev.Data.Objects)
	}

	out := filepath.Join(dir, "call.mp3")
	r := runCLI(t, "", "object", "get", url, "--out", out, "--config", cfgPath)
	if r.err != nil {
		t.Fatalf("object get: %v\n%s", r.err, r.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, audio) {
		t.Fatalf("downloaded %d bytes (%v), equal %v", len(got), err, bytes.Equal(got, audio))
	}
	digest := broker.Digest(audio)
	if want := fmt.Sprintf("%d bytes, digest %s verified, written to %s", len(audio), digest, out); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".call.mp3.*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// A bare name is looked up in the configured bucket; stdout gets the bytes with --out -.
	// Without the config, the login comes from the environment: the consumer user may read objects.
	name := strings.TrimPrefix(url, "nats://AVATAR_OBJECTS/")
	t.Setenv("AVATARBUS_NATS_USER", broker.ConsumerUser)
	t.Setenv("AVATARBUS_NATS_PASSWORD", embeddedCredentials(t, natsListen).Consumer.Password)
	r = runCLI(t, "", "object", "get", name, "--out", "-", "--nats-url", "nats://"+natsListen)
	if r.err != nil || r.stdout != string(audio) {
		t.Fatalf("object get to stdout: %v, %d bytes", r.err, len(r.stdout))
	}
	r = runCLI(t, "", "object", "info", url, "--config", cfgPath)
	for _, want := range []string{"size:         3145728", "digest:       " + digest, "content_type: audio/mpeg", "name:         " + name} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("object info: %v\n%s\nwant %q", r.err, r.stdout, want)
		}
	}

	// offload_above: 1KiB on acme: a 4 KiB string is stored apart although the event would fit.
	note := strings.Repeat("n", 4096)
	postEventBody := fmt.Sprintf(`{"type":"video.done","data":{"id":"vid_note","note":%q}}`, note)
	if a := postWebhook(t, "http://"+listen+"/webhooks/acme", newSignedRequest(t, "msg_note", time.Now(), postEventBody)); a.status != http.StatusOK {
		t.Fatalf("POST acme: %d %s", a.status, a.raw)
	}
	msg, err = stream.GetLastMsgForSubject(context.Background(), "avatar.video.completed.acme")
	if err != nil {
		t.Fatal(err)
	}
	ev, _ = envelope.Unmarshal(msg.Data)
	if len(ev.Data.Objects) != 1 || ev.Data.Objects[0].Path != "/data/note" || ev.Data.MediaURL != "" {
		t.Fatalf("acme objects %+v, media_url %q", ev.Data.Objects, ev.Data.MediaURL)
	}
	r = runCLI(t, "", "object", "get", ev.Data.Objects[0].URL, "--config", cfgPath)
	if r.err != nil || r.stdout != note {
		t.Errorf("note: %v %q", r.err, r.stdout)
	}

	// Failures: no such object (exit 1), not a reference (exit 2).
	r = runCLI(t, "", "object", "get", "nats://AVATAR_OBJECTS/nope", "--config", cfgPath)
	if r.code() != 1 || !strings.Contains(r.err.Error(), "not found") {
		t.Errorf("missing object: exit %d, %v", r.code(), r.err)
	}
	r = runCLI(t, "", "object", "info", "nats://AVATAR_OBJECTS", "--config", cfgPath)
	if r.code() != 2 || !strings.Contains(r.err.Error(), "not an object reference") {
		t.Errorf("bad reference: exit %d, %v", r.code(), r.err)
	}
}
