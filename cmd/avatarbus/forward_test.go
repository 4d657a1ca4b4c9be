package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestForwardRunsRoutesStandalone: `avatarbus forward` delivers the events serve stored to the
// routes of the same config file, retrying while the service fails, once each.
func TestForwardRunsRoutesStandalone(t *testing.T) {
	rc, target := newReceiver(t)
	rc.down.Store(true)
	dir := t.TempDir()
	listen, natsListen := freeAddr(t), freeAddr(t)
	base := acmeConfig(listen, natsListen, filepath.Join(dir, "jetstream"))
	startServe(t, mustLoadConfig(t, base)) // no routes: only forward delivers
	withRoutes := writeFile(t, dir, "forward.yaml", base+fmt.Sprintf(`routes:
  - name: crm
    filter: avatar.video.completed.*
    url: %s/hooks
    secret: %q
    backoff: [50ms]
  - name: other
    filter: avatar.>
    url: %s/other
`, target.URL, routeSecret, target.URL))

	const events = 4
	postVideos(t, "http://"+listen+"/webhooks/acme", 0, events)
	fw := startCLI(t, "forward", "--config", withRoutes, "--route", "crm")
	eventually(t, 10*time.Second, func() bool { return rc.refused.Load() >= events }, "forward tried the events while the service was down")
	rc.down.Store(false)
	rc.checkEachOnce(t, events, 10*time.Second, 200*time.Millisecond)
	if err := fw.stop(t); err != nil {
		t.Fatalf("forward returned %v after its context ended, want nil", err)
	}
	if out := fw.stderr.String(); strings.Contains(out, `"route":"other"`) || !strings.Contains(out, "crm") {
		t.Errorf("--route crm should run crm only; log:\n%s", out)
	}

	// forward records its attempts where serve's go: find shows the refused one and the delivery.
	var found struct {
		Events []struct {
			Attempts []struct {
				Route   string `json:"route"`
				Attempt int    `json:"attempt"`
				Status  int    `json:"status"`
			} `json:"attempts"`
		} `json:"events"`
	}
	eventually(t, 10*time.Second, func() bool {
		res := runCLI(t, "", "find", "v0", "--config", withRoutes, "--json")
		found.Events = nil
		return res.code() == 0 && json.Unmarshal([]byte(res.stdout), &found) == nil && len(found.Events) == 1 && len(found.Events[0].Attempts) >= 2
	}, "find v0 shows forward's attempts")
	as := found.Events[0].Attempts
	first, last := as[0], as[len(as)-1]
	if first.Route != "crm" || first.Attempt != 1 || first.Status != http.StatusServiceUnavailable || last.Status/100 != 2 || last.Attempt != len(as) {
		t.Errorf("attempts of v0: %+v; want crm's attempt 1 refused with 503, then attempts in order ending with a 2xx", as)
	}
}

func TestForwardRefusesWithoutRoutes(t *testing.T) {
	dir := t.TempDir()
	cfgFile := writeFile(t, dir, "avatarbus.yaml", acmeConfig(freeAddr(t), freeAddr(t), filepath.Join(dir, "js")))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"forward", "--config", cfgFile}, "no routes in the config"},
		{[]string{"forward", "--config", cfgFile, "--route", "nope"}, `no route "nope"`},
	} {
		b := startCLI(t, tt.args...)
		select {
		case err := <-b.done:
			b.done <- err
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: %v, want an error containing %q", tt.args, err, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v kept running", tt.args)
		}
	}
}
