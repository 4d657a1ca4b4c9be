package adminapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/subjects"
)

// A list filtered by platform or type needs no index: an event's subject is
// <prefix>.<type tokens>.<platform> (package subjects), so the stream itself can select them.
// JetStream does not read a stream backwards by subject, but it counts: a consumer made with a
// filter and a start sequence reports how many matching messages it has pending, from the
// stream's per-subject state, without reading them. bySubject finds by bisection the start
// sequence below which a page's worth of matches lies, then reads those matches forward. About
// 2·log2(stream length) consumers are made and deleted (~40 for 1M events) and limit+1 messages
// read, however rare the matches are; scanning read up to MaxScan messages and could find none.

// subjectFilters returns the subject filters that select f's platform and type in the event
// stream, or nil when f names neither or the stream's subject prefix is unknown.
func (a *API) subjectFilters(f filter) []string {
	p := a.cfg.SubjectPrefix
	switch {
	case p == "" || (f.platform == "" && f.typ == ""):
		return nil
	case f.typ != "":
		return []string{subjects.Filter{Type: f.typ, Platform: f.platform}.Subject(p)}
	default:
		return subjects.PlatformSubjects(p, f.platform)
	}
}

// checkSubjectFilter says why f's platform or type cannot be part of a subject, if it cannot: a
// clear 400 rather than an empty list.
func checkSubjectFilter(f filter) error {
	var errs []error
	if f.platform != "" {
		if err := subjects.ValidToken(f.platform); err != nil {
			errs = append(errs, fmt.Errorf("%w: platform: %w", ErrBadRequest, err))
		}
	}
	if f.typ != "" {
		if _, err := subjects.For("p", f.typ, "x"); err != nil {
			errs = append(errs, fmt.Errorf("%w: type: %w", ErrBadRequest, err))
		}
	}
	return errors.Join(errs...)
}

// timeSlack is how much later than its receipt an event may have been stored (the publish
// timeout is 1.5 s by default): an until bound on stream time includes that much more, and
// match then drops what was received at or after until.
const timeSlack = 5 * time.Second

// bySubject answers a list filtered by subject: the newest limit matching events below cursor
// (the stream's last when 0), newest first, within since and until.
func (a *API) bySubject(ctx context.Context, filters []string, f filter, limit int, cursor uint64) (Page, error) {
	page := Page{Items: []Event{}}
	s, err := a.cfg.JS.Stream(ctx, a.cfg.Stream)
	if err != nil {
		return page, fmt.Errorf("adminapi: stream %s: %w", a.cfg.Stream, err)
	}
	st := s.CachedInfo().State
	c := &counter{s: s, filters: filters}
	defer c.close()

	bottom, top := st.FirstSeq, st.LastSeq
	if cursor != 0 && cursor-1 < top {
		top = cursor - 1
	}
	if !f.since.IsZero() { // stored at or after since: received before it are dropped by match
		first, ok, err := c.firstAt(ctx, f.since)
		if err != nil || !ok {
			return page, err
		}
		bottom = max(bottom, first)
	}
	if !f.until.IsZero() {
		after, ok, err := c.firstAt(ctx, f.until.Add(timeSlack))
		if err != nil {
			return page, err
		}
		if ok && after > 0 {
			top = min(top, after-1)
		}
	}
	if top < bottom || top == 0 {
		return page, nil
	}
	var above uint64 // matches after top
	if top < st.LastSeq {
		if above, err = c.from(ctx, top+1); err != nil {
			return page, err
		}
	}
	want := uint64(limit) + 1 // one more tells whether there is a next page
	inRange, err := c.from(ctx, bottom)
	if err != nil {
		return page, err
	}
	inRange -= min(inRange, above)
	if inRange == 0 {
		return page, nil
	}
	lo := bottom
	if inRange > want {
		// The largest lo in [bottom, top] with at least want matches in [lo, top].
		l, h := bottom, top
		for l < h {
			mid := l + (h-l+1)/2
			n, err := c.from(ctx, mid)
			if err != nil {
				return page, err
			}
			if n-min(n, above) >= want {
				l = mid
			} else {
				h = mid - 1
			}
		}
		lo = l
	}
	found, err := c.read(ctx, lo, top, int(min(inRange, want)))
	if err != nil {
		return page, err
	}
	for i := len(found) - 1; i >= 0; i-- { // newest first
		e := found[i]
		if !f.match(e.ev) {
			continue
		}
		if !page.add(e, limit) {
			break
		}
	}
	if page.NextCursor == 0 && len(found) > 0 && inRange > uint64(len(found)) {
		// Matches below lo remain (the page came short after match dropped some): go on there.
		page.NextCursor = found[0].Seq
	}
	return page, nil
}

