package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/waitfor"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/router"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// The sources of the avatarbus under test, as a config file would declare them.
var testSources = []struct {
	name, platform, secret string
	events                 map[string]string
}{
	{name: "heygen", platform: "heygen", secret: "heygen-secret"},
	{name: "tavus", platform: "tavus", secret: "tavus-token-0123456789"},
	{name: "elevenlabs", platform: "elevenlabs", secret: "elevenlabs-secret"},
	{name: "synthesia", platform: "synthesia", secret: "synthesia-secret"},
	{name: "acme", platform: "standardwebhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		events: map[string]string{"credits.low": envelope.TypeAccountCreditsLow}},
}

// signingSecret signs avatarflow's own calls in the test.
const signingSecret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"

// avatarbus is avatarbus's ingest tier on a real in-process JetStream, with the stream settings
// `avatarbus serve` uses by default.
type avatarbus struct {
	t       *testing.T
	url     string // ingest base URL
	natsURL string
	js      jetstream.JetStream // an independent client for assertions
}

func startAvatarbus(t *testing.T) *avatarbus {
	t.Helper()
	srv := brokertest.RunJetStream(t)
	def := config.Default()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, broker.Config{
		Conn: broker.ConnConfig{URL: srv.ClientURL(), Name: "avatarbus"},
		Stream: broker.StreamConfig{
			Name:       def.Stream.Name,
			Subjects:   subjects.StreamSubjects(def.Stream.SubjectPrefix),
			Replicas:   def.Stream.Replicas,
			MaxAge:     def.Stream.MaxAge.Std(),
			Duplicates: def.Stream.DuplicateWindow.Std(),
			MaxBytes:   int64(def.Stream.MaxBytes),
		},
		PublishTimeout: def.NATS.PublishTimeout.Std(),
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	var sources []ingest.Source
	for _, s := range testSources {
		p := preset(t, s.platform)
		vc := p.DefaultVerify()
		vc.Secrets = []string{s.secret}
		v, err := verify.New(vc)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, ingest.Source{Name: s.name, Preset: p, Verifier: v, Events: s.events})
	}
	ing := ingest.New(ingest.Config{Sources: sources, SubjectPrefix: def.Stream.SubjectPrefix,
		Publisher: b.Publisher(), Log: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ing.Serve(ln) }()
	t.Cleanup(func() { _ = ing.Shutdown(context.Background()) })

	_, js := brokertest.Connect(t, srv.ClientURL())
	return &avatarbus{t: t, url: "http://" + ln.Addr().String(), natsURL: srv.ClientURL(), js: js}
}

func preset(t *testing.T, name string) platform.Preset {
	t.Helper()
	p, ok := platform.Default().Lookup(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return p
}

// stored is avatarbus's answer to a webhook.
type stored struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Subject   string `json:"subject"`
	Seq       uint64 `json:"seq"`
}

// webhook is one delivery of a platform's built-in sample (the one `avatarbus trigger` sends).
type webhook struct {
	source string
	event  string            // the sample's name, as in `avatarbus trigger --list`
	msgID  string            // the sender's message id (Standard Webhooks webhook-id)
	set    map[string]string // like trigger --set: dotted path → value (JSON when it parses)
}

// deliver signs the webhook the platform's way and POSTs it to avatarbus, which must store it.
func (a *avatarbus) deliver(w webhook) stored {
	a.t.Helper()
	var src = testSources[0]
	for _, s := range testSources {
		if s.name == w.source {
			src = s
		}
	}
	p := preset(a.t, src.platform)
	var sample *platform.Sample
	for _, s := range p.(platform.Sampler).Samples() {
		if s.Event == w.event {
			sample = &s
		}
	}
	if sample == nil {
		a.t.Fatalf("%s has no sample %s", src.platform, w.event)
	}
	sets := make([]string, 0, len(w.set))
	for path, value := range w.set {
		sets = append(sets, path+"="+value)
	}
	changed, err := sample.With(sets...)
	if err != nil {
		a.t.Fatal(err)
	}
	body := changed.Body
	msgID := w.msgID
	if msgID == "" {
		msgID = "msg_" + w.event
	}
	signed, err := verify.Sign(p.DefaultVerify(), src.secret, msgID, time.Now(), body)
	if err != nil {
		a.t.Fatal(err)
	}
	u := a.url + "/webhooks/" + src.name
	if len(signed.Query) > 0 {
		u += "?" + signed.Query.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range signed.Header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("%s %s: avatarbus answered %d %s", w.source, w.event, resp.StatusCode, raw)
	}
	var s stored
	if err := json.Unmarshal(raw, &s); err != nil {
		a.t.Fatal(err)
	}
	return s
}

// consumerIdle waits until durable has settled every event up to stream sequence seq: nothing
// pending, nothing waiting for an acknowledgement or a retry.
func (a *avatarbus) consumerIdle(durable string, seq uint64) {
	a.t.Helper()
	eventually(a.t, durable+" idle", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := a.js.Consumer(ctx, "AVATAR", durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.Delivered.Stream >= seq && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// deadLetter returns the dead letter stored on subject, or nil.
func (a *avatarbus) deadLetter(subject string) *jetstream.RawStreamMsg {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := a.js.Stream(ctx, router.DefaultDeadLetterStream)
	if err != nil {
		return nil
	}
	m, err := s.GetLastMsgForSubject(ctx, router.DeadLetterSubjectPrefix+subject)
	if err != nil {
		return nil
	}
	return m
}

// eventually waits for cond as long as the flows may take (15s), failing with what.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitfor.Cond(t, 15*time.Second, cond, what)
}

// call is one request a target received.
type call struct {
	path   string
	key    string // Idempotency-Key
	status int    // what the target answered
	body   map[string]any
}

// targets stands in for every service avatarflow calls, on one httptest server: /notify,
// /rerender, /alert, /credits, /generate. Each request must carry a valid Standard Webhooks
// signature of avatarflow's secret. answer, when set, picks the status of a call from the path,
// the Idempotency-Key and how many calls of that key came before.
type targets struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []call
	answer func(path, key string, before int) int
}

func newTargets(t *testing.T) *targets {
	v, err := verify.New(verify.Config{Scheme: "standardwebhooks", Secrets: []string{signingSecret}})
	if err != nil {
		t.Fatal(err)
	}
	tg := &targets{t: t}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Idempotency-Key")
		res, err := v.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header), Body: raw, Now: time.Now()})
		if err != nil || res.MessageID != key || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: unsigned or badly signed call (%v), key %q", r.URL.Path, err, key)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		c := call{path: r.URL.Path, key: key, status: http.StatusOK}
		if err := json.Unmarshal(raw, &c.body); err != nil {
			t.Errorf("%s: body %q: %v", r.URL.Path, raw, err)
		}
		tg.mu.Lock()
		if tg.answer != nil {
			c.status = tg.answer(c.path, key, len(tg.callsLocked(c.path, key)))
		}
		tg.calls = append(tg.calls, c)
		tg.mu.Unlock()
		w.WriteHeader(c.status)
		_, _ = w.Write([]byte(http.StatusText(c.status)))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *targets) callsLocked(path, key string) []call {
	var out []call
	for _, c := range tg.calls {
		if c.path == path && (key == "" || c.key == key) {
			out = append(out, c)
		}
	}
	return out
}

