// Package replay reads a window of the AVATAR stream again — into a JSONL file, onto other
// subjects, or to an HTTP endpoint — and follows the stream live for `avatarbus tail`.
//
// It never disturbs the stream's consumers: it reads through an ordered consumer (ephemeral, in
// memory, no acks, named avatarbus_replay_… or avatarbus_tail_…) that it deletes when it is done,
// never creates a durable consumer and never acknowledges anything, so the durable consumers of
// production services keep their positions and their pending counts.
//
// A replay is a snapshot: it stops at the last sequence the stream held when the replay started
// (or earlier, at Window.Until), so events stored while it runs are not included.
package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/subjects"
)

// Headers every replayed message carries (the subject and URL sinks send them; a JSONL file holds
// the envelope only, so they are not in it).
const (
	HeaderReplay           = "Avatarbus-Replay"            // "true"
	HeaderOriginalSequence = "Avatarbus-Original-Sequence" // the stream sequence it was read from
	HeaderOriginalSubject  = "Avatarbus-Original-Subject"  // the subject it was stored on
)

// Defaults of a Selection.
const (
	DefaultStream = subjects.DefaultStream
	DefaultPrefix = subjects.CanonicalRoot
)

// ErrInvalid is wrapped by the errors of Selection.Validate and Window.Validate.
var ErrInvalid = errors.New("replay: invalid request")

// ErrSink is wrapped by every error that comes from the sink: a write that failed (a *WriteError)
// or a Close that did. A replay that stopped on it is incomplete; resume from the failed sequence.
var ErrSink = errors.New("replay: sink failed")

// WriteError is a write the sink refused: the replay stopped there and nothing after it was sent.
type WriteError struct {
	Sequence uint64 // stream sequence of the message that failed
	Subject  string // its subject
	Err      error  // what the sink said
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("sequence %d (%s): %v", e.Sequence, e.Subject, e.Err)
}

// Unwrap makes a WriteError match ErrSink and its cause.
func (e *WriteError) Unwrap() []error { return []error{ErrSink, e.Err} }

// Window is the part of the stream a replay reads.
type Window struct {
	// StartSeq is the first sequence to read, or 0. Exactly one of StartSeq and Since is set.
	StartSeq uint64
	// Since is the first time (the time JetStream stored a message) to read, or zero.
	Since time.Time
	// Until stops the replay before the first message stored after it; zero means no time limit.
	// Either way a replay stops at the stream's last sequence at its start: it never follows live
	// traffic.
	Until time.Time
}

// Validate reports a window that is not usable, wrapping ErrInvalid.
func (w Window) Validate() error {
	switch {
	case w.StartSeq == 0 && w.Since.IsZero():
		return fmt.Errorf("%w: a start is required: a sequence or a time", ErrInvalid)
	case w.StartSeq != 0 && !w.Since.IsZero():
		return fmt.Errorf("%w: start at a sequence or at a time, not both", ErrInvalid)
	case !w.Until.IsZero() && !w.Since.IsZero() && w.Until.Before(w.Since):
		return fmt.Errorf("%w: until %s is before since %s", ErrInvalid,
			w.Until.UTC().Format(time.RFC3339), w.Since.UTC().Format(time.RFC3339))
	}
	return nil
}

// Selection says which messages of which stream a replay or a tail reads.
type Selection struct {
	Stream string // stream name; "" means DefaultStream
	Prefix string // subject prefix of the stream; "" means DefaultPrefix
	// Filter is a NATS subject filter (wildcards allowed) under Prefix. "" means the narrowest
	// filter Type and Platform allow (<prefix>.> without them).
	Filter string
	// Platform and Type (a canonical type such as avatar.video.completed) further select
	// messages; each message's subject is read back with subjects.Parse and compared.
	Platform, Type string
}

