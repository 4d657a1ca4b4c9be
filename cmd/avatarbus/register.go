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

	"github.com/avatarbus/avatarbus/platformapi"
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
--show-secret is required. It then prints the source to add to avatarbus.yaml.`,
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
		printNextSteps(stdout, platform, sourceNameOf(u, platform), out)
		return nil
	}
	return cmd
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
		fmt.Fprintln(w, "\nHeyGen's signature header is unconfirmed: check the first delivery (see the README, HeyGen).")
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
