// Command avatarbus receives the webhooks of AI avatar and voice platforms, verifies them,
// normalizes them into CloudEvents and stores them in NATS JetStream.
//
// This package is wiring only: subcommands, flags, and the translation of config into the
// options of the packages that do the work.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra (verify exits 1 for "not valid").
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	root := newRootCommand()
	if err := root.Execute(); err != nil {
		code := 2
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "avatarbus:", err)
		os.Exit(code)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "avatarbus",
		Short:         "Bridge AI avatar platform webhooks into NATS JetStream as CloudEvents",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newVerifyCommand(), newNormalizeCommand(), newTriggerCommand())
	root.AddCommand(newTailCommand(), newReplayCommand(), newForwardCommand(), newDLQCommand())
	root.AddCommand(newRegisterCommand(), newWebhooksCommand(), newCallbackURLCommand())
	root.AddCommand(newObjectCommand(), newReconcileCommand(), newFindCommand())
	root.AddCommand(newVersionCommand(), newHealthcheckCommand())
	setVersion(root)
	return root
}
