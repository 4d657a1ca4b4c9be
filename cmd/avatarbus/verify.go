package main

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/adminapi"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/platformapi"
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
	return newSourceFlags(cmd, addConfigFlags(cmd, nil), withSecrets)
}

// newSourceFlags adds the source flags to cmd, reading config files through cf.
func newSourceFlags(cmd *cobra.Command, cf *configFlags, withSecrets bool) *sourceFlags {
	f := &sourceFlags{cfg: cf}
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform preset: "+strings.Join(platform.Default().Names(), ", "))
	cmd.Flags().StringVar(&f.source, "source", "", "take the source of this name from the config file instead of --platform")
	if withSecrets {
		cmd.Flags().StringArrayVar(&f.secrets, "secret", nil, "secret (repeatable; @FILE reads it from a file)")
		cmd.Flags().StringVar(&f.scheme, "scheme", "", "verification scheme instead of the platform's default: "+strings.Join(verify.Schemes(), ", "))
	}
	return f
}

// resolve returns the config source the flags describe. --secret replaces the secrets of a
// --source from the config: checking a capture against a new secret before it is deployed.
func (f *sourceFlags) resolve(cmd *cobra.Command) (config.Source, platform.Preset, error) {
	secrets, err := f.flagSecrets()
	if err != nil {
		return config.Source{}, nil, err
	}
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
				if len(secrets) > 0 {
					s.Secrets = secrets
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
	return config.Source{Name: f.platform, Platform: f.platform, Verify: config.Verify{Scheme: f.scheme}, Secrets: secrets}, p, nil
}

// flagSecrets reads the --secret values, following @FILE references.
func (f *sourceFlags) flagSecrets() ([]string, error) {
	var secrets []string
	for _, s := range f.secrets {
		if path, ok := strings.CutPrefix(s, "@"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("--secret @%s: %w", path, err)
			}
			s = strings.TrimRight(string(b), " \t\r\n")
		}
		secrets = append(secrets, s)
	}
	return secrets, nil
}

func newVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the signature of a captured or quarantined request (exit 0 valid, 1 not valid)",
		Long: `Checks a captured webhook request offline with a platform's scheme and secrets.

Exit status: 0 when the signature is valid, 1 when it is not (the reason is printed), 2 on usage errors.
Use --at to check an old capture as of the time it was received.

--from-quarantine SEQ reads the request refused at sequence SEQ of the quarantine stream
(AVATAR_QUARANTINE; the sequence is in the "verification failed" log line as quarantine_seq) instead
of a capture, through NATS found like tail does (--config, --nats-url). It is checked with the
secrets of the source it was sent to, as the config now has them (after fixing a secret), or with
--source / --platform and --secret. Timestamps are judged as of the time avatarbus received the
request, so a request refused as stale is still stale; give --at to judge it as of another time.
The query string is never kept (a token source's token travels there), so token sources cannot be
re-checked this way. A request refused as "unconfirmed" (confirm: fetch) passed verification; the
command prints what the platform's API said and exits 1.`,
		Args: cobra.NoArgs,
		Example: `  avatarbus verify --platform standardwebhooks --secret whsec_... \
    --header 'webhook-id: msg_1' --header 'webhook-timestamp: 1614265330' \
    --header 'webhook-signature: v1,...' --body-file body.json --at 1614265330
  avatarbus verify --from-quarantine 42 --config avatarbus.yaml
  avatarbus verify --from-quarantine 42 --nats-url nats://nats.internal:4222 --platform heygen --secret @new-secret`,
	}
	sf := newSourceFlags(cmd, addNATSFlags(cmd), true)
	cf := addCapturedFlags(cmd)
	at := cmd.Flags().String("at", "", "check timestamps as of this Unix time (default: now, or the receive time with --from-quarantine)")
	fromQuarantine := cmd.Flags().Uint64("from-quarantine", 0, "check the refused request kept at this sequence of the quarantine stream")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		out := cmd.OutOrStdout()
		var (
			src    config.Source
			preset platform.Preset
			req    captured
			now    time.Time
			err    error
		)
		if cmd.Flags().Changed("from-quarantine") {
			for _, f := range []string{"request", "header", "query", "body-file"} {
				if cmd.Flags().Changed(f) {
					return fmt.Errorf("--from-quarantine reads the request from the quarantine: --%s cannot be given with it", f)
				}
			}
			var r *broker.Refused
			if r, err = readQuarantined(cmd, sf.cfg, *fromQuarantine); err != nil {
				return err
			}
			fmt.Fprintf(out, "quarantined request %d: source %s, refused %s, received %s, request id %s\n",
				*fromQuarantine, r.Source, r.Reason, r.ReceivedAt.UTC().Format(time.RFC3339), r.RequestID)
			if r.Reason == platformapi.ReasonUnconfirmed {
				// Its token or signature passed; the platform's API refused the event. Nothing to
				// re-check here (the token is never kept): say what the platform said.
				fmt.Fprintf(out, "passed verification, then the platform's API did not confirm it: %s\n", r.Detail)
				return &exitError{code: 1, err: errors.New("event not confirmed by the platform")}
			}
			if sf.platform == "" && sf.source == "" {
				sf.source = r.Source // the source it was sent to, with the config's current secrets
				if _, _, err := sf.resolve(cmd); err != nil {
					return fmt.Errorf("%w; give --config with the source %q, or --source, or --platform and --secret", err, r.Source)
				}
			}
			req = captured{header: textproto.MIMEHeader(r.Header), query: url.Values{}, body: r.Body}
			now = r.ReceivedAt
			if now.IsZero() {
				now = time.Now()
			}
			if cmd.Flags().Changed("at") {
				if now, err = parseAt(*at); err != nil {
					return err
				}
			}
		} else {
			if now, err = parseAt(*at); err != nil {
				return err
			}
			if req, err = cf.read(cmd.InOrStdin()); err != nil {
				return err
			}
		}
		if src, preset, err = sf.resolve(cmd); err != nil {
			return err
		}
		vc := src.VerifyConfig(preset)
		v, err := verify.New(vc)
		if err != nil {
			return err
		}
		res, err := v.Verify(verify.Request{Header: req.header, Query: req.query, Body: req.body, Now: now})
		if err != nil {
			fmt.Fprintf(out, "invalid: %s (%s)\n", verify.ReasonOf(err), err)
			if vc.Scheme == "token" && cmd.Flags().Changed("from-quarantine") {
				fmt.Fprintln(out, "note: the quarantine never keeps a token (query string and token header are dropped), so a token source cannot be re-checked from it")
			}
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

// readQuarantined reads the refused request at seq of the quarantine stream named by the config
// (quarantine.stream, default <stream.name>_QUARANTINE), connecting as tail does.
func readQuarantined(cmd *cobra.Command, cf *configFlags, seq uint64) (*broker.Refused, error) {
	if seq == 0 {
		return nil, errors.New("--from-quarantine: sequences start at 1")
	}
	cfg, err := loadNATSConfig(cmd, cf)
	if err != nil {
		return nil, err
	}
	nc, js, err := dialJetStream(cfg, "avatarbus verify", &lockedWriter{w: cmd.ErrOrStderr()})
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	name := cfg.QuarantineStream()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("quarantine stream %s: %w (is quarantine.enabled on in the serving avatarbus?)", name, err)
	}
	msg, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("quarantine stream %s, sequence %d: %w (expired after quarantine.max_age, pushed out by quarantine.max_bytes, or never kept)", name, seq, err)
	}
	r, err := broker.RefusedFromMsg(msg.Header, msg.Data)
	if err != nil {
		return nil, fmt.Errorf("quarantine stream %s, sequence %d: %w", name, seq, err)
	}
	return r, nil
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