// normalized returns s with its defaults applied.
func (s Selection) normalized() Selection {
	if s.Stream == "" {
		s.Stream = DefaultStream
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.Filter == "" {
		s.Filter = subjects.Filter{Type: s.Type, Platform: s.Platform}.Subject(s.Prefix)
	}
	return s
}

// Validate reports a selection that is not usable, wrapping ErrInvalid.
func (s Selection) Validate() error {
	s = s.normalized()
	if err := subjects.ValidToken(s.Prefix); err != nil {
		return fmt.Errorf("%w: prefix: %w", ErrInvalid, err)
	}
	if err := validFilter(s.Filter); err != nil {
		return fmt.Errorf("%w: filter %q: %w", ErrInvalid, s.Filter, err)
	}
	if first, _, _ := strings.Cut(s.Filter, "."); first != s.Prefix && first != "*" && first != ">" {
		return fmt.Errorf("%w: filter %q is outside the stream's subjects %s.>", ErrInvalid, s.Filter, s.Prefix)
	}
	if s.Platform != "" {
		if err := subjects.ValidToken(s.Platform); err != nil {
			return fmt.Errorf("%w: platform: %w", ErrInvalid, err)
		}
	}
	if s.Type != "" {
		if _, err := subjects.For(s.Prefix, s.Type, "x"); err != nil {
			return fmt.Errorf("%w: type: %w", ErrInvalid, err)
		}
	}
	return nil
}

// validFilter checks the syntax of a NATS subject filter.
func validFilter(f string) error {
	toks := strings.Split(f, ".")
	for i, tok := range toks {
		switch {
		case tok == "*":
		case tok == ">":
			if i != len(toks)-1 {
				return errors.New("'>' must be the last token")
			}
		default:
			if err := subjects.ValidToken(tok); err != nil {
				return err
			}
		}
	}
	return nil
}

// match reports whether subject passes the Platform and Type checks of s.
func (s Selection) match(subject string) bool {
	if s.Platform == "" && s.Type == "" {
		return true
	}
	typ, platform, err := subjects.Parse(s.Prefix, subject)
	if err != nil {
		return false
	}
	return (s.Type == "" || s.Type == typ) && (s.Platform == "" || s.Platform == platform)
}

// Message is one message read from the stream.
type Message struct {
	Subject  string
	Sequence uint64    // stream sequence
	Time     time.Time // when JetStream stored it
	// Header holds the stored headers; a replay adds HeaderReplay, HeaderOriginalSequence and
	// HeaderOriginalSubject. It is the message's own copy.
	Header nats.Header
	Data   []byte          // the stored body: the envelope JSON
	Event  *envelope.Event // Data decoded, or nil when it is not an envelope
}

// Sink receives the messages of a replay in stream order. Run calls Write once per matching
// message and Close once at the end; an error from either stops the replay.
type Sink interface {
	Write(ctx context.Context, m Message) error
	Close() error
}

// Options tune Run.
type Options struct {
	// Rate caps writes per second; 0 means unlimited.
	Rate float64
	// Progress, when set, is called after each message read from the stream: done messages read
	// (matching or not) of about total. total is the consumer's pending count at the start, an
	// upper bound; the last call has done == total.
	Progress func(done, total int)
}

// Stats says what a replay did.
type Stats struct {
	Matched int // messages in the window that matched the selection
	Written int // messages the sink accepted
	// FirstSeq and LastSeq are the sequences of the first and last message written (0 when none).
	FirstSeq, LastSeq uint64
}

// Count returns how many messages Run would write with sel and w (a dry run). It reads headers
// only.
func Count(ctx context.Context, js jetstream.JetStream, sel Selection, w Window) (int, error) {
	n := 0
	err := scan(ctx, js, sel, w, true, nil, func(jetstream.Msg, *jetstream.MsgMetadata) error {
		n++
		return nil
	})
	return n, err
}

// Run replays the messages of sel inside w to sink, in stream order, at most opts.Rate per second,
// and closes sink. It stops at the first error of the sink (wrapping ErrSink, a *WriteError naming
// the sequence) or when ctx ends (ctx's error); Stats counts what was done until then.
func Run(ctx context.Context, js jetstream.JetStream, sel Selection, w Window, sink Sink, opts Options) (st Stats, err error) {
	if sink == nil {
		return st, fmt.Errorf("%w: no sink", ErrInvalid)
	}
	defer func() {
		if cerr := sink.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%w: close: %w", ErrSink, cerr)
		}
	}()
	if opts.Rate < 0 {
		return st, fmt.Errorf("%w: negative rate", ErrInvalid)
	}
	p := pacer{}
	if opts.Rate > 0 {
		p.interval = time.Duration(float64(time.Second) / opts.Rate)
	}
	sel = sel.normalized()
	err = scan(ctx, js, sel, w, false, opts.Progress, func(msg jetstream.Msg, meta *jetstream.MsgMetadata) error {
		st.Matched++
		if err := p.wait(ctx); err != nil {
			return err
		}
		m := toMessage(msg, meta)
		m.Header.Set(HeaderReplay, "true")
		m.Header.Set(HeaderOriginalSequence, strconv.FormatUint(m.Sequence, 10))
		m.Header.Set(HeaderOriginalSubject, m.Subject)
		if err := sink.Write(ctx, m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &WriteError{Sequence: m.Sequence, Subject: m.Subject, Err: err}
		}
		st.Written++
		if st.FirstSeq == 0 {
			st.FirstSeq = m.Sequence
		}
		st.LastSeq = m.Sequence
		return nil
	})
	return st, err
}

