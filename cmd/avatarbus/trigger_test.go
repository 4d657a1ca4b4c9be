package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/platform"
)

// allPlatformsConfig is a config with one source per preset that ships samples, named after it.
func allPlatformsConfig(t *testing.T, listen, natsListen, storeDir string) (string, []platform.Preset) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nadmin_listen: \"127.0.0.1:0\"\nnats:\n  embedded:\n    listen: %q\n    store_dir: %q\nsources:\n", listen, natsListen, storeDir)
	var presets []platform.Preset
	for _, p := range platform.Default().All() {
		if s, ok := p.(platform.Sampler); !ok || len(s.Samples()) == 0 {
			continue
		}
		secret := "secret-of-" + p.Name()
		if p.DefaultVerify().Scheme == "standardwebhooks" {
			secret = swSecret
		}
		fmt.Fprintf(&b, "  - name: %s\n    platform: %s\n    secrets: [%q]\n    max_body: 4MiB\n", p.Name(), p.Name(), secret)
		presets = append(presets, p)
	}
	return b.String(), presets
}

// triggerAnswer is the JSON line trigger prints after the status line.
type triggerAnswer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Subject   string `json:"subject"`
}

func parseTriggerOutput(t *testing.T, out string) triggerAnswer {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var a triggerAnswer
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &a); err != nil {
		t.Fatalf("trigger output %q: %v", out, err)
	}
	return a
}

// TestTriggerEverySampleIsStored sends every built-in sample of every platform, signed with the
// platform's real scheme, through HTTP into JetStream, and checks each lands on the subject and
// under the id its golden envelope names.
func TestTriggerEverySampleIsStored(t *testing.T) {
	dir := t.TempDir()
	yaml, presets := allPlatformsConfig(t, freeAddr(t), freeAddr(t), filepath.Join(dir, "js"))
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))

	sent := 0
	for _, p := range presets {
		for _, sample := range p.(platform.Sampler).Samples() {
			t.Run(p.Name()+"/"+sample.Event, func(t *testing.T) {
				res := runCLI(t, "", "trigger", p.Name(), sample.Event, "--config", cfgPath, "--fixed-id")
				if res.err != nil {
					t.Fatalf("trigger: %v\n%s%s", res.err, res.stdout, res.stderr)
				}
				if !strings.Contains(res.stdout, "200 OK") {
					t.Fatalf("answer: %s", res.stdout)
				}
				got := parseTriggerOutput(t, res.stdout)
				raw, err := os.ReadFile(filepath.Join("..", "..", "platform", "testdata", p.Name(), sample.Event+".envelope.json"))
				if err != nil {
					t.Fatal(err)
				}
				var golden struct {
					Subject   string `json:"subject"`
					NatsMsgID string `json:"nats_msg_id"`
				}
				if err := json.Unmarshal(raw, &golden); err != nil {
					t.Fatal(err)
				}
				if got.Subject != golden.Subject {
					t.Fatalf("subject %q, golden %q", got.Subject, golden.Subject)
				}
				// The sample's own ids (--fixed-id); a Standard Webhooks id comes from the delivery's
				// webhook-id, which the golden test does not have.
				if p.DefaultVerify().Scheme != "standardwebhooks" && got.ID != golden.NatsMsgID {
					t.Fatalf("id %q, golden %q", got.ID, golden.NatsMsgID)
				}
				if got.Duplicate {
					t.Fatal("first delivery reported as duplicate")
				}
				sent++
			})
		}
	}
	if sent < 6 {
		t.Fatalf("only %d samples sent", sent)
	}
}

