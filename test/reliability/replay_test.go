package reliability_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/test/reliability"
)

// clock is a settable ingest clock.
type clock struct{ unix atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *clock) Set(t time.Time)         { c.unix.Store(t.Unix()) }
func (c *clock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// captured is a request as an attacker recorded it on the wire: sent again byte for byte.
type captured struct {
	url    string
	header http.Header
	body   []byte
}

func capture(t *testing.T, req *http.Request) captured {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return captured{url: req.URL.String(), header: req.Header.Clone(), body: body}
}

// send posts the captured request and returns the status and the decoded JSON answer.
func (c captured) send(t *testing.T) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, answer
}

// TestReplayAttacks captures a valid signed request of each timestamped scheme and replays it: inside
// the scheme's tolerance the replay is the same event (200 duplicate:true, nothing new stored),
// after it the request is refused (401 timestamp_out_of_tolerance). The stream ends with one
// message per event.
func TestReplayAttacks(t *testing.T) {
	skipShort(t)
	var now clock
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	st := startStack(t, reliability.StackConfig{Now: now.Now})
	js := embeddedJetStream(t, st)
	tests := []struct {
		source    string
		tolerance time.Duration
		body      string
		id        string
	}{
		{reliability.LoadSource, 5 * time.Minute, `{"type":"video.done","data":{"id":"v_replay"}}`, "load:msg_replay"},
		{reliability.ElevenLabsSource, 30 * time.Minute, `{"type":"post_call_transcription","data":{"conversation_id":"conv_replay"}}`,
			"elevenlabs:post_call_transcription:conv_replay"},
		{reliability.SynthesiaSource, 10 * time.Minute, `{"type":"video.completed","data":{"id":"vid_replay"}}`,
			"synthesia:video.completed:vid_replay"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			now.Set(start)
			req, err := reliability.SignedRequest(st.URL, tt.source, "msg_replay", start, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			c := capture(t, req)
			if status, a := c.send(t); status != 200 || a["duplicate"] != false || a["id"] != tt.id {
				t.Fatalf("original: %d %v", status, a)
			}
			now.Advance(tt.tolerance - time.Minute)
			if status, a := c.send(t); status != 200 || a["duplicate"] != true || a["id"] != tt.id {
				t.Fatalf("replay inside the tolerance: %d %v, want 200 duplicate", status, a)
			}
			now.Advance(2 * time.Minute) // one minute past the tolerance
			if status, a := c.send(t); status != 401 || a["error"] != "timestamp_out_of_tolerance" {
				t.Fatalf("replay after the tolerance: %d %v, want 401 timestamp_out_of_tolerance", status, a)
			}
		})
	}
	ids := storedIDs(t, js)
	for _, tt := range tests {
		if ids[tt.id] != 1 {
			t.Errorf("%s stored %d times, want 1", tt.id, ids[tt.id])
		}
	}
	if len(ids) != len(tests) {
		t.Errorf("stream holds %v, want one message per event", ids)
	}
}

// TestReplayWithoutTimestamp shows the limit of schemes that sign no time: tokens, and HeyGen, whose
// Heygen-Timestamp is checked but not signed. A captured HeyGen request replayed a day later as it
// was is refused for its timestamp; but whoever captured it can write a fresh Heygen-Timestamp, and
// then, as for a token, only the dedup window (48h by default) keeps it from being stored again.
// Inside the window it is a duplicate.
func TestReplayWithoutTimestamp(t *testing.T) {
	skipShort(t)
	var now clock
	now.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	st := startStack(t, reliability.StackConfig{Now: now.Now})
	js := embeddedJetStream(t, st)
	body := []byte(`{"event_type":"avatar_video.success","event_data":{"video_id":"v_replay","url":"https://x/v.mp4"}}`)
	for _, source := range []string{reliability.HeyGenSource, reliability.TokenSource} {
		now.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
		req, err := reliability.SignedRequest(st.URL, source, "", now.Now(), body)
		if err != nil {
			t.Fatal(err)
		}
		c := capture(t, req)
		if status, a := c.send(t); status != 200 || a["duplicate"] != false {
			t.Fatalf("%s original: %d %v", source, status, a)
		}
		now.Advance(24 * time.Hour) // far past any tolerance; the stream's clock has not moved
		if source == reliability.HeyGenSource {
			if status, a := c.send(t); status != 401 || a["error"] != "timestamp_out_of_tolerance" {
				t.Fatalf("heygen replay a day later with its own timestamp: %d %v, want 401 timestamp_out_of_tolerance", status, a)
			}
			c.header.Set("Heygen-Timestamp", strconv.FormatInt(now.Now().Unix(), 10)) // unsigned: anyone can
		}
		if status, a := c.send(t); status != 200 || a["duplicate"] != true {
			t.Fatalf("%s replay a day later (inside the dedup window): %d %v, want 200 duplicate", source, status, a)
		}
	}
	if ids := storedIDs(t, js); len(ids) != 2 {
		t.Fatalf("stream holds %v, want one message per source", ids)
	}
}
