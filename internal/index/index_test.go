package index_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/index"
)

type ev struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Subject       string    `json:"subject,omitempty"`
	Time          time.Time `json:"time"`
	Platform      string    `json:"platform"`
	CorrelationID string    `json:"correlationid,omitempty"`
}

var t0 = time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)

// job is one job across three platforms sharing a correlation id.
var job = []ev{
	{"el-1", "avatar.audio.completed", "voice-9", t0, "elevenlabs", "job-42"},
	{"hg-1", "avatar.video.completed", "vid-7", t0.Add(time.Minute), "heygen", "job-42"},
	{"tv-1", "avatar.conversation.ended", "conv-3", t0.Add(2 * time.Minute), "tavus", "job-42"},
}

func setup(t *testing.T) (jetstream.JetStream, string) {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AVATAR", Subjects: []string{"avatar.>"}, MaxAge: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return js, srv.ClientURL()
}

func publish(t *testing.T, js jetstream.JetStream, evs ...ev) {
	t.Helper()
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if _, err := js.Publish(context.Background(), e.Type+"."+e.Platform, b); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs an indexer until the test ends (or stop is called) and returns its last lag report.
func start(t *testing.T, js jetstream.JetStream) (lag *atomic.Int64, stop func()) {
	lag, _, stop = startMax(t, js)
	return lag, stop
}

// startMax is start that also returns the highest lag reported.
func startMax(t *testing.T, js jetstream.JetStream) (lag, highest *atomic.Int64, stop func()) {
	t.Helper()
	lag, highest = &atomic.Int64{}, &atomic.Int64{}
	lag.Store(-1)
	ix, err := index.New(context.Background(), js, index.Options{Stream: "AVATAR", LeaseTTL: 3 * time.Second,
		Lag: func(l uint64) {
			lag.Store(int64(l))
			if int64(l) > highest.Load() {
				highest.Store(int64(l))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ix.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return lag, highest, stop
}

func waitLookup(t *testing.T, x index.Index, key string, n int) []index.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := x.Lookup(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) >= n || time.Now().After(deadline) {
			return es
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(es []index.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestIndexFindsJobByAnyKey(t *testing.T) {
	js, _ := setup(t)
	publish(t, js, job...)
	publish(t, js, ev{"other", "avatar.video.completed", "vid-8", t0, "heygen", "job-43"})
	lag, _ := start(t, js)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"job-42", []string{"el-1", "hg-1", "tv-1"}}, // correlation id, in time order
		{"hg-1", []string{"hg-1"}},                   // event id
		{"conv-3", []string{"tv-1"}},                 // resource id
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := ids(waitLookup(t, x, tt.key, len(tt.want)))
			if len(got) != len(tt.want) {
				t.Fatalf("Lookup(%q) = %v, want %v", tt.key, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Lookup(%q) = %v, want %v", tt.key, got, tt.want)
				}
			}
		})
	}
	es := waitLookup(t, x, "hg-1", 1)
	if e := es[0]; e.Seq != 2 || e.Platform != "heygen" || e.ResourceID != "vid-7" || !e.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("entry = %+v", e)
	}
	tl, err := index.Timeline(context.Background(), x, "el-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(tl); len(got) != 3 || got[2] != "tv-1" {
		t.Fatalf("Timeline(el-1) = %v, want the three events of job-42", got)
	}
	if got := lag.Load(); got != 0 {
		t.Fatalf("lag after indexing all = %d, want 0", got)
	}
}

func TestIndexResumesAfterRestartAndSetsTTL(t *testing.T) {
	js, _ := setup(t)
	publish(t, js, job[0])
	_, stop := start(t, js)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitLookup(t, x, "el-1", 1); len(got) != 1 {
		t.Fatalf("first event not indexed: %v", got)
	}
	stop() // releases the lease: the next instance takes it without waiting for the TTL
	publish(t, js, job[1:]...)
	start(t, js)
	if got := waitLookup(t, x, "job-42", 3); len(got) != 3 {
		t.Fatalf("after restart: %v, want 3 entries", ids(got))
	}
	c, err := js.Consumer(context.Background(), "AVATAR", index.Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Stream != 3 || info.NumRedelivered != 0 {
		t.Fatalf("durable delivered stream seq %d with %d redelivered; want 3, none re-read", info.Delivered.Stream, info.NumRedelivered)
	}
	kv, err := js.KeyValue(context.Background(), "AVATAR_INDEX")
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 48*time.Hour {
		t.Fatalf("index TTL = %v, want the stream's max_age 48h", st.TTL())
	}
}

func TestLagCountsEventsNotYetIndexed(t *testing.T) {
	js, _ := setup(t)
	lag, stop := start(t, js)
	publish(t, js, job[0])
	deadline := time.Now().Add(10 * time.Second)
	for lag.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	// A backlog larger than a batch (256), so that the writer reports while catching up.
	const backlog = 2000
	publishMany(t, js, backlog)
	c, _ := js.Consumer(context.Background(), "AVATAR", index.Durable)
	// The server counts a consumer's pending events shortly after storing them: wait for it.
	if info := waitInfo(t, c, func(i *jetstream.ConsumerInfo) bool { return i.NumPending >= backlog }); info.NumPending != backlog {
		t.Fatalf("pending while stopped = %d, want %d", info.NumPending, backlog)
	}
	lag2, highest, _ := startMax(t, js)
	deadline = time.Now().Add(20 * time.Second)
	for lag2.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := lag2.Load(); got != 0 {
		t.Fatalf("lag after catching up = %d, want 0", got)
	}
	if got := highest.Load(); got <= 0 || got >= backlog {
		t.Fatalf("highest lag = %d, want between 0 and %d (reported after each batch while catching up)", got, backlog)
	}
	// Acks are sent without waiting for the server: the last ones may still be on their way.
	info := waitInfo(t, c, func(i *jetstream.ConsumerInfo) bool { return i.AckFloor.Stream >= backlog+1 })
	if info.AckFloor.Stream != backlog+1 || info.NumRedelivered != 0 || info.NumAckPending != 0 {
		t.Fatalf("durable: ack floor %d, %d redelivered, %d ack pending; want %d, 0, 0", info.AckFloor.Stream, info.NumRedelivered, info.NumAckPending, backlog+1)
	}
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, backlog / 2, backlog - 1} { // first, middle and last of the backlog
		id := fmt.Sprintf("bulk-%d", i)
		if got := waitLookup(t, x, id, 1); len(got) != 1 || got[0].Seq != uint64(i+2) || got[0].ResourceID != fmt.Sprintf("vid-b%d", i) {
			t.Fatalf("Lookup(%s) = %+v, want seq %d", id, got, i+2)
		}
	}
}

// waitInfo returns the consumer's info once ok accepts it, or the last one read after 10s.
func waitInfo(t *testing.T, c jetstream.Consumer, ok func(*jetstream.ConsumerInfo) bool) *jetstream.ConsumerInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(info) || time.Now().After(deadline) {
			return info
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishMany stores n events bulk-0 … bulk-(n-1) with asynchronous publishes.
func publishMany(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	for i := range n {
		b, _ := json.Marshal(ev{fmt.Sprintf("bulk-%d", i), "avatar.video.completed", fmt.Sprintf("vid-b%d", i), t0, "heygen", fmt.Sprintf("job-b%d", i/2)})
		if _, err := js.PublishAsync("avatar.video.completed.heygen", b); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(20 * time.Second):
		t.Fatal("publishes not acked")
	}
}

// TestOneWriterPerClusterAndFailover: of two indexers, one holds the lease; when it stops, the
// other takes over and indexes from the durable's position.
func TestOneWriterPerClusterAndFailover(t *testing.T) {
	js, _ := setup(t)
	lagA, stopA := start(t, js)
	publish(t, js, job[0])
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitLookup(t, x, "el-1", 1); len(got) != 1 {
		t.Fatalf("not indexed: %v", got)
	}
	lagB, _ := start(t, js) // started second: the lease is taken
	publish(t, js, job[1])
	if got := waitLookup(t, x, "hg-1", 1); len(got) != 1 {
		t.Fatalf("not indexed: %v", got)
	}
	if lagA.Load() != 0 || lagB.Load() != -1 {
		t.Fatalf("lag reports: first %d, second %d; want only the first (the holder) to index", lagA.Load(), lagB.Load())
	}
	stopA()
	publish(t, js, job[2])
	if got := waitLookup(t, x, "tv-1", 1); len(got) != 1 {
		t.Fatalf("after the holder stopped, the second did not take over: %v", got)
	}
	if lagB.Load() != 0 {
		t.Fatalf("second indexer's lag = %d, want 0 after taking over", lagB.Load())
	}
}

// TestLookupAllReadsManyKeysAtOnce: LookupAll answers the entries of every key once, sorted, also
// for more keys than one read of the bucket takes.
func TestLookupAllReadsManyKeysAtOnce(t *testing.T) {
	js, _ := setup(t)
	publish(t, js, job...)
	const n = 40
	publishMany(t, js, n)
	_, _ = start(t, js)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	waitLookup(t, x, fmt.Sprintf("bulk-%d", n-1), 1)
	got, err := x.LookupAll(context.Background(), []string{"conv-3", "hg-1", "nothing", "hg-1", ""})
	if err != nil {
		t.Fatal(err)
	}
	if ids := ids(got); len(ids) != 2 || ids[0] != "hg-1" || ids[1] != "tv-1" {
		t.Fatalf("LookupAll(conv-3, hg-1, nothing, hg-1) = %v, want [hg-1 tv-1]", ids)
	}
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("bulk-%d", i))
	}
	got, err = x.LookupAll(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("LookupAll of %d event ids: %d entries, want %d", n, len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq { // same time: sorted by seq
			t.Fatalf("entries not sorted: seq %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
}

// TestBatchRewrittenWhenBucketMovedUnderIt: the writer checks by the bucket's sequence that all
// its puts were stored; a put by someone else in between fails the check, and the batch's events
// are delivered again and indexed, not acked on a guess.
func TestBatchRewrittenWhenBucketMovedUnderIt(t *testing.T) {
	js, _ := setup(t)
	publish(t, js, job[0])
	_, _ = start(t, js)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	waitLookup(t, x, "el-1", 1)
	kv, err := js.KeyValue(context.Background(), "AVATAR_INDEX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "foreign", []byte("x")); err != nil { // another writer
		t.Fatal(err)
	}
	publish(t, js, job[1])
	if got := waitLookup(t, x, "hg-1", 1); len(got) != 1 {
		t.Fatalf("hg-1 not indexed after the check failed once: %v", got)
	}
	c, _ := js.Consumer(context.Background(), "AVATAR", index.Durable)
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream == 2 {
			if info.NumRedelivered == 0 && info.Delivered.Consumer < 3 {
				t.Fatalf("hg-1 acked without being written again: delivered %d, redelivered %d", info.Delivered.Consumer, info.NumRedelivered)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack floor %d, want 2", info.AckFloor.Stream)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWriterYieldsToABusyProcess: while Busy says so the writer indexes nothing (the events wait
// in the durable); when it stops saying so, they are indexed. And it defers at most MaxDefer:
// a process busy for good still gets its index, late.
func TestWriterYieldsToABusyProcess(t *testing.T) {
	js, _ := setup(t)
	var busy atomic.Bool
	busy.Store(true)
	start := func(maxDefer time.Duration) (lag *atomic.Int64, stop func()) {
		lag = &atomic.Int64{}
		lag.Store(-1)
		ix, err := index.New(context.Background(), js, index.Options{Stream: "AVATAR", LeaseTTL: 3 * time.Second,
			Lag: func(l uint64) { lag.Store(int64(l)) }, Busy: busy.Load, MaxDefer: maxDefer})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = ix.Run(ctx); close(done) }()
		stop = func() { cancel(); <-done }
		t.Cleanup(stop)
		return lag, stop
	}
	lag, stop := start(time.Hour)
	publish(t, js, job...)
	c, _ := js.Consumer(context.Background(), "AVATAR", index.Durable)
	time.Sleep(time.Second) // forty pulls' worth
	if info := waitInfo(t, c, func(i *jetstream.ConsumerInfo) bool { return i.NumPending == 3 }); info.NumPending != 3 || info.Delivered.Stream != 0 || lag.Load() != -1 {
		t.Fatalf("while busy: %d pending, %d delivered, lag reported %d; want 3, 0, none", info.NumPending, info.Delivered.Stream, lag.Load())
	}
	busy.Store(false)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitLookup(t, x, "job-42", 3); len(got) != 3 {
		t.Fatalf("after the process is no longer busy: %v, want the job's 3 events", ids(got))
	}
	stop()

	busy.Store(true)
	start(300 * time.Millisecond)
	publish(t, js, ev{"late-1", "avatar.video.completed", "vid-late", t0, "heygen", ""})
	if got := waitLookup(t, x, "late-1", 1); len(got) != 1 {
		t.Fatalf("busy for good, MaxDefer 300ms: late-1 never indexed")
	}
}

// TestAtomicWriterBatchesPuts: with Atomic the bucket's stream allows atomic batches and a batch
// of keys is stored as one (its messages carry the batch id), and lookups are the same.
func TestAtomicWriterBatchesPuts(t *testing.T) {
	js, _ := setup(t)
	ix, err := index.New(context.Background(), js, index.Options{Stream: "AVATAR", LeaseTTL: 3 * time.Second, Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), "KV_AVATAR"+index.BucketSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if !st.CachedInfo().Config.AllowAtomicPublish {
		t.Fatal("the bucket's stream does not allow atomic publish")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	publish(t, js, job...)
	x, err := index.Open(context.Background(), js, "AVATAR")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitLookup(t, x, "job-42", 3); len(got) != 3 {
		t.Fatalf("Lookup(job-42) = %v, want the job's 3 events", ids(got))
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	batched := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Nats-Batch-Id") != "" {
			batched++
		}
	}
	// 3 events with a resource and a correlation id each: 9 keys, each batch of them atomic (every batch has 3 keys or more).
	if info.State.Msgs != 9 || batched != 9 {
		t.Errorf("bucket holds %d keys, %d of them stored in an atomic batch; want 9, all", info.State.Msgs, batched)
	}
}
