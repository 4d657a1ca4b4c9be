package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/deliver"
	"github.com/avatarbus/avatarbus/subjects"
)

// JSONLine returns data, one JSON value, as one line of JSONL without the newline: the bytes as
// stored when they hold no line break (the usual case), else compacted with json.Compact (only
// insignificant whitespace goes). It fails when data is not JSON.
func JSONLine(data []byte) ([]byte, error) {
	if !json.Valid(data) {
		return nil, errors.New("body is not JSON")
	}
	if !bytes.ContainsAny(data, "\r\n") {
		return data, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// fileSink writes JSONL.
type fileSink struct {
	w *bufio.Writer
}

// NewFileSink returns a Sink that writes one envelope per line (JSONL) to w: the stored envelope
// bytes as JSONLine gives them. Only the envelope is written — not the NATS headers, not the replay
// headers — so each line reads with envelope.Unmarshal or any CloudEvents JSON reader. Writes are
// buffered; Close flushes them but does not close w.
func NewFileSink(w io.Writer) Sink {
	return &fileSink{w: bufio.NewWriterSize(w, 64<<10)}
}

func (s *fileSink) Write(_ context.Context, m Message) error {
	line, err := JSONLine(m.Data)
	if err != nil {
		return err
	}
	if _, err := s.w.Write(line); err != nil {
		return err
	}
	return s.w.WriteByte('\n')
}

func (s *fileSink) Close() error { return s.w.Flush() }

// subjectSink publishes on other subjects.
type subjectSink struct {
	nc     *nats.Conn
	prefix string
	n      int
}

// subjectFlushEvery bounds how many publishes may be in the client's buffer before the subject
// sink waits for the server to have them (and reports a lost connection).
const subjectFlushEvery = 256

// flushTimeout bounds one flush of the subject sink.
const flushTimeout = 10 * time.Second

// NewSubjectSink returns a Sink that publishes each message with core NATS on prefix + "." + its
// original subject (replay.debug.avatar.video.completed.heygen for prefix replay.debug), with the
// original body and headers plus the replay headers. NATS control headers of the original
// (Nats-Expected-Stream and the like, which would make a stream on the new subject refuse it) are
// not copied, and Nats-Msg-Id becomes "replay:" + the original id, so that a stream capturing the
// replay subjects stores each event once per its duplicate window. It flushes every few hundred
// messages and on Close; nc stays open.
//
// The caller checks prefix: valid subject tokens, and not the live prefix (the replay would be
// stored in the live stream again).
func NewSubjectSink(nc *nats.Conn, prefix string) Sink {
	return &subjectSink{nc: nc, prefix: strings.TrimSuffix(prefix, ".")}
}

func (s *subjectSink) Write(ctx context.Context, m Message) error {
	h := make(nats.Header, len(m.Header))
	for k, vs := range m.Header {
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		h[k] = vs
	}
	if id := originalID(m); id != "" {
		h.Set(jetstream.MsgIDHeader, "replay:"+id)
	}
	msg := &nats.Msg{Subject: subjects.Under(s.prefix, m.Subject), Header: h, Data: m.Data}
	if err := s.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("publish on %s: %w", msg.Subject, err)
	}
	s.n++
	if s.n%subjectFlushEvery == 0 {
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		defer cancel()
		if err := s.nc.FlushWithContext(fctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

func (s *subjectSink) Close() error {
	if err := s.nc.FlushTimeout(flushTimeout); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// originalID is the event id of m: the envelope's, else the stored Nats-Msg-Id.
func originalID(m Message) string {
	if m.Event != nil && m.Event.ID != "" {
		return m.Event.ID
	}
	return m.Header.Get(jetstream.MsgIDHeader)
}

// urlSink POSTs to an HTTP endpoint.
type urlSink struct {
	t deliver.Target
}

// NewURLSink returns a Sink that POSTs each envelope to t with deliver.Post (signed with
// Standard Webhooks headers when t has a secret; webhook-id = the event id), adding the replay
// headers as HTTP headers. Any answer other than 2xx, or no answer, is an error: the replay stops
// there, without retrying. The caller validates t (deliver.Target.Validate).
func NewURLSink(t deliver.Target) Sink {
	return &urlSink{t: t}
}

func (s *urlSink) Write(ctx context.Context, m Message) error {
	h := http.Header{}
	for _, k := range []string{HeaderReplay, HeaderOriginalSequence, HeaderOriginalSubject} {
		if v := m.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	id := originalID(m)
	if id == "" {
		id = "seq-" + strconv.FormatUint(m.Sequence, 10)
	}
	return deliver.Post(ctx, s.t, id, m.Data, h)
}

func (s *urlSink) Close() error { return nil }
