package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
)

func newObjectCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "object",
		Short: "Read the large payloads stored by reference (nats:// object references)",
		Long: `Payload values too large for an event (an ElevenLabs call recording, any body over the NATS
max payload) are stored in the JetStream Object Store bucket <stream>_OBJECTS (AVATAR_OBJECTS), and
the event carries their references in data.objects[].url (and data.media_url for media):

  nats://AVATAR_OBJECTS/<event id><JSON pointer>     e.g. nats://AVATAR_OBJECTS/elevenlabs:post_call_audio:conv_1/data/full_audio

A reference is a bucket and an object name; any NATS client with object store support reads it
(Go: js.ObjectStore(ctx, bucket) then Get(ctx, name); nats CLI: nats object get BUCKET NAME).
The server is found through --config (nats.url, or the embedded server at nats.embedded.listen) or
--nats-url.`,
	}
	cmd.AddCommand(newObjectGetCommand(), newObjectInfoCommand())
	return cmd
}

func newObjectGetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME_OR_URL",
		Short: "Download an object and check its digest",
		Long: `Writes the object to --out (a file, or - for stdout) and checks its SHA-256 digest against the
one the bucket holds; a file is only put in place once it is complete and checked. Its size and
digest are printed on stderr. NAME_OR_URL is a nats:// reference or an object name in the
configured bucket.`,
		Example: `  avatarbus object get nats://AVATAR_OBJECTS/elevenlabs:post_call_audio:conv_1/data/full_audio --out call.mp3
  avatarbus tail --json --type conversation.recording_ready | jq -r .data.media_url
  avatarbus object get "$URL" --out - | ffplay -`,
		Args: cobra.ExactArgs(1),
	}
	cf := addNATSFlags(cmd)
	out := cmd.Flags().String("out", "", "where to write the object: a file, or - for stdout (the default when stdout is not a terminal)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		bucket, name, err := objectArg(cfg, args[0])
		if err != nil {
			return err
		}
		dest := *out
		if dest == "" {
			if f, ok := cmd.OutOrStdout().(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				return errors.New("the object is binary: give --out FILE (or --out - to write it to the terminal anyway)")
			}
			dest = "-"
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus object", stderr)
		if err != nil {
			return err
		}
		defer nc.Close()
		objects := broker.NewObjects(js, bucket, 0)

		var w io.Writer = cmd.OutOrStdout()
		var tmp *os.File
		if dest != "-" {
			// Beside the destination, so that the rename is atomic; removed unless complete.
			if tmp, err = os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.part"); err != nil {
				return fmt.Errorf("object get: %w", err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			w = tmp
		}
		info, err := objects.Get(cmd.Context(), name, w)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("object get %s: %w", objects.Ref(name), err)}
		}
		if tmp != nil {
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("object get: %w", err)
			}
			if err := os.Rename(tmp.Name(), dest); err != nil {
				return fmt.Errorf("object get: %w", err)
			}
		}
		fmt.Fprintf(stderr, "avatarbus: %s: %d bytes, digest %s verified%s\n", objects.Ref(name), info.Size, info.Digest, written(dest))
		return nil
	}
	return cmd
}

func newObjectInfoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info NAME_OR_URL",
		Short: "Print what the bucket knows about an object: size, digest, content type",
		Args:  cobra.ExactArgs(1),
	}
	cf := addNATSFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadNATSConfig(cmd, cf)
		if err != nil {
			return err
		}
		bucket, name, err := objectArg(cfg, args[0])
		if err != nil {
			return err
		}
		stderr := &lockedWriter{w: cmd.ErrOrStderr()}
		nc, js, err := dialJetStream(cfg, "avatarbus object", stderr)
		if err != nil {
			return err
		}
		defer nc.Close()
		objects := broker.NewObjects(js, bucket, 0)
		info, err := objects.Info(cmd.Context(), name)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("object info %s: %w", objects.Ref(name), err)}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "url:          %s\nbucket:       %s\nname:         %s\nsize:         %d\ndigest:       %s\ncontent_type: %s\nmodified:     %s\n",
			objects.Ref(name), info.Bucket, info.Name, info.Size, info.Digest, info.ContentType, info.Modified.UTC().Format("2006-01-02T15:04:05Z"))
		return nil
	}
	return cmd
}

// objectArg reads NAME_OR_URL: a nats:// reference, or a name in the configured bucket.
func objectArg(cfg *config.Config, arg string) (bucket, name string, err error) {
	if strings.HasPrefix(arg, broker.RefScheme) {
		return broker.ParseRef(arg)
	}
	if arg == "" {
		return "", "", fmt.Errorf("%w: empty object name", broker.ErrBadRef)
	}
	return cfg.ObjectsBucket(), arg, nil
}

// written names where get wrote the object, for its closing line.
func written(dest string) string {
	if dest == "-" {
		return ""
	}
	return ", written to " + dest
}
