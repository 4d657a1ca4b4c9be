package ingest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/offload"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

const elevenSecret = "wsec_objects-test-secret"

// objectsSources are the sources of the offload tests: ElevenLabs with its large fields
// offloaded, and a Standard Webhooks source with a large body limit and no opt-in.
func objectsSources(t *testing.T) []ingest.Source {
	t.Helper()
	eleven := preset(t, "elevenlabs")
	large := platform.LargeFieldsOf(eleven)
	if large.MaxBody < 100<<20 || large.OffloadAbove != 512<<10 || len(large.Fields) != 1 {
		t.Fatalf("elevenlabs large fields: %+v", large)
	}
	ev := eleven.DefaultVerify()
	ev.Secrets = []string{elevenSecret}
	sources := []ingest.Source{
		{Name: "voice", Preset: eleven, Verifier: mustVerifier(t, ev), MaxBody: large.MaxBody,
			Offload: offload.Policy{Above: large.OffloadAbove, Fields: large.Fields}},
		// No opt-in: offloaded only because the event would not fit in a message.
		{Name: "acme", Preset: preset(t, "standardwebhooks"), MaxBody: 8 << 20,
			Verifier: mustVerifier(t, verify.Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}}),
			Events:   map[string]string{"video.done": envelope.TypeVideoCompleted}},
	}
	return sources
}