// counter makes the filtered consumers bySubject counts and reads with, and deletes them.
type counter struct {
	s       jetstream.Stream
	filters []string
	left    []string // consumers a delete failed for, tried again by close
}

// consumer makes an ephemeral, unacknowledged consumer of the filters starting as cfg says;
// the caller drops it.
func (c *counter) consumer(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cfg.FilterSubjects = c.filters
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.InactiveThreshold = time.Minute // deleted by drop; this is for a process that died meanwhile
	cons, err := c.s.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("adminapi: filtered consumer on %s: %w", c.s.CachedInfo().Config.Name, err)
	}
	return cons, nil
}

// from counts the matching messages at or after seq.
func (c *counter) from(ctx context.Context, seq uint64) (uint64, error) {
	cons, err := c.consumer(ctx, jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq})
	if err != nil {
		return 0, err
	}
	n := cons.CachedInfo().NumPending
	c.drop(ctx, cons)
	return n, nil
}

// firstAt returns the sequence of the first matching message stored at or after t; ok is false
// when there is none.
func (c *counter) firstAt(ctx context.Context, t time.Time) (seq uint64, ok bool, err error) {
	cons, err := c.consumer(ctx, jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t})
	if err != nil {
		return 0, false, err
	}
	defer c.drop(ctx, cons)
	if cons.CachedInfo().NumPending == 0 {
		return 0, false, nil
	}
	msgs, err := fetch(ctx, cons, 1)
	if err != nil {
		return 0, false, fmt.Errorf("adminapi: read by time: %w", err)
	}
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			return 0, false, fmt.Errorf("adminapi: read by time: %w", err)
		}
		seq = md.Sequence.Stream
	}
	return seq, seq != 0, nil
}

// read returns up to n matching messages from seq lo through top, oldest first.
func (c *counter) read(ctx context.Context, lo, top uint64, n int) ([]*Event, error) {
	cons, err := c.consumer(ctx, jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: lo})
	if err != nil {
		return nil, err
	}
	defer c.drop(ctx, cons)
	var out []*Event
	for len(out) < n {
		msgs, err := fetch(ctx, cons, n-len(out))
		if err != nil {
			return nil, fmt.Errorf("adminapi: read %d matching events from seq %d: %w", n, lo, err)
		}
		for _, m := range msgs {
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("adminapi: read from seq %d: %w", lo, err)
			}
			if md.Sequence.Stream > top {
				return out, nil
			}
			out = append(out, eventOf(md.Sequence.Stream, m.Subject(), md.Timestamp, m.Headers(), m.Data()))
		}
		if len(msgs) == 0 {
			break // fewer than counted: some expired meanwhile
		}
	}
	return out, nil
}

// fetch reads up to n messages of cons, asking again for a second while nobody answers: a
// consumer just created on a cluster can take a moment before its node serves pull requests (a
// list failed so in CI with "no responders"; nats.go's ordered consumer retries the same way).
func fetch(ctx context.Context, cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	for wait := 20 * time.Millisecond; ; wait *= 2 {
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		err = batch.Error()
		if errors.Is(err, jetstream.ErrNoMessages) {
			err = nil
		}
		if !errors.Is(err, nats.ErrNoResponders) || len(msgs) > 0 || wait > time.Second {
			return msgs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// drop deletes cons.
func (c *counter) drop(ctx context.Context, cons jetstream.Consumer) {
	name := cons.CachedInfo().Name
	if err := c.s.DeleteConsumer(context.WithoutCancel(ctx), name); err != nil {
		c.left = append(c.left, name)
	}
}

// close deletes what drop could not.
func (c *counter) close() {
	for _, name := range c.left {
		_ = c.s.DeleteConsumer(context.Background(), name)
	}
	c.left = nil
}