func TestTriggerCommand(t *testing.T) {
	dir := t.TempDir()
	yaml, _ := allPlatformsConfig(t, freeAddr(t), freeAddr(t), filepath.Join(dir, "js"))
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	cfg := mustLoadConfig(t, yaml)
	startServe(t, cfg)
	url := "http://" + cfg.Listen + "/webhooks/heygen"

	first := runCLI(t, "", "trigger", "heygen", "avatar_video.success", "--url", url, "--secret", "secret-of-heygen", "--fixed-id")
	again := runCLI(t, "", "trigger", "heygen", "avatar_video.success", "--url", url, "--secret", "secret-of-heygen", "--fixed-id")
	if first.err != nil || again.err != nil {
		t.Fatalf("%v %v", first.err, again.err)
	}
	if !parseTriggerOutput(t, again.stdout).Duplicate {
		t.Fatalf("the same sample twice with --fixed-id must be a duplicate: %s", again.stdout)
	}
	changed := runCLI(t, "", "trigger", "heygen", "avatar_video.success", "--config", cfgPath,
		"--set", "event_data.video_id=v_custom", "--set", "event_data.duration=12.5")
	if changed.err != nil {
		t.Fatal(changed.err)
	}
	if a := parseTriggerOutput(t, changed.stdout); a.ID != "heygen:avatar_video.success:v_custom" || a.Duplicate {
		t.Fatalf("--set: %+v", a)
	}

	wrong := runCLI(t, "", "trigger", "heygen", "avatar_video.success", "--url", url, "--secret", "not-the-secret")
	if wrong.code() != 1 || !strings.Contains(wrong.stdout, "401") || !strings.Contains(wrong.stdout, "signature_mismatch") {
		t.Fatalf("wrong secret: code %d\n%s", wrong.code(), wrong.stdout)
	}
	if strings.Contains(wrong.stdout+wrong.stderr, "not-the-secret") {
		t.Fatal("trigger printed the secret")
	}

	list := runCLI(t, "", "trigger", "--list")
	for _, want := range []string{"heygen (hmac):", "avatar_video.success", "standardwebhooks (standardwebhooks):", "contact.created"} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("--list lacks %q:\n%s", want, list.stdout)
		}
	}
	for _, args := range [][]string{
		{"trigger", "heygen"},
		{"trigger", "nope", "x", "--url", url},
		{"trigger", "heygen", "no_such_event", "--url", url},
		{"trigger", "heygen", "avatar_video.success"},
		{"trigger", "heygen", "avatar_video.success", "--url", "ftp://x", "--secret", "s"},
	} {
		if res := runCLI(t, "", args...); res.code() != 2 {
			t.Errorf("%v: code %d, want 2 (usage)", args, res.code())
		}
	}
}

// TestTriggerFreshIDs: every sample of every platform, sent twice, is stored twice under two ids
// (a second run is not a duplicate); sent twice with --fixed-id, the second is a duplicate of the
// first, under the same id. The stream holds exactly what was stored.
func TestTriggerFreshIDs(t *testing.T) {
	dir := t.TempDir()
	natsAddr := freeAddr(t)
	yaml, presets := allPlatformsConfig(t, freeAddr(t), natsAddr, filepath.Join(dir, "js"))
	cfgPath := writeFile(t, dir, "avatarbus.yaml", yaml)
	startServe(t, mustLoadConfig(t, yaml))

	trigger := func(t *testing.T, args ...string) triggerAnswer {
		t.Helper()
		res := runCLI(t, "", append([]string{"trigger"}, append(args, "--config", cfgPath)...)...)
		if res.err != nil {
			t.Fatalf("trigger %v: %v\n%s%s", args, res.err, res.stdout, res.stderr)
		}
		return parseTriggerOutput(t, res.stdout)
	}
	stored := uint64(0)
	for _, p := range presets {
		for _, sample := range p.(platform.Sampler).Samples() {
			t.Run(p.Name()+"/"+sample.Event, func(t *testing.T) {
				first, second := trigger(t, p.Name(), sample.Event), trigger(t, p.Name(), sample.Event)
				if first.Duplicate || second.Duplicate || first.ID == second.ID {
					t.Errorf("two runs: %+v then %+v; want two new events", first, second)
				}
				fixed, resent := trigger(t, p.Name(), sample.Event, "--fixed-id"), trigger(t, p.Name(), sample.Event, "--fixed-id")
				if fixed.Duplicate || !resent.Duplicate || fixed.ID != resent.ID {
					t.Errorf("--fixed-id twice: %+v then %+v; want a new event, then its duplicate", fixed, resent)
				}
				if fixed.ID == first.ID || fixed.ID == second.ID {
					t.Errorf("--fixed-id id %q is a fresh run's", fixed.ID)
				}
				stored += 3
			})
		}
	}
	if _, info := avatarStreamInfo(t, natsAddr); info.State.Msgs != stored || stored < 60 {
		t.Errorf("stream holds %d events, want the %d stored", info.State.Msgs, stored)
	}
}