// callsTo returns the calls on path for event id key (every event when key is empty).
func (tg *targets) callsTo(path, key string) []call {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.callsLocked(path, key)
}

func (tg *targets) setAnswer(f func(path, key string, before int) int) {
	tg.mu.Lock()
	tg.answer = f
	tg.mu.Unlock()
}

// startService runs avatarflow as its command line would, with fast retries, until the test
// stops it with the returned function (which returns run's result) or the test ends.
func startService(t *testing.T, natsURL string, tg *targets) (stop func() error) {
	t.Helper()
	env := map[string]string{"AVATARFLOW_SIGNING_SECRET": signingSecret, "AVATARFLOW_GENERATE_URL": tg.srv.URL + "/generate"}
	cfg, err := parseConfig([]string{
		"--nats-url", natsURL,
		"--notify-url", tg.srv.URL + "/notify",
		"--rerender-url", tg.srv.URL + "/rerender",
		"--alert-url", tg.srv.URL + "/alert",
		"--credits-url", tg.srv.URL + "/credits",
		"--backoff", "30ms", "--max-deliveries", "3", "--http-timeout", "2s",
	}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(10 * time.Second):
				result = errors.New("run did not return within 10s of its context ending")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestFlows(t *testing.T) {
	bus := startAvatarbus(t)
	tg := newTargets(t)
	stop := startService(t, bus.natsURL, tg)

	t.Run("a finished video is notified once, however often it arrives", func(t *testing.T) {
		first := bus.deliver(webhook{source: "heygen", event: "avatar_video.success"})
		again := bus.deliver(webhook{source: "heygen", event: "avatar_video.success"})
		if first.Duplicate || !again.Duplicate || again.ID != first.ID {
			t.Fatalf("avatarbus answers: %+v then %+v", first, again)
		}
		eventually(t, "the notification", func() bool { return len(tg.callsTo("/notify", first.ID)) == 1 })
		c := tg.callsTo("/notify", first.ID)[0]
		want := map[string]any{"id": first.ID, "platform": "heygen", "video_id": "5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47",
			"video_url":     "https://files.heygen.ai/aws_pacific/avatar_tmp/5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47.mp4",
			"correlationid": "order_12345"}
		for k, v := range want {
			if c.body[k] != v {
				t.Errorf("notification %s = %v, want %v", k, c.body[k], v)
			}
		}

		// The same event stored a second time, as happens when a platform retries after the
		// stream's duplicate window: the flow remembers the id and does not notify again.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := bus.js.Stream(ctx, "AVATAR")
		if err != nil {
			t.Fatal(err)
		}
		orig, err := s.GetMsg(ctx, first.Seq)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := bus.js.PublishMsg(ctx, &nats.Msg{Subject: orig.Subject, Data: orig.Data, Header: nats.Header{
			"Content-Type": {envelope.ContentType}}}, jetstream.WithMsgID(first.ID+":after-the-window"))
		if err != nil || ack.Duplicate {
			t.Fatalf("republish: %v %+v", err, ack)
		}
		bus.consumerIdle("avatarflow-notify", ack.Sequence)
		if n := len(tg.callsTo("/notify", first.ID)); n != 1 {
			t.Fatalf("%d notifications for one video, want 1", n)
		}
	})

	t.Run("a failing notifier is retried until it accepts", func(t *testing.T) {
		const id = "tavus:1e30440cf9:ready"
		tg.setAnswer(func(path, key string, before int) int {
			if key == id && before == 0 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		defer tg.setAnswer(nil)
		got := bus.deliver(webhook{source: "tavus", event: "video.ready"})
		if got.ID != id {
			t.Fatalf("id %q, want %q", got.ID, id)
		}
		bus.consumerIdle("avatarflow-notify", got.Seq)
		calls := tg.callsTo("/notify", id)
		if len(calls) != 2 || calls[0].status != 500 || calls[1].status != 200 {
			t.Fatalf("calls %+v, want a 500 then a 200", calls)
		}
		if calls[1].body["video_url"] != "https://stream.mux.com/H5H029h02tY7XDpNj9JFDbLleTyUpsJr5npddO8gRsKqY/high.mp4?download=1e30440cf9" {
			t.Fatalf("video_url %v", calls[1].body["video_url"])
		}
		if dl := bus.deadLetter(got.Subject); dl != nil {
			t.Fatalf("dead letter after a successful retry: %+v", dl.Header)
		}
	})

	t.Run("a notifier refusing the call (4xx) dead-letters the event at once", func(t *testing.T) {
		tg.setAnswer(func(path, key string, before int) int {
			if strings.HasPrefix(key, "synthesia:") {
				return http.StatusUnprocessableEntity
			}
			return http.StatusOK
		})
		defer tg.setAnswer(nil)
		got := bus.deliver(webhook{source: "synthesia", event: "video.completed"})
		var dl *jetstream.RawStreamMsg
		eventually(t, "the dead letter", func() bool { dl = bus.deadLetter(got.Subject); return dl != nil })
		if reason := dl.Header.Get(router.HeaderDeadLetterReason); !strings.Contains(reason, "HTTP 422") {
			t.Fatalf("dead-letter reason %q", reason)
		}
		if c := dl.Header.Get(router.HeaderDeadLetterConsumer); c != "avatarflow-notify" {
			t.Fatalf("dead-letter consumer %q", c)
		}
		if n := len(tg.callsTo("/notify", got.ID)); n != 1 {
			t.Fatalf("%d calls, want 1 (a 4xx is not retried)", n)
		}
	})

	t.Run("a transient failure is re-rendered, a permanent one alerted", func(t *testing.T) {
		transient := bus.deliver(webhook{source: "tavus", event: "video.error"}) // "… try your request again"
		timedOut := bus.deliver(webhook{source: "heygen", event: "avatar_video.fail",
			set: map[string]string{"event_data.video_id": "v_timeout", "event_data.msg": "Rendering timed out"}})
		permanent := bus.deliver(webhook{source: "heygen", event: "avatar_video.fail"}) // "Avatar not found"
		unknown := bus.deliver(webhook{source: "synthesia", event: "video.failed"})     // no reason given
		bus.consumerIdle("avatarflow-failed", unknown.Seq)

		for _, tc := range []struct {
			ev            stored
			path, verdict string
		}{
			{transient, "/rerender", "transient"},
			{timedOut, "/rerender", "transient"},
			{permanent, "/alert", "permanent"},
			{unknown, "/alert", "unknown"},
		} {
			calls := tg.callsTo(tc.path, tc.ev.ID)
			if len(calls) != 1 || calls[0].body["verdict"] != tc.verdict {
				t.Errorf("%s: calls to %s: %+v, want one with verdict %s", tc.ev.ID, tc.path, calls, tc.verdict)
			}
			other := map[string]string{"/rerender": "/alert", "/alert": "/rerender"}[tc.path]
			if n := len(tg.callsTo(other, tc.ev.ID)); n != 0 {
				t.Errorf("%s: %d calls to %s, want none", tc.ev.ID, n, other)
			}
		}
		c := tg.callsTo("/alert", permanent.ID)[0]
		if c.body["correlationid"] != "order_12346" || c.body["error"].(map[string]any)["message"] != "Avatar not found" {
			t.Errorf("alert %+v", c.body)
		}
	})

	t.Run("low credits notify", func(t *testing.T) {
		got := bus.deliver(webhook{source: "acme", event: "contact.created", msgID: "msg_credits_1",
			set: map[string]string{"type": "credits.low", "data.id": "acct_7"}})
		if got.Subject != "avatar.account.credits_low.acme" {
			t.Fatalf("subject %s", got.Subject)
		}
		eventually(t, "the credits call", func() bool { return len(tg.callsTo("/credits", got.ID)) == 1 })
		c := tg.callsTo("/credits", got.ID)[0]
		if c.body["platform"] != "acme" || c.body["account"] != "acct_7" || c.body["details"].(map[string]any)["type"] != "credits.low" {
			t.Fatalf("credits call %+v", c.body)
		}
	})

	t.Run("a recording or a transcript starts the next step", func(t *testing.T) {
		audio := bus.deliver(webhook{source: "elevenlabs", event: "post_call_audio"})
		transcript := bus.deliver(webhook{source: "tavus", event: "application.transcription_ready"})
		for _, tc := range []struct {
			ev          stored
			typ, convID string
		}{
			{audio, envelope.TypeConversationRecordingReady, "conv_3201k0example0000000000000"},
			{transcript, envelope.TypeConversationTranscriptReady, "c123456"},
		} {
			eventually(t, "the generate call", func() bool { return len(tg.callsTo("/generate", tc.ev.ID)) == 1 })
			b := tg.callsTo("/generate", tc.ev.ID)[0].body
			ref, _ := b["event"].(map[string]any)
			if b["type"] != tc.typ || b["conversation_id"] != tc.convID || ref["stream"] != "AVATAR" ||
				ref["seq"] != float64(tc.ev.Seq) || ref["subject"] != tc.ev.Subject {
				t.Errorf("generate call %+v, want type %s, conversation %s, event #%d on %s", b, tc.typ, tc.convID, tc.ev.Seq, tc.ev.Subject)
			}
		}
	})

	t.Run("stops on cancel, and catches up after a restart", func(t *testing.T) {
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("stopping took %s", took)
		}
		// Stored while the service is down: the durable consumer keeps it until it is back.
		got := bus.deliver(webhook{source: "heygen", event: "personalized_video"})
		time.Sleep(100 * time.Millisecond) // room for a wrong call while stopped to show
		if n := len(tg.callsTo("/notify", got.ID)); n != 0 {
			t.Fatalf("%d calls while stopped", n)
		}
		before := len(tg.callsTo("/notify", ""))
		startService(t, bus.natsURL, tg)
		eventually(t, "the notification after the restart", func() bool { return len(tg.callsTo("/notify", got.ID)) == 1 })
		bus.consumerIdle("avatarflow-notify", got.Seq)
		if after := len(tg.callsTo("/notify", "")); after != before+1 {
			t.Fatalf("%d notifications after the restart, want 1 (handled events are not replayed)", after-before)
		}
	})
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"AVATARFLOW_NOTIFY_URL": "http://127.0.0.1:1/notify", "NATS_URL": "nats://10.0.0.1:4222"}
	cfg, err := parseConfig([]string{"--backoff", "1s, 2s"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NotifyURL != env["AVATARFLOW_NOTIFY_URL"] || cfg.NATSURL != env["NATS_URL"] || cfg.Stream != "AVATAR" ||
		len(cfg.Backoff) != 2 || cfg.Backoff[1] != 2*time.Second || cfg.MaxDeliveries != 10 || cfg.HTTPTimeout != 10*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	f := &flows{transient: cfg.Transient}
	for msg, want := range map[string]string{
		"Avatar not found": "permanent", "Invalid voice_id": "permanent", "Script too long": "permanent",
		"Rendering timed out": "transient", "Request timeout": "transient", "Please try your request again": "transient",
		"Rate limit exceeded": "transient", "Service Unavailable": "transient", "upstream returned 503": "transient",
		"Internal server error": "transient", "": "unknown",
	} {
		if got := f.verdict(&envelope.Error{Message: msg}); got != want {
			t.Errorf("verdict(%q) = %s, want %s", msg, got, want)
		}
	}
	if got := f.verdict(nil); got != "unknown" {
		t.Errorf("verdict(nil) = %s", got)
	}

	_, err = parseConfig([]string{"--rerender-url", "ftp://x", "--transient", "(", "--backoff", "soon",
		"--max-deliveries", "0", "--http-timeout", "-1s", "--log-level", "loud"}, func(string) string { return "" }, io.Discard)
	for _, want := range []string{"--rerender-url: want an absolute http(s) URL", "--rerender-url: needs --alert-url",
		"--transient:", `--backoff: "soon"`, "--max-deliveries:", "--http-timeout:", "--log-level:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if _, err := parseConfig(nil, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "no target") {
		t.Errorf("no target: %v", err)
	}
	// A token in a target URL never shows in errors.
	if _, err := parseConfig([]string{"--notify-url", "http://x/?token=s3cret", "--backoff", "x"}, func(string) string { return "" }, io.Discard); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v", err)
	}
}
