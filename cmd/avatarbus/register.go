package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/platformapi"
)

// apiFlags are the flags of every command that calls a platform's management API.
type apiFlags struct {
	key  string
	base string
}

func addAPIFlags(cmd *cobra.Command) *apiFlags {
	f := &apiFlags{}
	cmd.Flags().StringVar(&f.key, "api-key", "", "the platform's API key (default: $HEYGEN_API_KEY, $SYNTHESIA_API_KEY or $ELEVENLABS_API_KEY; prefer the variable, flags show in the process list)")
	cmd.Flags().StringVar(&f.base, "api-base", "", "the platform's API base URL (default: its public API)")
	return f
}

// apiKeyEnv is the environment variable holding a platform's API key: HEYGEN_API_KEY …
func apiKeyEnv(platform string) string { return strings.ToUpper(platform) + "_API_KEY" }

// options returns the client options for platform, the key from --api-key or the environment.
func (f *apiFlags) options(platform string) (platformapi.Options, error) {
	key := f.key
	if key == "" {
		key = os.Getenv(apiKeyEnv(platform))
	}
	if strings.TrimSpace(key) == "" {
		return platformapi.Options{}, fmt.Errorf("no API key for %s: set %s or pass --api-key", platform, apiKeyEnv(platform))
	}
	return platformapi.Options{Base: f.base, Key: key}, nil
}

// registrar returns the Registrar of the platform named by the command's argument.
func (f *apiFlags) registrar(platform string) (platformapi.Registrar, error) {
	if !slices.Contains(platformapi.RegistrarPlatforms(), platform) { // said before asking for a key
		return nil, fmt.Errorf("%w: %q has no webhook management API (%s have one; D-ID and Tavus take a callback URL in each request: see `avatarbus callback-url`)",
			platformapi.ErrUnsupported, platform, strings.Join(platformapi.RegistrarPlatforms(), ", "))
	}
	o, err := f.options(platform)
	if err != nil {
		return nil, err
	}
	return platformapi.NewRegistrar(platform, o)
}

// apiError adds what to do to an error of a platform API, and exits 1 (2 is for usage errors).
func apiError(platform string, err error) error {
	var hint string
	switch {
	case errors.Is(err, platformapi.ErrUnauthorized):
		hint = fmt.Sprintf("the API key was refused: check %s or --api-key", apiKeyEnv(platform))
	case errors.Is(err, platformapi.ErrRateLimited):
		hint = "the platform asks to slow down: retry in a minute"
	case errors.Is(err, platformapi.ErrServer), errors.Is(err, platformapi.ErrUnreachable):
		hint = "the platform's API is not answering properly: retry later"
	case errors.Is(err, platformapi.ErrNotFound):
		hint = "no such webhook: `avatarbus webhooks list " + platform + "` shows them"
	}
	if hint != "" {
		err = fmt.Errorf("%w (%s)", err, hint)
	}
	return &exitError{code: 1, err: err}
}

