package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

func newTriggerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger PLATFORM EVENT",
		Short: "Sign a built-in sample event with the platform's real scheme and POST it",
		Long: `Sends one of the built-in sample events of a platform to an avatarbus endpoint, signed the way the
platform signs it, prints the answer, and exits non-zero when the answer is not 2xx.

EVENT is the platform's own event name (avatar_video.success, video.completed, post_call_transcription)
or, for platforms without one, the sample's name (talk.done, video.ready). --list shows them all.
Each run is a new occurrence of the event: the sample's id fields (event_id, id, video_id,
conversation_id, ...) get a random suffix and a Standard Webhooks sample a new webhook-id, so the
event is stored under a new id. --fixed-id sends the sample's own ids (and a webhook-id derived from
the body): a second run is then answered "duplicate": true, as a platform's retry would be.
--set changes fields after that (so --set id=... wins).`,
		Example: `  avatarbus trigger heygen avatar_video.success --url http://localhost:8080/webhooks/heygen --secret S
  avatarbus trigger standardwebhooks contact.created --config avatarbus.yaml --source acme
  avatarbus trigger heygen avatar_video.fail --config avatarbus.yaml --set event_data.video_id=v123
  avatarbus trigger did talk.done --config avatarbus.yaml --fixed-id   # twice: the second is a duplicate
  avatarbus trigger --list`,
		Args: cobra.RangeArgs(0, 2),
	}
	list := cmd.Flags().Bool("list", false, "list the platforms and their sample events")
	target := cmd.Flags().String("url", "", "endpoint to POST to (default with --config: http://localhost:<listen port>/webhooks/<source>)")
	secret := cmd.Flags().String("secret", "", "secret to sign with (default with --config: the source's first secret)")
	source := cmd.Flags().String("source", "", "source in the config file (default: a source of PLATFORM)")
	sets := cmd.Flags().StringArray("set", nil, "change the sample: 'path.to.field=value' (value parsed as JSON when it is JSON; repeatable)")
	fixedID := cmd.Flags().Bool("fixed-id", false, "send the sample's own ids, so a second run is a duplicate (default: fresh ids each run)")
	cf := addConfigFlags(cmd, nil)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		out := cmd.OutOrStdout()
		if *list {
			printSamples(out)
			return nil
		}
		if len(args) != 2 {
			return errors.New("want PLATFORM EVENT (see --list)")
		}
		preset, sample, err := findSample(args[0], args[1])
		if err != nil {
			return err
		}
		if !*fixedID {
			if sample, err = sample.WithFreshIDs("-" + randomHex(4)); err != nil {
				return err
			}
		}
		if sample, err = sample.With(*sets...); err != nil {
			return fmt.Errorf("--set: %w", err)
		}
		body := sample.Body
		// The sender's message id (Standard Webhooks webhook-id), which the generic preset's event id
		// is: new per run, or with --fixed-id the same for the same body, as a retry's would be.
		msgID := "msg_" + randomHex(12)
		if *fixedID {
			msgID = "msg_" + bodyHex(body, 12)
		}
		src := config.Source{Name: preset.Name(), Platform: preset.Name()}
		if cf.path != "" || *source != "" {
			cfg, _, err := cf.load(cmd)
			if err != nil {
				return err
			}
			if src, err = sourceOf(cfg, preset.Name(), *source); err != nil {
				return err
			}
			if *target == "" {
				*target, err = localURL(cfg.Listen, src.Name)
				if err != nil {
					return err
				}
			}
			if *secret == "" && len(src.Secrets) > 0 {
				*secret = src.Secrets[0]
			}
		}
		if *target == "" {
			return errors.New("--url is required (or --config to take it from the config)")
		}
		vc := src.VerifyConfig(preset)
		req, err := triggerRequest(cmd.Context(), vc, *secret, *target, msgID, body)
		if err != nil {
			return err
		}
		if preset.Name() == "heygen" {
			// HeyGen sends its event id in an unsigned header (developers.heygen.com/docs/webhooks):
			// the body's event_id when it has one, else an id of this delivery (unsigned, it is
			// never the dedup id).
			id := platform.HeyGenEventID(body)
			if id == "" {
				id = "evt_" + strings.TrimPrefix(msgID, "msg_")
			}
			req.Header.Set(platform.HeyGenEventIDHeader, id)
		}
		return postAndReport(req, out)
	}
	return cmd
}