// scan reads the window and calls fn for each message that matches sel, in order.
func scan(ctx context.Context, js jetstream.JetStream, sel Selection, w Window, headersOnly bool,
	progress func(done, total int), fn func(jetstream.Msg, *jetstream.MsgMetadata) error) (err error) {
	if err := sel.Validate(); err != nil {
		return err
	}
	if err := w.Validate(); err != nil {
		return err
	}
	sel = sel.normalized()
	stream, err := js.Stream(ctx, sel.Stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", sel.Stream, err)
	}
	lastSeq := stream.CachedInfo().State.LastSeq // the snapshot
	if lastSeq == 0 || w.StartSeq > lastSeq {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{sel.Filter}, HeadersOnly: headersOnly}
	if w.StartSeq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, w.StartSeq
	} else {
		since := w.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	r, err := openReader(ctx, stream, "avatarbus_replay", cfg)
	if err != nil {
		return err
	}
	defer r.close()

	total := int(r.pending)
	done := 0
	report := func() {
		if progress != nil {
			total = max(total, done)
			progress(done, total)
		}
	}
	defer func() {
		if err == nil {
			total = done // the end: whatever was still pending lay outside the window
			report()
		}
	}()
	if r.pending == 0 {
		return nil
	}
	for {
		msg, err := r.next(ctx)
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("stream %s: message metadata: %w", sel.Stream, err)
		}
		seq := meta.Sequence.Stream
		if seq > lastSeq || (!w.Until.IsZero() && meta.Timestamp.After(w.Until)) {
			return nil
		}
		done++
		if sel.match(msg.Subject()) {
			if err := fn(msg, meta); err != nil {
				return err
			}
		}
		report()
		if seq == lastSeq || meta.NumPending == 0 {
			return nil
		}
	}
}

// Follow reads the messages of sel live and calls fn for each, in order, until ctx ends (then it
// returns nil) or fn or the consumer fails. With since zero it starts with the next message stored;
// otherwise with the first message stored at or after since. Messages carry no replay headers.
func Follow(ctx context.Context, js jetstream.JetStream, sel Selection, since time.Time, fn func(Message) error) error {
	if err := sel.Validate(); err != nil {
		return err
	}
	sel = sel.normalized()
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{sel.Filter}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	stream, err := js.Stream(ctx, sel.Stream)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("stream %s: %w", sel.Stream, err)
	}
	r, err := openReader(ctx, stream, "avatarbus_tail", cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer r.close()
	for {
		msg, err := r.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !sel.match(msg.Subject()) {
			continue
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("stream %s: message metadata: %w", sel.Stream, err)
		}
		if err := fn(toMessage(msg, meta)); err != nil {
			return err
		}
	}
}

