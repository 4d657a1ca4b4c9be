package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/config"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

// sourceFlags pick a source: a platform preset with secrets from flags, or a source of a config
// file with everything it configures.
type sourceFlags struct {
	platform string
	secrets  []string
	scheme   string
	source   string
	cfg      *configFlags
}

func addSourceFlags(cmd *cobra.Command, withSecrets bool) *sourceFlags {
	f := &sourceFlags{cfg: addConfigFlags(cmd, nil)}
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform preset: "+strings.Join(platform.Default().Names(), ", "))
	cmd.Flags().StringVar(&f.source, "source", "", "take the source of this name from the config file instead of --platform")
	if withSecrets {
		cmd.Flags().StringArrayVar(&f.secrets, "secret", nil, "secret (repeatable; @FILE reads it from a file)")
		cmd.Flags().StringVar(&f.scheme, "scheme", "", "verification scheme instead of the platform's default: "+strings.Join(verify.Schemes(), ", "))
	}
	return f
}

// resolve returns the config source the flags describe.
func (f *sourceFlags) resolve(cmd *cobra.Command) (config.Source, platform.Preset, error) {
	if f.source != "" {
		cfg, _, err := f.cfg.load(cmd)
		if err != nil {
			return config.Source{}, nil, err
		}
		for _, s := range cfg.Sources {
			if s.Name == f.source {
				p, ok := platform.Default().Lookup(s.Platform)
				if !ok {
					return s, nil, fmt.Errorf("source %q: unknown platform %q", s.Name, s.Platform)
				}
				return s, p, nil
			}
		}
		return config.Source{}, nil, fmt.Errorf("no source %q in the config", f.source)
	}
	if f.platform == "" {
		return config.Source{}, nil, errors.New("--platform or --source is required")
	}
	p, ok := platform.Default().Lookup(f.platform)
	if !ok {
		return config.Source{}, nil, fmt.Errorf("unknown platform %q (known: %s)", f.platform, strings.Join(platform.Default().Names(), ", "))
	}
	src := config.Source{Name: f.platform, Platform: f.platform, Verify: config.Verify{Scheme: f.scheme}}
	for _, s := range f.secrets {
		if path, ok := strings.CutPrefix(s, "@"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return src, nil, fmt.Errorf("--secret @%s: %w", path, err)
			}
			s = strings.TrimRight(string(b), " \t\r\n")
		}
		src.Secrets = append(src.Secrets, s)
	}
	return src, p, nil
}

func newVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the signature of a captured request (exit 0 valid, 1 not valid)",
		Long: `Checks a captured webhook request offline with a platform's scheme and secrets.

Exit status: 0 when the signature is valid, 1 when it is not (the reason is printed), 2 on usage errors.
Use --at to check an old capture as of the time it was received.`,
		Args: cobra.NoArgs,
		Example: `  avatarbus verify --platform standardwebhooks --secret whsec_... \
    --header 'webhook-id: msg_1' --header 'webhook-timestamp: 1614265330' \
    --header 'webhook-signature: v1,...' --body-file body.json --at 1614265330`,
	}
	sf := addSourceFlags(cmd, true)
	cf := addCapturedFlags(cmd)
	at := cmd.Flags().String("at", "", "check timestamps as of this Unix time (default: now)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		src, preset, err := sf.resolve(cmd)
		if err != nil {
			return err
		}
		now, err := parseAt(*at)
		if err != nil {
			return err
		}
		req, err := cf.read(cmd.InOrStdin())
		if err != nil {
			return err
		}
		vc := verifyConfig(preset, src)
		v, err := verify.New(vc)
		if err != nil {
			return err
		}
		res, err := v.Verify(verify.Request{Header: req.header, Query: req.query, Body: req.body, Now: now})
		out := cmd.OutOrStdout()
		if err != nil {
			fmt.Fprintf(out, "invalid: %s (%s)\n", verify.ReasonOf(err), err)
			return &exitError{code: 1, err: errors.New("signature not valid")}
		}
		fmt.Fprintf(out, "valid: scheme %s", vc.Scheme)
		if res.MessageID != "" {
			fmt.Fprintf(out, ", message id %s", res.MessageID)
		}
		if !res.Timestamp.IsZero() {
			fmt.Fprintf(out, ", signed at %s", res.Timestamp.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(out)
		return nil
	}
	return cmd
}

// parseAt reads --at: Unix seconds or RFC 3339; empty means now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want Unix seconds or RFC 3339", s)
	}
	return t, nil
}
