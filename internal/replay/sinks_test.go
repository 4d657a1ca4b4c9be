package replay_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/replay"
	"github.com/avatarbus/avatarbus/verify"
)

// swSecret is the secret of the official Standard Webhooks test vector.
const swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestFileSink(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 5)
	var buf bytes.Buffer
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 2}, replay.NewFileSink(&buf), replay.Options{})
	if err != nil || st.Written != 4 {
		t.Fatalf("%+v, %v", st, err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("want 4 lines ending in a newline, got %q", buf.String())
	}
	for i, line := range lines {
		ev, err := envelope.Unmarshal([]byte(line))
		if err != nil {
			t.Fatalf("line %d is not an envelope: %v\n%s", i, err, line)
		}
		stored, err := e.stream.GetMsg(testCtx(t), uint64(i+2))
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != stored.Header.Get(jetstream.MsgIDHeader) {
			t.Errorf("line %d: id %q, want the event of sequence %d", i, ev.ID, i+2)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("line %d: %v", i, err)
		}
		// The stored raw payload was pretty-printed: the line holds the same JSON compacted,
		// HTML characters unescaped.
		var a, b bytes.Buffer
		_ = json.Compact(&a, stored.Data)
		_ = json.Compact(&b, []byte(line))
		if a.String() != line || b.String() != line || !strings.Contains(line, `"html":"<b>&</b>"`) {
			t.Errorf("line %d is not the stored envelope compacted:\n%s\n%s", i, line, stored.Data)
		}
	}
	e.assertNoConsumers(t)
}

func TestJSONLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"a":1, "b": "x y"}`, `{"a":1, "b": "x y"}`}, // no line break: the bytes as stored
		{"{\n \"a\": 1,\r\n \"b\": \"<x>\"\n}", `{"a":1,"b":"<x>"}`},
	} {
		got, err := replay.JSONLine([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("JSONLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := replay.JSONLine([]byte("not json")); err == nil {
		t.Error("JSONLine accepted a body that is not JSON")
	}
}

func TestSubjectSink(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 6)
	ctx := testCtx(t)

	// A plain subscriber, and a stream capturing part of the replay subjects: the replayed messages
	// must be storable (the originals carry Nats-Expected-Stream: AVATAR).
	sub, err := e.nc.SubscribeSync("replay.test.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	captured, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: "REPLAY_TEST", Subjects: []string{"replay.test.>"}, Duplicates: time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	st, err := replay.Run(ctx, e.js, sel, replay.Window{StartSeq: 2}, replay.NewSubjectSink(e.nc, "replay.test"), replay.Options{})
	if err != nil || st.Written != 5 {
		t.Fatalf("%+v, %v", st, err)
	}
	for seq := uint64(2); seq <= 6; seq++ {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("sequence %d not received: %v", seq, err)
		}
		orig, err := e.stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		checkReplayed(t, m, orig, seq)
	}
	if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Errorf("an extra message: %s %s", m.Subject, m.Data)
	}

	info, err := captured.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 5 {
		t.Errorf("stream REPLAY_TEST stored %d replayed messages, want 5", info.State.Msgs)
	}
	// Replaying the same events again into it stores nothing new: replay:<id> deduplicates.
	if _, err := replay.Run(ctx, e.js, sel, replay.Window{StartSeq: 2}, replay.NewSubjectSink(e.nc, "replay.test"), replay.Options{}); err != nil {
		t.Fatal(err)
	}
	if info, _ := captured.Info(ctx); info.State.Msgs != 5 {
		t.Errorf("after a second replay REPLAY_TEST holds %d, want 5", info.State.Msgs)
	}
	// The live stream is untouched.
	if info, _ := e.stream.Info(ctx); info.State.Msgs != 6 {
		t.Errorf("AVATAR holds %d, want 6", info.State.Msgs)
	}
	e.assertNoConsumers(t)
}

// checkReplayed compares a replayed message with the original of sequence seq.
func checkReplayed(t *testing.T, m *nats.Msg, orig *jetstream.RawStreamMsg, seq uint64) {
	t.Helper()
	if m.Subject != "replay.test."+orig.Subject {
		t.Errorf("seq %d: subject %q, want replay.test.%s", seq, m.Subject, orig.Subject)
	}
	if !bytes.Equal(m.Data, orig.Data) {
		t.Errorf("seq %d: body differs from the original", seq)
	}
	id := orig.Header.Get(jetstream.MsgIDHeader)
	want := map[string]string{
		replay.HeaderReplay:           "true",
		replay.HeaderOriginalSequence: strconv.FormatUint(seq, 10),
		replay.HeaderOriginalSubject:  orig.Subject,
		jetstream.MsgIDHeader:         "replay:" + id,
		"Content-Type":                envelope.ContentType,
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("seq %d: header %s = %q, want %q", seq, k, got, v)
		}
	}
	if orig.Header.Get(jetstream.ExpectedStreamHeader) != "AVATAR" {
		t.Errorf("test setup: the original has no %s header", jetstream.ExpectedStreamHeader)
	}
	if v := m.Header.Get(jetstream.ExpectedStreamHeader); v != "" {
		t.Errorf("seq %d: the replay carries %s: %s", seq, jetstream.ExpectedStreamHeader, v)
	}
}

func TestURLSink(t *testing.T) {
	e := newEnv(t)
	e.publishN(t, 5)
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}})
	if err != nil {
		t.Fatal(err)
	}
	type hit struct {
		seq     string
		subject string
		id      string
		ok      bool
		reason  string
	}
	var (
		mu     sync.Mutex
		hits   []hit
		failAt string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, verr := v.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header.Clone()), Body: body, Now: time.Now()})
		h := hit{seq: r.Header.Get(replay.HeaderOriginalSequence), subject: r.Header.Get(replay.HeaderOriginalSubject),
			id: res.MessageID, ok: verr == nil && r.Header.Get(replay.HeaderReplay) == "true"}
		if verr != nil {
			h.reason = verr.Error()
		}
		if ev, err := envelope.Unmarshal(body); err != nil || ev.ID != res.MessageID {
			h.ok, h.reason = false, "body is not the envelope of webhook-id"
		}
		mu.Lock()
		hits = append(hits, h)
		fail := h.seq == failAt
		mu.Unlock()
		if fail {
			http.Error(w, "storage full", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	target := deliver.Target{URL: srv.URL + "/hooks", Secret: swSecret, Timeout: 5 * time.Second}
	if err := target.Validate(); err != nil {
		t.Fatal(err)
	}

	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, replay.NewURLSink(target), replay.Options{})
	if err != nil || st.Written != 5 {
		t.Fatalf("%+v, %v", st, err)
	}
	for i, h := range hits {
		if !h.ok || h.seq != strconv.Itoa(i+1) || h.subject != "avatar.video.completed.heygen" || !strings.HasPrefix(h.id, "heygen:evt_") {
			t.Errorf("request %d: %+v", i, h)
		}
	}

	// A 500 stops the replay there, naming the sequence.
	mu.Lock()
	hits, failAt = nil, "3"
	mu.Unlock()
	st, err = replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, replay.NewURLSink(target), replay.Options{})
	var we *replay.WriteError
	var se *deliver.StatusError
	if !errors.As(err, &we) || we.Sequence != 3 || !errors.Is(err, replay.ErrSink) || !errors.As(err, &se) || se.Status != 500 {
		t.Fatalf("error %v, want a WriteError at sequence 3 with HTTP 500", err)
	}
	for _, w := range []string{"sequence 3", "HTTP 500", "storage full"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if st.Written != 2 || len(hits) != 3 {
		t.Errorf("written %d, requests %d; want 2 written, 3 requests (nothing after the failure)", st.Written, len(hits))
	}
	e.assertNoConsumers(t)
}

// TestFileSinkOrder checks a larger replay keeps stream order and count (several pull batches).
func TestFileSinkOrder(t *testing.T) {
	e := newEnv(t)
	const n = 1200
	for i := 0; i < n; i++ {
		e.publish(t, envelope.TypeVideoCompleted, "heygen")
	}
	var buf bytes.Buffer
	st, err := replay.Run(testCtx(t), e.js, sel, replay.Window{StartSeq: 1}, replay.NewFileSink(&buf), replay.Options{})
	if err != nil || st.Written != n || st.FirstSeq != 1 || st.LastSeq != n {
		t.Fatalf("%+v, %v", st, err)
	}
	sc := bufio.NewScanner(&buf)
	i := 0
	for sc.Scan() {
		i++
		ev, err := envelope.Unmarshal(sc.Bytes())
		if err != nil || ev.Data.ResourceID != "res_"+pad3(i) {
			t.Fatalf("line %d: %v %+v", i, err, ev)
		}
	}
	if i != n {
		t.Fatalf("%d lines, want %d", i, n)
	}
}

func pad3(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}
