package adminapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/adminapi/adminapitest"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
)

// TestListBySubject: a list filtered by platform or type is selected by subject, so a platform
// whose events are all older than MaxScan others is still listed, newest first, and its pages
// cover every match once; the consumers used to count are gone afterwards.
func TestListBySubject(t *testing.T) {
	t.Parallel()
	_, js := brokertest.Connect(t, brokertest.RunJetStream(t).ClientURL())
	adminapitest.Streams(t, js)
	// 30 tavus events (seq 1..30, every third one failed), then 120 heygen and did events.
	start := time.Now().UTC().Add(-time.Second) // received before stored, as in ingest
	var tavus []string                          // ids, oldest first
	for i := range 150 {
		e := adminapitest.Event{ID: "ev" + strconv.Itoa(i+1), Platform: "heygen", Type: "avatar.video.completed"}
		switch {
		case i < 30:
			e.Platform = "tavus"
			if i%3 == 0 {
				e.Type = "avatar.video.failed"
			}
			tavus = append(tavus, e.ID)
		case i%2 == 0:
			e.Platform = "did"
		}
		adminapitest.Publish(t, js, e, start.Add(time.Duration(i)*time.Millisecond))
	}
	api := adminapi.New(adminapi.Config{JS: js, Stream: "AVATAR", SubjectPrefix: "avatar", MaxScan: 20, Log: zerolog.Nop()})
	hs := httptest.NewServer(ingest.NewAdmin(ingest.AdminConfig{API: api, Log: zerolog.Nop()}).Handler())
	t.Cleanup(hs.Close)
	e := &env{js: js, srv: hs}

	// Every page of 7, following the cursors: the 30 tavus events newest first, each once.
	var got []string
	cursor := uint64(0)
	for range 10 {
		p := e.page(t, fmt.Sprintf("/api/v1/events?platform=tavus&limit=7&cursor=%d", cursor))
		for _, it := range p.Items {
			if it.Envelope.Platform != "tavus" {
				t.Fatalf("platform=tavus listed %s of %s", it.Envelope.ID, it.Envelope.Platform)
			}
			got = append(got, it.Envelope.ID)
		}
		if cursor = p.NextCursor; cursor == 0 {
			break
		}
	}
	want := slices.Clone(tavus)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("platform=tavus in pages of 7:\n got %v\nwant %v", got, want)
	}

	tests := []struct {
		query string
		want  []string
		next  uint64
	}{
		{"type=avatar.video.failed&limit=3", []string{"ev28", "ev25", "ev22"}, 22},
		{"type=avatar.video.failed&platform=tavus&limit=2&cursor=22", []string{"ev19", "ev16"}, 16},
		{"type=avatar.video.failed&platform=heygen", nil, 0},
		{"platform=did&limit=2", []string{"ev149", "ev147"}, 147},
		{"platform=nobody", nil, 0},
		{"platform=tavus&limit=2&cursor=3", []string{"ev2", "ev1"}, 0},
		{"platform=tavus&cursor=1", nil, 0},
		// received within [start+5ms, start+8ms): stored at or after since, at most a few seconds after
		{"platform=tavus&since=" + url.QueryEscape(start.Add(5*time.Millisecond).Format(time.RFC3339Nano)) +
			"&until=" + url.QueryEscape(start.Add(8*time.Millisecond).Format(time.RFC3339Nano)), []string{"ev8", "ev7", "ev6"}, 0},
		{"platform=tavus&since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), nil, 0},
		{"platform=tavus&until=" + url.QueryEscape(start.Add(-time.Hour).Format(time.RFC3339)), nil, 0},
		// no platform or type: a scan of at most MaxScan (20) events, with a cursor to go on
		{"since=" + url.QueryEscape(start.Add(144*time.Millisecond).Format(time.RFC3339Nano)), []string{"ev150", "ev149", "ev148", "ev147", "ev146", "ev145"}, 131},
		{"until=" + url.QueryEscape(start.Add(time.Millisecond).Format(time.RFC3339Nano)), nil, 131},
		// ... which stops at the first event stored before since: nothing older can match
		{"since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), nil, 0},
	}
	for _, tt := range tests {
		p := e.page(t, "/api/v1/events?"+tt.query)
		var ids []string
		for _, it := range p.Items {
			ids = append(ids, it.Envelope.ID)
		}
		if !slices.Equal(ids, tt.want) || p.NextCursor != tt.next {
			t.Errorf("%s: got %v next %d, want %v next %d", tt.query, ids, p.NextCursor, tt.want, tt.next)
		}
	}

	if n, err := consumersOf(js); err != nil || n != 0 {
		t.Errorf("%d consumers left on the stream after the lists (%v), want 0", n, err)
	}
}

// consumersOf counts the consumers of AVATAR.
func consumersOf(js jetstream.JetStream) (int, error) {
	s, err := js.Stream(context.Background(), "AVATAR")
	if err != nil {
		return 0, err
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0, err
	}
	return info.State.Consumers, nil
}

// TestListBySubjectOnACluster: on an R3 stream of a three-node cluster, where every filtered
// consumer is placed by the meta leader, a platform's newest page is still found (and the
// consumers are gone afterwards). Measured here: ~20 ms for a page among 2000 events without
// -race, ~100 ms with it.
func TestListBySubjectOnACluster(t *testing.T) {
	t.Parallel()
	c := brokertest.RunCluster(t, 3)
	_, js := brokertest.Connect(t, c.URLs())
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AVATAR", Subjects: []string{"avatar.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	for i := range 1000 {
		p := "heygen"
		if i < 300 {
			p = "tavus" // the oldest 300
		}
		adminapitest.Publish(t, js, adminapitest.Event{ID: "e" + strconv.Itoa(i), Platform: p, Type: "avatar.video.completed"}, start)
	}
	api := adminapi.New(adminapi.Config{JS: js, Stream: "AVATAR", SubjectPrefix: "avatar", Log: zerolog.Nop()})
	hs := httptest.NewServer(ingest.NewAdmin(ingest.AdminConfig{API: api, Log: zerolog.Nop()}).Handler())
	t.Cleanup(hs.Close)
	e := &env{js: js, srv: hs}
	began := time.Now()
	p := e.page(t, "/api/v1/events?platform=tavus&limit=50")
	t.Logf("a page of 50 among 1000 events on R3: %s", time.Since(began))
	if len(p.Items) != 50 || p.Items[0].Envelope.ID != "e299" || p.Items[49].Envelope.ID != "e250" || p.NextCursor != p.Items[49].Seq {
		t.Fatalf("platform=tavus on the cluster: %d items, first %s, next %d", len(p.Items), ids(p), p.NextCursor)
	}
	waitfor.Cond(t, 10*time.Second, func() bool {
		n, err := consumersOf(js)
		return err == nil && n == 0
	}, "no consumers left on the stream")
}
