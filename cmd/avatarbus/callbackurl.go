package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/platform"
)

func newCallbackURLCommand() *cobra.Command {
	var base string
	cmd := &cobra.Command{
		Use:   "callback-url SOURCE [--base URL]",
		Short: "Print the callback URL, with its token, to put in per-request platform calls",
		Long: `Prints the URL of SOURCE for the platforms that take a callback URL in each request
(D-ID "webhook", Tavus and HeyGen "callback_url"): <base>/webhooks/<source>?token=<token>, the token
being the first of the source's secrets. When the source reads its token from a header
(verify.header), it prints the URL and the header to send instead. The base defaults to the
config's listen address; the platforms need a public https URL, so pass --base in production.`,
		Args: cobra.ExactArgs(1),
	}
	cf := addConfigFlags(cmd, nil)
	cmd.Flags().StringVar(&base, "base", "", "the public base URL avatarbus is reached at, e.g. https://hooks.example.com (default: from listen)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, _, err := cf.load(cmd)
		if err != nil {
			return err
		}
		var src *config.Source
		for i := range cfg.Sources {
			if cfg.Sources[i].Name == args[0] {
				src = &cfg.Sources[i]
			}
		}
		if src == nil {
			names := make([]string, len(cfg.Sources))
			for i, s := range cfg.Sources {
				names[i] = s.Name
			}
			return fmt.Errorf("no source %q in the config (sources: %s)", args[0], strings.Join(names, ", "))
		}
		p, ok := platform.Default().Lookup(src.Platform)
		if !ok {
			return fmt.Errorf("source %q: unknown platform %q", src.Name, src.Platform)
		}
		stderr := cmd.ErrOrStderr()
		if base == "" {
			base = baseFromListen(cfg.Listen)
			fmt.Fprintf(stderr, "warning: %s is avatarbus's own address; the platform needs a public https URL: pass --base https://your.host\n", base)
		} else if !strings.HasPrefix(base, "https://") {
			fmt.Fprintln(stderr, "warning: the platforms expect a public https URL")
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("--base %q must be an absolute http(s) URL without a query", base)
		}
		u = u.JoinPath("webhooks", src.Name)
		vc := src.VerifyConfig(p)
		out := cmd.OutOrStdout()
		switch {
		case vc.Scheme == "token" && vc.Header != "":
			fmt.Fprintln(out, u.String())
			fmt.Fprintf(out, "%s: %s\n", vc.Header, vc.Secrets[0])
			fmt.Fprintf(stderr, "note: source %q reads its token from the %s header, which the platform must send\n", src.Name, vc.Header)
		case vc.Scheme == "token":
			param := vc.Param
			if param == "" {
				param = "token"
			}
			u.RawQuery = url.Values{param: {vc.Secrets[0]}}.Encode()
			fmt.Fprintln(out, u.String())
		default:
			fmt.Fprintln(out, u.String())
			fmt.Fprintf(stderr, "note: source %q verifies %s signatures: the URL carries no secret, and per-request callbacks (which are not signed) will be refused; give them a token source\n", src.Name, vc.Scheme)
		}
		return nil
	}
	return cmd
}

// baseFromListen is the URL of a listen address as seen from this machine: ":8080" and
// "0.0.0.0:8080" are reached at 127.0.0.1.
func baseFromListen(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