func newRegisterCommand() *cobra.Command {
	var (
		publicURL, writeSecret, name string
		events                       []string
		showSecret                   bool
	)
	cmd := &cobra.Command{
		Use:   "register PLATFORM --url PUBLIC_URL (--write-secret FILE | --show-secret)",
		Short: "Register a webhook URL with the platform's API and keep the secret it returns",
		Long: `Registers PUBLIC_URL (https://…/webhooks/{source}) with the platform's webhook API
(` + strings.Join(platformapi.RegistrarPlatforms(), ", ") + `) and writes the signing secret it returns to
FILE with mode 0600. The platforms show the secret only once, so one of --write-secret or
--show-secret is required. It then prints the source to add to avatarbus.yaml.

HeyGen: event names are checked against GET /v3/webhooks/event-types first (an unknown name
changes nothing). When an endpoint with the same URL exists already, its events are replaced with
--events (PATCH) instead of registering a second endpoint; HeyGen returns no secret then, so the
one you have stays valid and nothing is written. ElevenLabs: retries are turned on for the new
webhook (a failure there is a warning; the webhook is registered).`,
		Args: cobra.ExactArgs(1),
	}
	api := addAPIFlags(cmd)
	cmd.Flags().StringVar(&publicURL, "url", "", "the public URL the platform will POST to, e.g. https://hooks.example.com/webhooks/heygen (required)")
	cmd.Flags().StringSliceVar(&events, "events", nil, "the platform's event names to subscribe to, comma-separated (default: all for HeyGen, video.completed,video.failed for Synthesia)")
	cmd.Flags().StringVar(&writeSecret, "write-secret", "", "write the returned secret to this file (mode 0600)")
	cmd.Flags().BoolVar(&showSecret, "show-secret", false, "print the returned secret")
	cmd.Flags().StringVar(&name, "name", "", "the webhook's name where the platform has names (ElevenLabs; default avatarbus)")
	_ = cmd.MarkFlagRequired("url")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		platform := args[0]
		if writeSecret == "" && !showSecret {
			return errors.New("the platform returns the secret only once: pass --write-secret FILE (or --show-secret)")
		}
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--url %q must be an absolute https URL", publicURL)
		}
		if u.Scheme != "https" {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning: the platforms expect a public https URL")
		}
		reg, err := api.registrar(platform)
		if err != nil {
			return err
		}
		var out *secretFile
		if writeSecret != "" {
			// Checked before registering: a secret that cannot be written would be lost.
			if out, err = createSecretFile(writeSecret); err != nil {
				return err
			}
			defer out.discard()
		}
		if typer, ok := reg.(platformapi.EventTyper); ok && len(events) > 0 {
			valid, err := typer.EventTypes(cmd.Context())
			if err != nil {
				return apiError(platform, err)
			}
			if err := platformapi.CheckEvents(events, valid); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--events: %w (nothing was changed)", err)}
			}
		}
		if updater, ok := reg.(platformapi.Updater); ok {
			done, err := updateExisting(cmd, updater, platform, publicURL, events)
			if done || err != nil {
				return err
			}
		}
		w, err := reg.Create(cmd.Context(), platformapi.Registration{URL: publicURL, Events: events, Name: name})
		if err != nil {
			return apiError(platform, err)
		}
		stdout := cmd.OutOrStdout()
		fmt.Fprintf(stdout, "Registered %s webhook %s for %s", platform, w.ID, publicURL)
		if w.Status != "" {
			fmt.Fprintf(stdout, " (%s)", w.Status)
		}
		fmt.Fprintln(stdout)
		if err := keepSecret(stdout, out, w.Secret, showSecret); err != nil {
			return err
		}
		if retrier, ok := reg.(platformapi.RetryEnabler); ok {
			if err := retrier.EnableRetries(cmd.Context(), w.ID, name); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the webhook is registered, but its retries could not be turned on (%v): "+
					"turn them on in the platform's webhook settings, or a delivery that fails once is lost\n", err)
			} else {
				fmt.Fprintln(stdout, "Retries turned on (the platform retries failed deliveries on 5xx, 429 and timeouts).")
			}
		}
		printNextSteps(stdout, platform, sourceNameOf(u, platform), out)
		return nil
	}
	return cmd
}

// updateExisting looks for an endpoint of publicURL and, when there is one, replaces its events
// instead of registering a second endpoint for the same URL (each would deliver every event, and
// each has its own secret). done is true when it found one.
func updateExisting(cmd *cobra.Command, u platformapi.Updater, platform, publicURL string, events []string) (done bool, err error) {
	all, err := u.List(cmd.Context())
	if err != nil {
		return false, apiError(platform, err)
	}
	i := slices.IndexFunc(all, func(w platformapi.Webhook) bool { return w.URL == publicURL })
	if i < 0 {
		return false, nil
	}
	existing := all[i]
	stdout := cmd.OutOrStdout()
	if len(events) == 0 {
		fmt.Fprintf(stdout, "%s webhook %s is already registered for %s (events: %s); nothing changed. "+
			"Pass --events to replace its events.\n", platform, existing.ID, publicURL, eventList(existing.Events))
		return true, nil
	}
	w, err := u.UpdateEvents(cmd.Context(), existing.ID, events)
	if err != nil {
		return true, apiError(platform, err)
	}
	if len(w.Events) == 0 {
		w.Events = events
	}
	fmt.Fprintf(stdout, "Updated %s webhook %s for %s: its events are now %s (were %s).\n"+
		"No new secret: the endpoint keeps its secret, and nothing was written.\n",
		platform, existing.ID, publicURL, eventList(w.Events), eventList(existing.Events))
	return true, nil
}

