package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultReadyURL is /readyz on the default admin_listen (127.0.0.1:9090).
const defaultReadyURL = "http://127.0.0.1:9090/readyz"

func newHealthcheckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the avatarbus on this host is ready (GET /readyz on the admin port), else 1",
		Long: `Asks a running avatarbus whether it is ready (GET /readyz on its admin port: NATS connected, stream
there, not shutting down), prints one line saying so or why not, and exits 0 when ready, 1 otherwise.
It is the container healthcheck of images without a shell or curl (the distroless image):
  healthcheck: { test: ["CMD", "/avatarbus", "healthcheck", "--config", "/etc/avatarbus/avatarbus.yaml"] }
With --config (and the AVATARBUS_* environment) the URL is /readyz on admin_listen, an unspecified host
(0.0.0.0, ::) asked on 127.0.0.1; --url wins over both.`,
		Example: `  avatarbus healthcheck
  avatarbus healthcheck --config /etc/avatarbus/avatarbus.yaml
  avatarbus healthcheck --url http://127.0.0.1:9091/readyz --timeout 5s`,
		Args: cobra.NoArgs,
	}
	target := cmd.Flags().String("url", "", "readiness URL (default "+defaultReadyURL+", or /readyz on admin_listen with --config)")
	timeout := cmd.Flags().Duration("timeout", 2*time.Second, "give up after this long")
	cf := addConfigFlags(cmd, nil)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		// Every failure is "not healthy" (exit 1): container runtimes reserve other codes.
		notReady := func(err error) error { return &exitError{code: 1, err: err} }
		u := *target
		if u == "" && cf.path != "" {
			cfg, _, err := cf.load(cmd)
			if err != nil {
				return notReady(err)
			}
			if u, err = readyURL(cfg.AdminListen); err != nil {
				return notReady(err)
			}
		}
		if u == "" {
			u = defaultReadyURL
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		if err := checkReady(ctx, u); err != nil {
			return notReady(err)
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "ready: %s\n", u)
		return err
	}
	return cmd
}

// readyURL is /readyz on the admin listener at listen, asked on loopback when listen's host is
// unspecified (the healthcheck runs beside the server, in its container).
func readyURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("admin_listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady GETs u and returns nil on a 2xx answer, else why not: the admin server's reason (its
// /readyz answers {"status":"unavailable","reason":"..."}), or the status, or the request error.
func checkReady(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", u, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("--url %q: want an http(s) URL", u)
	}
	req.Header.Set("User-Agent", "avatarbus-healthcheck")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return fmt.Errorf("not ready: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var h struct {
		Reason string `json:"reason"`
	}
	why := resp.Status
	if json.Unmarshal(body, &h) == nil && h.Reason != "" {
		why += ": " + strings.Join(strings.Fields(h.Reason), " ") // one line
	}
	return fmt.Errorf("not ready: GET %s: %s", u, why)
}
