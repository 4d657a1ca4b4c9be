package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/avatarbus/avatarbus/internal/buildinfo"
)

// setVersion gives root its --version flag, printing the same line as `avatarbus version`.
func setVersion(root *cobra.Command) {
	root.Version = buildinfo.Read().String()
	root.SetVersionTemplate("{{.Version}}\n")
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version this binary was built from",
		Long: `Prints the module version (v1.2.3 when installed with go install ...@v1.2.3, "(devel)" when built
from a checkout), the commit (with -dirty when the tree had changes), the commit time and the Go
version, as recorded by the Go toolchain in the binary. avatarbus --version prints the same line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.Read().String())
			return err
		},
	}
}