// toMessage copies a consumed message into a Message.
func toMessage(msg jetstream.Msg, meta *jetstream.MsgMetadata) Message {
	h := make(nats.Header, len(msg.Headers())+3)
	for k, vs := range msg.Headers() {
		h[k] = append([]string(nil), vs...)
	}
	m := Message{
		Subject:  msg.Subject(),
		Sequence: meta.Sequence.Stream,
		Time:     meta.Timestamp,
		Header:   h,
		Data:     msg.Data(),
	}
	if ev, err := envelope.Unmarshal(m.Data); err == nil {
		m.Event = ev
	}
	return m
}

// reader is an ordered consumer being iterated; close deletes every consumer it created.
type reader struct {
	stream     jetstream.Stream
	namePrefix string
	cons       jetstream.Consumer
	it         jetstream.MessagesContext
	stopOnCtx  func() bool
	pending    uint64 // matching messages at the start
}

// inactiveThreshold is how long the server keeps a reader's consumer after its client vanished
// without deleting it (a crash); normally close deletes it at once.
const inactiveThreshold = time.Minute

func openReader(ctx context.Context, stream jetstream.Stream, kind string, cfg jetstream.OrderedConsumerConfig) (*reader, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.NamePrefix = kind + "_" + hex.EncodeToString(b[:])
	cfg.InactiveThreshold = inactiveThreshold
	r := &reader{stream: stream, namePrefix: cfg.NamePrefix}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: read: %w", r.name(), err)
	}
	r.cons = cons
	if info := cons.CachedInfo(); info != nil {
		r.pending = info.NumPending
	}
	it, err := cons.Messages()
	if err != nil {
		r.close()
		return nil, fmt.Errorf("stream %s: read: %w", r.name(), err)
	}
	r.it = it
	// Next cannot be interrupted while the ordered consumer is being recreated (NATS down):
	// stopping the iterator can.
	r.stopOnCtx = context.AfterFunc(ctx, it.Stop)
	return r, nil
}

func (r *reader) next(ctx context.Context) (jetstream.Msg, error) {
	msg, err := r.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("stream %s: read: %w", r.name(), err)
	}
	return msg, nil
}

func (r *reader) name() string { return r.stream.CachedInfo().Config.Name }

// close stops the iterator and deletes the reader's consumers, whatever ctx the reader had.
func (r *reader) close() {
	if r.stopOnCtx != nil {
		r.stopOnCtx()
	}
	if r.it != nil {
		r.it.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.cons != nil {
		if info := r.cons.CachedInfo(); info != nil {
			_ = r.stream.DeleteConsumer(ctx, info.Name)
		}
	}
	// A reset (after a reconnect) replaces the consumer and deletes the old one in the background:
	// delete any that is still there.
	names := r.stream.ConsumerNames(ctx)
	var ours []string
	for name := range names.Name() {
		if strings.HasPrefix(name, r.namePrefix+"_") {
			ours = append(ours, name)
		}
	}
	for _, name := range ours {
		_ = r.stream.DeleteConsumer(ctx, name)
	}
}

// pacer spaces writes interval apart: the n-th write starts no earlier than interval*(n-1) after
// the first.
type pacer struct {
	interval time.Duration
	next     time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.interval <= 0 {
		return nil
	}
	now := time.Now()
	if d := p.next.Sub(now); !p.next.IsZero() && d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case now = <-t.C:
		}
	}
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(p.interval)
	return nil
}
