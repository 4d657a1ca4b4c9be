package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/avatarbus/avatarbus/internal/adminapi/adminapitest"
)

// chromium finds a Chromium to drive, or skips the test when there is none and CI is unset: CI
// installs it (.ci/run), so there a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no chromium on PATH (apt-get install -y chromium); the browser test runs where it is, and always in CI")
	}
	t.Fatal("CI is set but no chromium is on PATH")
	return ""
}

// TestBrowser drives the console with headless Chromium: log in, search a new event, read a job's
// timeline across three platforms, watch the live tail, and redrive a dead letter with a click.
// Screenshots of each page go to t.TempDir(), and to $CONSOLE_SCREENSHOTS when set (docs/img).
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	e := setup(t, token)
	e.deadLetter(t, 2)
	refused := nats.Header{"Avatarbus-Source": {"heygen"}, "Avatarbus-Reason": {"signature_mismatch"},
		"Avatarbus-Detail": {"no signature in Heygen-Signature matches the body"}, "Avatarbus-Received-At": {time.Now().UTC().Format(time.RFC3339Nano)},
		"Http-Heygen-Signature": {"5d41402abc4b2a76b9719d911017c592"}, "Http-Content-Type": {"application/json"}}
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: "quarantine.avatar.heygen", Header: refused,
		Data: []byte(`{"event_type":"avatar_video.success","event_data":{"video_id":"vid-q"}}`)}); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 800),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	shots := t.TempDir()
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		dirs := []string{shots}
		if d := os.Getenv("CONSOLE_SCREENSHOTS"); d != "" {
			dirs = append(dirs, d)
		}
		for _, d := range dirs {
			if err := os.WriteFile(filepath.Join(d, "console-"+name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The first call starts the browser and must not carry a timeout (chromedp.Run's doc).
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/ui/")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	do("login",
		chromedp.WaitVisible(chromedp.CSS(`input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), token),
		chromedp.Submit(chromedp.CSS(`input[name="token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
	)
	shot("events")

	// An event that arrives now is found by the search box.
	adminapitest.Publish(t, e.js, adminapitest.Event{ID: "evt_triggered", Platform: "synthesia", Type: "avatar.video.completed", Resource: "syn-7", Correlation: "c-9", Raw: `{"video_id":"syn-7","status":"done"}`}, time.Now().UTC())
	do("search",
		chromedp.SetValue(chromedp.CSS(`nav input[name="q"]`), "evt_triggered"),
		chromedp.Submit(chromedp.CSS(`nav input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`pre`)),
	)
	shot("event")
	if title, raw := text("h1"), text("pre"); title != "Event evt_triggered" || !strings.Contains(raw, `"video_id": "syn-7"`) {
		t.Errorf("search landed on %q with payload %q", title, raw)
	}

	do("timeline",
		chromedp.SetValue(chromedp.CSS(`nav input[name="q"]`), "c-1"),
		chromedp.Submit(chromedp.CSS(`nav input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)),
	)
	shot("timeline")
	timeline := text("ol.timeline")
	i, j, k := strings.Index(timeline, "heygen"), strings.Index(timeline, "elevenlabs"), strings.Index(timeline, "tavus")
	if i < 0 || !(i < j && j < k) {
		t.Errorf("timeline not heygen, elevenlabs, tavus in order:\n%s", timeline)
	}

	do("tail open",
		chromedp.Navigate(e.srv.URL+"/ui/tail"),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.startsWith("Live")`),
	)
	// The API's stream starts its consumer just after the browser sees the connection open, so an
	// event published at that instant may precede it: publish until one shows.
	var tail string
	for n := 1; n <= 50 && !strings.Contains(tail, "evt_live_"); n++ {
		adminapitest.Publish(t, e.js, adminapitest.Event{ID: fmt.Sprintf("evt_live_%d", n), Platform: "heygen", Type: "avatar.video.completed", Resource: "vid-live", Raw: `{"video_id":"vid-live","status":"done"}`}, time.Now().UTC())
		time.Sleep(200 * time.Millisecond)
		tail = text("#tail")
	}
	shot("tail")
	if !strings.Contains(tail, "evt_live_") {
		t.Errorf("live tail shows %q, want evt_live_*", tail)
	}

	do("dlq",
		chromedp.Navigate(e.srv.URL+"/ui/dlq"),
		chromedp.WaitVisible(chromedp.CSS(`form[action^="/ui/dlq/"] button`)),
	)
	shot("dlq")
	do("redrive",
		chromedp.Click(chromedp.CSS(`form[action^="/ui/dlq/"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)),
	)
	if note := text("p.note"); !strings.Contains(note, "redriven") {
		t.Errorf("dlq note %q", note)
	}
	if got := e.recv.Got(); len(got) != 1 || got[0] != "evt_other" {
		t.Errorf("receiver got %v, want [evt_other]", got)
	}
	do("routes", chromedp.Navigate(e.srv.URL+"/ui/routes"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	shot("routes")
	if routes := text("main"); !strings.Contains(routes, "crm") || !strings.Contains(routes, "heygen") {
		t.Errorf("sources and routes page:\n%s", routes)
	}
	do("quarantine", chromedp.Navigate(e.srv.URL+"/ui/quarantine"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	do("re-verify",
		chromedp.Click(chromedp.CSS(`form[action^="/ui/quarantine/"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)),
	)
	shot("quarantine")
	if note := text("p.note"); !strings.Contains(note, "still not valid: signature_mismatch") {
		t.Errorf("quarantine note %q", note)
	}
	// On a phone the pages fit the width: wide tables and payloads scroll in their own boxes.
	do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"/ui/", "/ui/events/evt_heygen_1", "/ui/dlq", "/ui/timeline?correlation_id=c-1"} {
		do(p, chromedp.Navigate(e.srv.URL+p), chromedp.WaitVisible(chromedp.CSS(`main`)))
		over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 390`))
		if err != nil {
			t.Fatal(err)
		}
		if over {
			t.Errorf("%s is wider than a 390 px phone screen", p)
		}
	}
	shot("phone-timeline")
	t.Logf("screenshots in %s", shots)
}