// reverifyOne checks a quarantined request again for the console and the admin API, as
// `verify --from-quarantine SEQ --config` does: with the secrets of its source as the config has
// them now (secret files re-read), timestamps judged as of its receipt.
func reverifyOne(cfg *config.Config, js jetstream.JetStream) adminapi.Reverifier {
	return func(ctx context.Context, seq uint64) (adminapi.Reverified, error) {
		s, err := js.Stream(ctx, cfg.QuarantineStream())
		if err != nil {
			return adminapi.Reverified{}, fmt.Errorf("%w: quarantine stream %s: %w", adminapi.ErrNotFound, cfg.QuarantineStream(), err)
		}
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return adminapi.Reverified{}, fmt.Errorf("%w: quarantined request %d: %w", adminapi.ErrNotFound, seq, err)
		}
		r, err := broker.RefusedFromMsg(m.Header, m.Data)
		if err != nil {
			return adminapi.Reverified{}, fmt.Errorf("%w: quarantined request %d: %w", adminapi.ErrBadRequest, seq, err)
		}
		out := adminapi.Reverified{Seq: seq, Source: r.Source, Refused: r.Reason, ReceivedAt: r.ReceivedAt}
		if r.Reason == platformapi.ReasonUnconfirmed {
			out.Reason, out.Detail = r.Reason, "passed verification, then the platform's API did not confirm it: "+r.Detail
			return out, nil
		}
		now := cfg.Clone()
		if err := now.ResolveSecrets(nil, nil); err != nil {
			return out, err
		}
		i := slices.IndexFunc(now.Sources, func(s config.Source) bool { return s.Name == r.Source })
		if i < 0 {
			return out, fmt.Errorf("%w: source %q is not in the config any more", adminapi.ErrBadRequest, r.Source)
		}
		src := now.Sources[i]
		p, ok := platform.Default().Lookup(src.Platform)
		if !ok {
			return out, fmt.Errorf("source %q: unknown platform %q", src.Name, src.Platform)
		}
		vc := src.VerifyConfig(p)
		v, err := verify.New(vc)
		if err != nil {
			return out, err
		}
		out.Scheme = vc.Scheme
		res, err := v.Verify(verify.Request{Header: textproto.MIMEHeader(r.Header), Query: url.Values{}, Body: r.Body, Now: r.ReceivedAt})
		if err != nil {
			out.Reason, out.Detail = verify.ReasonOf(err), err.Error()
			if vc.Scheme == "token" {
				out.Detail += "; the quarantine never keeps a token, so a token source cannot be re-checked from it"
			}
			return out, nil
		}
		out.Valid, out.MessageID = true, res.MessageID
		if !res.Timestamp.IsZero() {
			t := res.Timestamp.UTC()
			out.SignedAt = &t
		}
		return out, nil
	}
}