// findSample looks up a platform's sample event by name.
func findSample(platformName, event string) (platform.Preset, platform.Sample, error) {
	p, ok := platform.Default().Lookup(platformName)
	if !ok {
		return nil, platform.Sample{}, fmt.Errorf("unknown platform %q (known: %s)", platformName, strings.Join(platform.Default().Names(), ", "))
	}
	s, ok := p.(platform.Sampler)
	if !ok || len(s.Samples()) == 0 {
		return nil, platform.Sample{}, fmt.Errorf("platform %q has no built-in samples", platformName)
	}
	var names []string
	for _, sample := range s.Samples() {
		if sample.Event == event {
			return p, sample, nil
		}
		names = append(names, sample.Event)
	}
	return nil, platform.Sample{}, fmt.Errorf("platform %q has no sample %q (it has: %s)", platformName, event, strings.Join(names, ", "))
}

func printSamples(w io.Writer) {
	for _, p := range platform.Default().All() {
		s, ok := p.(platform.Sampler)
		if !ok || len(s.Samples()) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%s):\n", p.Name(), p.DefaultVerify().Scheme)
		for _, sample := range s.Samples() {
			fmt.Fprintf(w, "  %s\n", sample.Event)
		}
	}
}

// sourceOf picks the source to trigger: by name, else the only source of the platform.
func sourceOf(cfg *config.Config, platformName, name string) (config.Source, error) {
	var matches []config.Source
	for _, s := range cfg.Sources {
		if (name != "" && s.Name == name) || (name == "" && s.Platform == platformName) {
			matches = append(matches, s)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) == 0 && name != "":
		return config.Source{}, fmt.Errorf("no source %q in the config", name)
	case len(matches) == 0:
		return config.Source{}, fmt.Errorf("no source of platform %q in the config", platformName)
	default:
		return config.Source{}, fmt.Errorf("several sources of platform %q in the config: pick one with --source", platformName)
	}
}

// localURL is the webhook URL of source on this machine, from the listen address.
func localURL(listen, source string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhooks/" + url.PathEscape(source), nil
}

// triggerRequest builds the POST of body to target, signed as the scheme's senders sign.
func triggerRequest(ctx context.Context, vc verify.Config, secret, target, msgID string, body []byte) (*http.Request, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want an http(s) URL", target)
	}
	var signed verify.Signed
	if vc.Scheme != "none" {
		if secret == "" {
			return nil, fmt.Errorf("--secret is required to sign with scheme %s", vc.Scheme)
		}
		if signed, err = verify.Sign(vc, secret, msgID, time.Now(), body); err != nil {
			return nil, err
		}
	}
	q := u.Query()
	for k, vs := range signed.Query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "avatarbus-trigger")
	for k, vs := range signed.Header {
		req.Header[k] = vs
	}
	return req, nil
}

// randomHex returns n random bytes in hex: the fresh part of a run's ids.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// bodyHex returns the first n bytes of body's SHA-256 in hex: an id that is the same whenever the
// body is.
func bodyHex(body []byte, n int) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:n])
}

func postAndReport(req *http.Request, out io.Writer) error {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL, token included
		}
		return fmt.Errorf("POST %s: %w", redactedURL(req.URL), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(out, "POST %s\n%s\n%s\n", redactedURL(req.URL), resp.Status, bytes.TrimSpace(answer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &exitError{code: 1, err: fmt.Errorf("answer %s", resp.Status)}
	}
	return nil
}

// redactedURL prints a URL without its query values, which may hold a token.
func redactedURL(u *url.URL) string {
	c := *u
	q := c.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set(k, "REDACTED")
	}
	c.RawQuery = q.Encode()
	return c.String()
}
