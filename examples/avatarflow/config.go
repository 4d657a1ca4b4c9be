package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/router"
)

// defaultTransient matches the error texts of failed renders worth trying again: time-outs, rate
// limits, overloaded or unavailable services, internal errors, "try again". Anything else (a missing
// avatar, a bad script, no error text at all) goes to a person as an alert.
const defaultTransient = `(?i)time[d ]*out|temporar|try (\w+ )*again|retry|rate.?limit|too many requests|` +
	`unavailable|overload|busy|internal (server )?error|\b5\d\d\b`

// Config is everything the service needs. Every target URL is optional: a flow runs only when
// its URL is set, and at least one must be.
type Config struct {
	// NATSURL is where avatarbus's stream is: `avatarbus serve` exposes its embedded server on
	// nats://127.0.0.1:4222.
	NATSURL string
	// Stream is the stream avatarbus stores events in.
	Stream string
	// Name prefixes the durable consumers (avatarflow-notify …) and names the bucket of handled
	// event ids (avatarflow-done). Two copies of the service with one name share the work.
	Name string

	// NotifyURL receives {id, video_id, video_url, …} for every finished video.
	NotifyURL string
	// RerenderURL receives the failed renders whose error looks transient. Empty: every failure
	// is an alert.
	RerenderURL string
	// AlertURL receives the failed renders that a retry will not fix.
	AlertURL string
	// CreditsURL receives the low-credit warnings.
	CreditsURL string
	// GenerateURL receives a reference to each recording and transcript: the next generation step.
	GenerateURL string

	// SigningSecret, when set (whsec_…), signs every outbound call with Standard Webhooks headers.
	// It comes from the environment only, so that it never shows in a process listing.
	SigningSecret string
	// Transient decides which failures are re-rendered: it is matched against the envelope's
	// data.error code and message.
	Transient *regexp.Regexp
	// HTTPTimeout bounds one outbound call.
	HTTPTimeout time.Duration
	// Backoff is the delay before each retry of a failed call; the last one repeats.
	Backoff []time.Duration
	// MaxDeliveries is how many attempts an event gets before it goes to the dead-letter stream.
	MaxDeliveries int
	// DoneTTL is how long a handled event id is remembered.
	DoneTTL time.Duration
	// LogLevel is a zerolog level.
	LogLevel string
}

// envPrefix prefixes the environment variable of every flag: --notify-url is
// AVATARFLOW_NOTIFY_URL.
const envPrefix = "AVATARFLOW_"

// parseConfig reads flags from args, each defaulting to its environment variable, then to its
// built-in default. It reports every problem at once. Usage goes to out.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("avatarflow", flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(name, def string) string {
		if v := getenv(envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	natsDefault := "nats://127.0.0.1:4222"
	if v := getenv("NATS_URL"); v != "" { // the nats CLI's variable
		natsDefault = v
	}
	var c Config
	var transient, backoff, timeout, ttl, maxDeliveries string
	fs.StringVar(&c.NATSURL, "nats-url", env("nats-url", natsDefault), "NATS server of avatarbus ($AVATARFLOW_NATS_URL, $NATS_URL)")
	fs.StringVar(&c.Stream, "stream", env("stream", router.DefaultStream), "stream avatarbus stores events in")
	fs.StringVar(&c.Name, "name", env("name", "avatarflow"), "prefix of the durable consumers and name of the handled-ids bucket")
	fs.StringVar(&c.NotifyURL, "notify-url", env("notify-url", ""), "POST here for every finished video (e.g. your mailer)")
	fs.StringVar(&c.RerenderURL, "rerender-url", env("rerender-url", ""), "POST here for a failed render whose error looks transient")
	fs.StringVar(&c.AlertURL, "alert-url", env("alert-url", ""), "POST here for a failed render a retry will not fix")
	fs.StringVar(&c.CreditsURL, "credits-url", env("credits-url", ""), "POST here when an account runs low on credits")
	fs.StringVar(&c.GenerateURL, "generate-url", env("generate-url", ""), "POST here when a recording or transcript is ready (the next generation step)")
	fs.StringVar(&transient, "transient", env("transient", defaultTransient), "regular expression: failures whose data.error matches are re-rendered")
	fs.StringVar(&timeout, "http-timeout", env("http-timeout", "10s"), "timeout of one outbound call")
	fs.StringVar(&backoff, "backoff", env("backoff", "5s,30s,2m,10m,30m"), "delays before each retry, comma-separated; the last repeats")
	fs.StringVar(&maxDeliveries, "max-deliveries", env("max-deliveries", "10"), "attempts per event before it is dead-lettered")
	fs.StringVar(&ttl, "done-ttl", env("done-ttl", "168h"), "how long a handled event id is remembered")
	fs.StringVar(&c.LogLevel, "log-level", env("log-level", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.SigningSecret = getenv(envPrefix + "SIGNING_SECRET")

	var errs []error
	bad := func(flag string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	targets := 0
	for _, t := range []struct{ flag, url string }{
		{"notify-url", c.NotifyURL}, {"rerender-url", c.RerenderURL}, {"alert-url", c.AlertURL},
		{"credits-url", c.CreditsURL}, {"generate-url", c.GenerateURL},
	} {
		if t.url == "" {
			continue
		}
		targets++
		if u, err := url.Parse(t.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(t.flag, "want an absolute http(s) URL")
		}
	}
	if targets == 0 {
		errs = append(errs, errors.New("no target: set at least one of --notify-url, --alert-url, --credits-url, --generate-url"))
	}
	if c.RerenderURL != "" && c.AlertURL == "" {
		bad("rerender-url", "needs --alert-url too, for the failures that are not transient")
	}
	var err error
	if c.Transient, err = regexp.Compile(transient); err != nil {
		bad("transient", "%v", err)
	}
	if c.HTTPTimeout, err = time.ParseDuration(timeout); err != nil || c.HTTPTimeout <= 0 {
		bad("http-timeout", "%q is not a positive duration", timeout)
	}
	if c.DoneTTL, err = time.ParseDuration(ttl); err != nil || c.DoneTTL <= 0 {
		bad("done-ttl", "%q is not a positive duration", ttl)
	}
	for _, s := range strings.Split(backoff, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			bad("backoff", "%q is not a duration", s)
			continue
		}
		c.Backoff = append(c.Backoff, d)
	}
	if c.MaxDeliveries, err = strconv.Atoi(maxDeliveries); err != nil || c.MaxDeliveries < 1 {
		bad("max-deliveries", "%q is not a number of at least 1", maxDeliveries)
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil {
		bad("log-level", "%v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}
