package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/index"
)

// The lookup run's stream: its own name, so it never meets avatarbus's.
const (
	lookupStream  = "BENCH_LOOKUP"
	lookupSubject = "lookup"
)

// lookupPlatforms are the platforms of a job's events, in order: a job crosses platforms.
var lookupPlatforms = []string{"elevenlabs", "heygen", "tavus", "did", "synthesia"}

// lookupResult is the lookup run: the store, how long filling and indexing took, and lookup latencies.
type lookupResult struct {
	events, jobs             int
	fill, indexing           time.Duration
	streamBytes, indexBytes  uint64
	indexMsgs                uint64
	natsRSS                  uint64 // bytes, after indexing
	kinds                    []lookupKind
	scanNotes                []string
	perJob, perCorrelation   int
	indexCPU, indexNatsCPU   float64 // µs per event while indexing: the harness process (the indexer) and nats-server
	fillCPUNats              float64
	sampleID, sampleResource string
	sampleCorrelation        string
}

// lookupKind is one kind of lookup, timed over random keys.
type lookupKind struct {
	name    string
	n       int
	want    int // entries or items each answer must hold
	lat     []time.Duration
	comment string
}

func lookupEventID(i int) string  { return fmt.Sprintf("evt-%07d", i) }
func lookupResource(j int) string { return fmt.Sprintf("vid-%06d", j) }
func lookupCorr(j int) string     { return fmt.Sprintf("job-%06d", j/2) }