// eventList prints an endpoint's events; none means every event.
func eventList(events []string) string {
	if len(events) == 0 {
		return "all"
	}
	return strings.Join(events, ",")
}

// keepSecret writes the secret to out (when set) and prints it when asked; it never prints it
// otherwise.
func keepSecret(stdout io.Writer, out *secretFile, secret string, show bool) error {
	if secret == "" {
		return &exitError{code: 1, err: errors.New("the platform returned no secret")}
	}
	if out != nil {
		if err := out.commit(secret); err != nil {
			fmt.Fprintln(stdout, "The secret could not be written; here it is, shown once:", secret)
			return err
		}
		fmt.Fprintf(stdout, "Secret written to %s (mode 0600).\n", out.path)
	}
	if show {
		fmt.Fprintf(stdout, "Secret: %s\n", secret)
	}
	return nil
}

// sourceNameOf guesses the source name from a URL ending in /webhooks/{name}, else the platform.
func sourceNameOf(u *url.URL, platform string) string {
	dir, name := path.Split(strings.TrimSuffix(u.Path, "/"))
	if path.Base(dir) == "webhooks" && name != "" {
		return name
	}
	return platform
}

// printNextSteps prints the source to add to the config, and what the platform still needs.
func printNextSteps(w io.Writer, platform, source string, out *secretFile) {
	secret := fmt.Sprintf("${%s_WEBHOOK_SECRET}", strings.ToUpper(platform))
	if out != nil {
		secret = "@" + out.path
	}
	fmt.Fprintf(w, `
Next: add this source to avatarbus.yaml (or, if it is there already, send avatarbus SIGHUP to re-read
the secret file: kill -HUP <pid>):

sources:
  - name: %s
    platform: %s
    secrets: [%q]
`, source, platform, secret)
	switch platform {
	case "elevenlabs":
		fmt.Fprintln(w, "\nThen attach the webhook in ElevenLabs: Agents → your agent → Settings → Post-call webhook.")
	case "heygen":
		fmt.Fprintln(w, "\nHeyGen signs each delivery with Heygen-Signature (hex HMAC-SHA256 of the body, keyed with this secret\n"+
			"as is) and Heygen-Timestamp: the heygen preset checks both (docs/platforms/heygen.md).")
	}
}

// secretFile writes a secret atomically: a temporary file in the same directory (mode 0600) is
// renamed over the target, so a process re-reading it on SIGHUP never sees half a secret.
type secretFile struct {
	path string
	tmp  *os.File
}

// createSecretFile prepares writing path. It refuses a path that exists and is readable or
// writable by others than its owner: a secret must not land in a file that leaks it.
func createSecretFile(p string) (*secretFile, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err == nil {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("--write-secret %s: not a regular file", abs)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("--write-secret %s: the file exists with mode %04o, readable by others: chmod 600 it or choose another path", abs, st.Mode().Perm())
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--write-secret: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".*")
	if err != nil {
		return nil, fmt.Errorf("--write-secret: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil { // CreateTemp makes 0600 already; stated for clarity
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("--write-secret: %w", err)
	}
	return &secretFile{path: abs, tmp: tmp}, nil
}

// commit writes secret and a newline, syncs, and renames the file into place.
func (f *secretFile) commit(secret string) error {
	if _, err := io.WriteString(f.tmp, secret+"\n"); err != nil {
		return fmt.Errorf("writing the secret: %w", err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fmt.Errorf("writing the secret: %w", err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("writing the secret: %w", err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return fmt.Errorf("writing the secret: %w", err)
	}
	f.tmp = nil
	return nil
}

// discard removes the temporary file unless commit moved it into place.
func (f *secretFile) discard() {
	if f.tmp != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}
