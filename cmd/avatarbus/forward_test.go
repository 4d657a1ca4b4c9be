package main

import (
	"fmt"
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
