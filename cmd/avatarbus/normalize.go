package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

func newNormalizeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "normalize",
		Short: "Print the envelope a payload becomes, without verifying or publishing it",
		Long: `Reads a webhook payload and prints the CloudEvents envelope avatarbus would publish for it.
The subject and Nats-Msg-Id are printed on standard error.`,
		Args:    cobra.NoArgs,
		Example: `  avatarbus normalize --platform heygen --body-file avatar_video.success.json`,
	}
	sf := addSourceFlags(cmd, false)
	cf := addCapturedFlags(cmd)
	at := cmd.Flags().String("at", "", "receive time, Unix seconds or RFC 3339 (default: now)")
	events := cmd.Flags().StringArray("event", nil, "map a platform event name to a canonical type, 'name=avatar.video.completed' (repeatable)")
	prefix := cmd.Flags().String("subject-prefix", "", "subject prefix (default: the config's, else avatar)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		src, preset, err := sf.resolve(cmd)
		if err != nil {
			return err
		}
		receivedAt, err := parseAt(*at)
		if err != nil {
			return err
		}
		req, err := cf.read(cmd.InOrStdin())
		if err != nil {
			return err
		}
		mapping := map[string]string{}
		for k, v := range src.Events {
			mapping[k] = v
		}
		for _, e := range *events {
			name, typ, ok := strings.Cut(e, "=")
			if !ok {
				return fmt.Errorf("--event %q: want 'name=canonical.type'", e)
			}
			mapping[name] = typ
		}
		ev := preset.Normalize(platform.Input{
			Source: src.Name, Header: req.header, Body: req.body, ReceivedAt: receivedAt.UTC(),
			MessageID: messageID(src.VerifyConfig(preset), req.header), Events: mapping,
		})
		p := *prefix
		if p == "" {
			p = config.Default().Stream.SubjectPrefix
		}
		subject, err := subjects.For(p, ev.Type, ev.Platform)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "subject: %s\nnats-msg-id: %s\n", subject, ev.ID)
		// Print the bytes serve publishes (raw payload unescaped), indented for reading.
		b, err := envelope.Marshal(&ev)
		if err != nil {
			return err
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "", "  "); err != nil {
			return err
		}
		pretty.WriteByte('\n')
		_, err = pretty.WriteTo(cmd.OutOrStdout())
		return err
	}
	return cmd
}

// messageID is the sender's message id that serve's verification would establish for a request
// (verify.Result.MessageID) under vc: webhook-id for Standard Webhooks, the configured id header
// for hmac, none otherwise. The event id, and so deduplication, depends on it.
func messageID(vc verify.Config, h textproto.MIMEHeader) string {
	switch vc.Scheme {
	case "standardwebhooks":
		return strings.Trim(h.Get("Webhook-Id"), " \t")
	case "hmac":
		if vc.IDHeader != "" {
			return strings.Trim(h.Get(vc.IDHeader), " \t")
		}
	}
	return ""
}
