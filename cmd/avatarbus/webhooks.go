package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/platformapi"
)

func newWebhooksCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "List, delete or rotate the webhooks registered with a platform's API",
	}
	cmd.AddCommand(newWebhooksListCommand(), newWebhooksDeleteCommand(), newWebhooksRotateCommand())
	return cmd
}

func newWebhooksListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list PLATFORM",
		Short: "List the webhooks registered with the platform (" + strings.Join(platformapi.RegistrarPlatforms(), ", ") + ")",
		Args:  cobra.ExactArgs(1),
	}
	api := addAPIFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		reg, err := api.registrar(args[0])
		if err != nil {
			return err
		}
		hooks, err := reg.List(cmd.Context())
		if err != nil {
			return apiError(args[0], err)
		}
		out := cmd.OutOrStdout()
		if asJSON {
			if hooks == nil {
				hooks = []platformapi.Webhook{}
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(hooks)
		}
		if len(hooks) == 0 {
			fmt.Fprintf(out, "No %s webhooks are registered.\n", args[0])
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tURL\tEVENTS\tCREATED")
		for _, h := range hooks {
			events := strings.Join(h.Events, ",")
			if events == "" {
				events = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, orDash(h.Status), h.URL, events, orDash(h.Created))
		}
		return tw.Flush()
	}
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newWebhooksDeleteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete PLATFORM ID",
		Short: "Delete a webhook registered with the platform",
		Args:  cobra.ExactArgs(2),
	}
	api := addAPIFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		reg, err := api.registrar(args[0])
		if err != nil {
			return err
		}
		if err := reg.Delete(cmd.Context(), args[1]); err != nil {
			return apiError(args[0], err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s webhook %s.\n", args[0], args[1])
		return nil
	}
	return cmd
}

func newWebhooksRotateCommand() *cobra.Command {
	var (
		writeSecret string
		showSecret  bool
	)
	cmd := &cobra.Command{
		Use:   "rotate heygen ID (--write-secret FILE | --show-secret)",
		Short: "Replace a HeyGen endpoint's signing secret (the old one stops working at once)",
		Long: `Asks HeyGen for a new signing secret of endpoint ID and writes it to FILE (mode 0600, replaced
atomically). HeyGen invalidates the old secret immediately: a running avatarbus whose source reads
secrets: ["@FILE"] picks the new one up on SIGHUP, so run

  avatarbus webhooks rotate heygen ID --write-secret FILE && kill -HUP <avatarbus pid>

Deliveries signed in between are refused with 401 and retried by HeyGen.`,
		Args: cobra.ExactArgs(2),
	}
	api := addAPIFlags(cmd)
	cmd.Flags().StringVar(&writeSecret, "write-secret", "", "write the new secret to this file (mode 0600)")
	cmd.Flags().BoolVar(&showSecret, "show-secret", false, "print the new secret")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		platform, id := args[0], args[1]
		if writeSecret == "" && !showSecret {
			return errors.New("the new secret is returned only once: pass --write-secret FILE (or --show-secret)")
		}
		reg, err := api.registrar(platform)
		if err != nil {
			return err
		}
		rot, ok := reg.(platformapi.Rotator)
		if !ok {
			return fmt.Errorf("%w: %s cannot rotate a secret: register a new webhook, update the source's secrets, then delete the old one", platformapi.ErrUnsupported, platform)
		}
		var out *secretFile
		if writeSecret != "" {
			if out, err = createSecretFile(writeSecret); err != nil {
				return err
			}
			defer out.discard()
		}
		w, err := rot.Rotate(cmd.Context(), id)
		if err != nil {
			return apiError(platform, err)
		}
		stdout := cmd.OutOrStdout()
		fmt.Fprintf(stdout, "Rotated the secret of %s endpoint %s; the old secret no longer verifies.\n", platform, w.ID)
		if err := keepSecret(stdout, out, w.Secret, showSecret); err != nil {
			return err
		}
		if out != nil {
			fmt.Fprintf(stdout, "Now send SIGHUP to every avatarbus whose source reads \"@%s\" (kill -HUP <pid>).\n", out.path)
		}
		return nil
	}
	return cmd
}