// signElevenLabs signs as ElevenLabs documents it (HMAC-SHA256 of "<t>.<body>", hex, in
// `ElevenLabs-Signature: t=<t>,v0=<hex>`), computed here rather than with package verify.
func signElevenLabs(body []byte, at time.Time) http.Header {
	t := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(elevenSecret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("ElevenLabs-Signature", "t="+t+",v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// postBytes posts body with a client patient enough for tens of MiB under -race.
func postBytes(t *testing.T, url string, h http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return a
}

// lastEvent returns the stored event on subject and the size of its message.
func lastEvent(t *testing.T, js jetstream.JetStream, subject string) (*envelope.Event, int) {
	t.Helper()
	msg, ev := lastStored(t, js, subject)
	return ev, len(msg.Data)
}

func objectCount(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	store, err := js.ObjectStore(context.Background(), "AVATAR_OBJECTS")
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List(context.Background())
	if err != nil && err != jetstream.ErrNoObjectsFound {
		t.Fatal(err)
	}
	return len(list)
}

func getObject(t *testing.T, o *broker.Objects, url string) ([]byte, broker.ObjectInfo) {
	t.Helper()
	_, name, err := broker.ParseRef(url)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := o.Get(context.Background(), name, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info
}

// TestCallAudioIsStoredByReference: a 30 MiB call recording (40 MiB of base64, 40 times NATS's max
// payload) is stored: the audio decoded in the object store, the event small and pointing at it.
// Its redelivery is a duplicate and leaves one object.
func TestCallAudioIsStoredByReference(t *testing.T) {
	if testing.Short() {
		t.Skip("posts a 40 MiB body; skipped under -short")
	}
	t.Parallel()
	st := startStack(t, stackOptions{objects: true, sources: objectsSources(t)})
	audio := make([]byte, 30<<20)
	rand.Read(audio)
	body := []byte(`{"type":"post_call_audio","event_timestamp":1764151200,"data":{"agent_id":"agent_1","conversation_id":"conv_big","full_audio":"` +
		base64.StdEncoding.EncodeToString(audio) + `"}}`)

	a := postBytes(t, st.url+"/webhooks/voice", signElevenLabs(body, time.Now()), body)
	if a.status != http.StatusOK || a.body["duplicate"] != false {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	ev, size := lastEvent(t, st.js, a.body["subject"].(string))
	if size > 4<<10 {
		t.Errorf("stored message is %d bytes; want a small event", size)
	}
	id := ev.ID
	wantURL := "nats://AVATAR_OBJECTS/" + id + "/data/full_audio"
	if ev.Data.MediaURL != wantURL {
		t.Errorf("media_url = %q, want %q", ev.Data.MediaURL, wantURL)
	}
	want := []envelope.Object{{Path: "/data/full_audio", URL: wantURL, Size: 30 << 20, Digest: broker.Digest(audio), ContentType: "audio/mpeg"}}
	if fmt.Sprint(ev.Data.Objects) != fmt.Sprint(want) {
		t.Errorf("data.objects = %+v\nwant %+v", ev.Data.Objects, want)
	}
	var raw struct {
		Type string
		Data map[string]string
	}
	if err := json.Unmarshal(ev.Data.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Type != "post_call_audio" || raw.Data["full_audio"] != wantURL || raw.Data["conversation_id"] != "conv_big" || raw.Data["agent_id"] != "agent_1" {
		t.Errorf("raw = %s", ev.Data.Raw)
	}
	got, info := getObject(t, st.objects, ev.Data.MediaURL)
	if !bytes.Equal(got, audio) || info.ContentType != "audio/mpeg" || info.Digest != want[0].Digest {
		t.Errorf("object read back: %d bytes, equal %v, info %+v", len(got), bytes.Equal(got, audio), info)
	}

	a = postBytes(t, st.url+"/webhooks/voice", signElevenLabs(body, time.Now()), body)
	if a.status != http.StatusOK || a.body["duplicate"] != true || a.body["id"] != id {
		t.Fatalf("redelivery: status %d %v", a.status, a.body)
	}
	if n := streamMsgs(t, st.js); n != 1 {
		t.Errorf("stream holds %d events, want 1", n)
	}
	if n := objectCount(t, st.js); n != 1 {
		t.Errorf("bucket holds %d objects, want 1", n)
	}
}

// TestObjectStoreDownIs503: without the bucket, or without NATS, nothing can be referred to, so
// nothing is published and the platform is told to retry, at once.
func TestObjectStoreDownIs503(t *testing.T) {
	t.Parallel()
	audio := make([]byte, 600<<10) // over the preset's 512 KiB threshold, under the max payload
	body := []byte(`{"type":"post_call_audio","data":{"conversation_id":"conv_down","full_audio":"` + base64.StdEncoding.EncodeToString(audio) + `"}}`)
	refused := func(t *testing.T, st *stack) {
		t.Helper()
		start := time.Now()
		a := postBytes(t, st.url+"/webhooks/voice", signElevenLabs(body, time.Now()), body)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("status %d %v %v", a.status, a.header, a.body)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("503 after %s; want it within 2s", took)
		}
	}
	t.Run("bucket deleted", func(t *testing.T) {
		st := startStack(t, stackOptions{objects: true, sources: objectsSources(t)})
		if err := st.js.DeleteObjectStore(context.Background(), "AVATAR_OBJECTS"); err != nil {
			t.Fatal(err)
		}
		refused(t, st)
		if n := streamMsgs(t, st.js); n != 0 {
			t.Errorf("stream holds %d events, want none", n)
		}
	})
	t.Run("server stopped", func(t *testing.T) {
		st := startStack(t, stackOptions{objects: true, sources: objectsSources(t)})
		brokertest.Stop(st.srv)
		refused(t, st)
	})
}

// TestTooLargeForAMessageIsOffloadedForAnySource: a source that did not opt in still stores a body
// larger than NATS's max payload, instead of answering 503 forever: its largest string, or the
// whole payload when no string is large (many small fields, or a body that is not JSON).
func TestTooLargeForAMessageIsOffloadedForAnySource(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{objects: true, sources: objectsSources(t)})
	transcript := strings.Repeat("a line of the transcript <b>&amp;</b> \u00e9\n", 80_000) // ~3 MiB
	many := make([]string, 6000)
	for i := range many {
		many[i] = fmt.Sprintf(`"f%d":%q`, i, strings.Repeat("x", 500))
	}
	notJSON := bytes.Repeat([]byte("not json \x00\xff "), 300_000) // ~3.3 MiB
	tests := []struct {
		name     string
		body     []byte
		wantPath string
		wantType string
		want     []byte // the object's content
	}{{
		name:     "large string",
		body:     []byte(`{"type":"video.done","data":{"id":"vid_big","transcript":` + string(must(json.Marshal(transcript))) + `}}`),
		wantPath: "/data/transcript", wantType: "text/plain; charset=utf-8", want: []byte(transcript),
	}, {
		name:     "many small fields",
		body:     []byte(`{"type":"video.done","data":{"id":"vid_many",` + strings.Join(many, ",") + `}}`),
		wantPath: "", wantType: "application/json",
	}, {
		name:     "not JSON",
		body:     notJSON,
		wantPath: "", wantType: "application/octet-stream", want: notJSON,
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgID := fmt.Sprintf("msg_big_%d", i)
			h := signedSW(t, msgID, time.Now(), string(tt.body))
			h.Del("Content-Type")
			if tt.wantPath != "" || tt.want == nil {
				h.Set("Content-Type", "application/json")
			}
			a := postBytes(t, st.url+"/webhooks/acme", h, tt.body)
			if a.status != http.StatusOK {
				t.Fatalf("status %d %v", a.status, a.body)
			}
			ev, size := lastEvent(t, st.js, a.body["subject"].(string))
			if ev.ID != "acme:"+msgID || size > 1<<20 {
				t.Fatalf("stored %s, %d bytes", ev.ID, size)
			}
			if len(ev.Data.Objects) != 1 {
				t.Fatalf("data.objects = %+v", ev.Data.Objects)
			}
			obj := ev.Data.Objects[0]
			if obj.Path != tt.wantPath || obj.ContentType != tt.wantType || obj.URL != "nats://AVATAR_OBJECTS/"+ev.ID+obj.Path {
				t.Errorf("object %+v", obj)
			}
			got, info := getObject(t, st.objects, obj.URL)
			if info.Size != obj.Size || info.Digest != obj.Digest || int64(len(got)) != obj.Size {
				t.Errorf("object info %+v, listed %+v", info, obj)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("object holds %d bytes, want %d", len(got), len(tt.want))
			}
			if tt.wantPath == "" {
				var ref string
				if err := json.Unmarshal(ev.Data.Raw, &ref); err != nil || ref != obj.URL {
					t.Errorf("raw = %.200s, want the reference", ev.Data.Raw)
				}
			}
			switch tt.name {
			case "large string": // the rest of the payload stays in the event
				var raw struct{ Data map[string]string }
				if err := json.Unmarshal(ev.Data.Raw, &raw); err != nil || raw.Data["transcript"] != obj.URL || raw.Data["id"] != "vid_big" {
					t.Errorf("raw = %.300s (%v)", ev.Data.Raw, err)
				}
			case "many small fields": // the stored payload is the original JSON
				if !json.Valid(got) || !bytes.Equal(got, tt.body) {
					t.Errorf("stored payload differs from the body (%d bytes, want %d)", len(got), len(tt.body))
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