// indexLookup fills a stream with indexFlags.events envelopes spread over indexFlags.jobs jobs
// (event i is step i/jobs of job i%jobs, so the events of one job are far apart in the stream, as
// a job's webhooks are minutes apart among everyone else's), indexes them with the real Indexer
// (this process is the index writer), and times lookups through index.KV and the admin API.
func indexLookup(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, ns *child) (*lookupResult, error) {
	f := indexFlags
	if f.jobs <= 0 || f.events < f.jobs || f.events%f.jobs != 0 {
		return nil, fmt.Errorf("-index-events %d must be a positive multiple of -index-jobs %d", f.events, f.jobs)
	}
	res := &lookupResult{events: f.events, jobs: f.jobs, perJob: f.events / f.jobs, perCorrelation: 2 * f.events / f.jobs}
	_ = js.DeleteStream(ctx, lookupStream)
	_ = js.DeleteKeyValue(ctx, lookupStream+index.BucketSuffix)
	_ = js.DeleteKeyValue(ctx, lookupStream+"_LEASES")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: lookupStream, Subjects: []string{lookupSubject + ".>"},
		Storage: jetstream.FileStorage, MaxAge: 720 * time.Hour}); err != nil {
		return nil, err
	}

	// Fill: asynchronous publishes, 4096 in flight at most.
	ajs, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	nats0, _ := ns.cpu()
	start := time.Now()
	log.Printf("lookup: storing %d events over %d jobs", f.events, f.jobs)
	for i := range f.events {
		j, step := i%f.jobs, i/f.jobs
		platform := lookupPlatforms[step%len(lookupPlatforms)]
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		raw := fmt.Sprintf(`{"event_type":"video.completed","event_data":{"video_id":%q,"url":"https://cdn.example.com/v/%s.mp4","callback_id":%q}}`,
			lookupResource(j), lookupResource(j), lookupCorr(j))
		e := &envelope.Event{SpecVersion: envelope.SpecVersion, ID: lookupEventID(i), Source: envelope.SourceFor(platform),
			Type: envelope.TypeVideoCompleted, Subject: lookupResource(j), Time: at, DataContentType: envelope.DataContentType,
			Platform: platform, CorrelationID: lookupCorr(j), ReceivedAt: at,
			Data: envelope.Data{ResourceID: lookupResource(j), Raw: []byte(raw)}}
		b, err := envelope.Marshal(e)
		if err != nil {
			return nil, err
		}
		m := &nats.Msg{Subject: lookupSubject + ".video.completed." + platform, Data: b, Header: nats.Header{jetstream.MsgIDHeader: {e.ID}}}
		_, err = ajs.PublishMsgAsync(m)
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) { // the window is full: let it drain
			<-ajs.PublishAsyncComplete()
			_, err = ajs.PublishMsgAsync(m)
		}
		if err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
		if i%100000 == 99999 {
			log.Printf("lookup: %d events published", i+1)
		}
	}
	select {
	case <-ajs.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return nil, errors.New("fill: publishes not acked within 2 minutes")
	}
	res.fill = time.Since(start)
	nats1, _ := ns.cpu()
	res.fillCPUNats = float64((nats1 - nats0).Microseconds()) / float64(f.events)
	log.Printf("lookup: stored %d events in %s", f.events, res.fill.Round(time.Millisecond))

	// Index with the real writer, in this process.
	ix, err := index.New(ctx, js, index.Options{Stream: lookupStream, Logf: log.Printf})
	if err != nil {
		return nil, err
	}
	ictx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	self0 := selfCPU()
	nats2, _ := ns.cpu()
	start = time.Now()
	go func() { defer close(stopped); _ = ix.Run(ictx) }()
	for {
		time.Sleep(time.Second)
		c, err := js.Consumer(ctx, lookupStream, index.Durable)
		if err != nil {
			continue
		}
		info, err := c.Info(ctx)
		if err != nil {
			continue
		}
		if info.AckFloor.Stream >= uint64(f.events) {
			break
		}
		if int(time.Since(start).Seconds())%10 == 0 {
			log.Printf("lookup: %d events indexed", info.AckFloor.Stream)
		}
		if time.Since(start) > 30*time.Minute {
			stop()
			return nil, fmt.Errorf("index: %d of %d events indexed after 30 minutes", info.AckFloor.Stream, f.events)
		}
	}
	res.indexing = time.Since(start)
	nats3, _ := ns.cpu()
	res.indexCPU = float64((selfCPU() - self0).Microseconds()) / float64(f.events)
	res.indexNatsCPU = float64((nats3 - nats2).Microseconds()) / float64(f.events)
	stop()
	<-stopped
	log.Printf("lookup: indexed %d events in %s", f.events, res.indexing.Round(time.Millisecond))

	for name, into := range map[string]*uint64{lookupStream: &res.streamBytes, "KV_" + lookupStream + index.BucketSuffix: &res.indexBytes} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil, err
		}
		*into = info.State.Bytes
		if name != lookupStream {
			res.indexMsgs = info.State.Msgs
		}
	}
	res.natsRSS = rss(ns.cmd.Process.Pid)

	kv, err := index.Open(ctx, js, lookupStream)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // sampling, not security
	keys := make([]int, f.lookups)
	for i := range keys {
		keys[i] = rng.IntN(f.events)
	}
	res.sampleID, res.sampleResource, res.sampleCorrelation = lookupEventID(keys[0]), lookupResource(keys[0]%f.jobs), lookupCorr(keys[0]%f.jobs)
	timeIt := func(k *lookupKind, n int, do func(i int) (int, error)) error {
		k.n = n
		for i := range n {
			s := time.Now()
			got, err := do(keys[i%len(keys)])
			k.lat = append(k.lat, time.Since(s))
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			if k.want >= 0 && got != k.want {
				return fmt.Errorf("%s of key %d: %d answers, want %d", k.name, keys[i%len(keys)], got, k.want)
			}
		}
		slices.Sort(k.lat)
		log.Printf("lookup: %-40s p50 %s p99 %s", k.name, percentile(k.lat, .5), percentile(k.lat, .99))
		res.kinds = append(res.kinds, *k)
		return nil
	}
	lookup := func(key func(int) string) func(int) (int, error) {
		return func(i int) (int, error) {
			es, err := kv.Lookup(ctx, key(i))
			return len(es), err
		}
	}
	job := func(i int) int { return i % f.jobs }
	steps := []struct {
		k  lookupKind
		n  int
		do func(int) (int, error)
	}{
		{lookupKind{name: "index.KV.Lookup(event id)", want: 1}, f.lookups, lookup(lookupEventID)},
		{lookupKind{name: "index.KV.Lookup(resource id)", want: res.perJob}, f.lookups, lookup(func(i int) string { return lookupResource(job(i)) })},
		{lookupKind{name: "index.KV.Lookup(correlation id)", want: res.perCorrelation}, f.lookups, lookup(func(i int) string { return lookupCorr(job(i)) })},
		{lookupKind{name: "index.Timeline(event id)", want: res.perCorrelation}, f.lookups, func(i int) (int, error) {
			es, err := index.Timeline(ctx, kv, lookupEventID(i))
			return len(es), err
		}},
	}
	for _, s := range steps {
		if err := timeIt(&s.k, s.n, s.do); err != nil {
			return nil, err
		}
	}

	// The admin API, in-process, over the same index (as cmd/avatarbus wires it).
	api := adminapi.New(adminapi.Config{JS: js, Stream: lookupStream, SubjectPrefix: lookupSubject, Index: kvIndex{kv}, Log: zerolog.Nop()})
	get := func(path string) (int, error) {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
			return 0, fmt.Errorf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		return strings.Count(rec.Body.String(), `"seq":`), nil
	}
	few := max(10, f.lookups/20)
	oldest := lookupPlatforms[0] // the platform of the oldest fifth of the stream
	api1 := []struct {
		k  lookupKind
		n  int
		do func(int) (int, error)
	}{
		{lookupKind{name: "GET /api/v1/events/{id}", want: 1}, f.lookups, func(i int) (int, error) {
			return get("/api/v1/events/" + url.PathEscape(lookupEventID(i)))
		}},
		{lookupKind{name: "GET /api/v1/timeline?correlation_id=", want: res.perCorrelation}, f.lookups, func(i int) (int, error) {
			return get("/api/v1/timeline?correlation_id=" + url.QueryEscape(lookupCorr(job(i))))
		}},
		{lookupKind{name: "GET /api/v1/events?limit=50 (no filter)", want: 50, comment: "the newest 50: reads 50 messages"}, few, func(int) (int, error) {
			return get("/api/v1/events?limit=50")
		}},
		{lookupKind{name: "GET /api/v1/events?platform=" + oldest + "&limit=50", want: 50, comment: fmt.Sprintf("the newest 50 of %s's events, which are the oldest %d of the stream: selected by subject, the page found by counting (bisection)", oldest, f.jobs)}, few, func(int) (int, error) {
			return get("/api/v1/events?platform=" + oldest + "&limit=50")
		}},
		{lookupKind{name: "GET /api/v1/events?type=…&platform=" + oldest + "&limit=50&cursor=…", want: 50, comment: "a page in the middle of that platform's events"}, few, func(i int) (int, error) {
			return get(fmt.Sprintf("/api/v1/events?type=%s&platform=%s&limit=50&cursor=%d", envelope.TypeVideoCompleted, oldest, 1000+i*(f.jobs/few)))
		}},
		{lookupKind{name: "GET /api/v1/events/{unknown id}", want: 0, comment: "an id the index does not know: only the events not indexed yet are scanned (here none)"}, 10, func(i int) (int, error) {
			return get("/api/v1/events/no-such-" + strconv.Itoa(i))
		}},
	}
	for _, s := range api1 {
		if err := timeIt(&s.k, s.n, s.do); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// kvIndex adapts index.KV to the admin API's EventIndex, as cmd/avatarbus does.
type kvIndex struct{ kv *index.KV }

func (x kvIndex) IndexedThrough(ctx context.Context) (uint64, error) { return x.kv.IndexedThrough(ctx) }

func (x kvIndex) Lookup(ctx context.Context, key string) ([]adminapi.Entry, error) {
	es, err := x.kv.Lookup(ctx, key)
	out := make([]adminapi.Entry, len(es))
	for i, e := range es {
		out[i] = adminapi.Entry(e)
	}
	return out, err
}

// rss reads VmRSS of pid in bytes (0 when unknown).
func rss(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
