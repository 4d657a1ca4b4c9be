package main

//go:generate go test -run ^TestCLIReferenceIsCurrent$ . -args -update-cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// cliReferencePath is the generated command reference, relative to this package.
const cliReferencePath = "../../docs/cli.md"

// writeCLIReference writes the Markdown reference of every visible command under root: usage,
// description, examples and flags, as cobra knows them, so docs/cli.md cannot drift from the
// code. Its own writer rather than cobra/doc: one page with anchors, and no new module in go.sum.
func writeCLIReference(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString("# Command line\n\n")
	b.WriteString("<!-- Generated from the cobra tree by `go generate ./cmd/avatarbus`; do not edit by hand.\n")
	b.WriteString("     TestCLIReferenceIsCurrent (cmd/avatarbus) fails when this file is stale. -->\n\n")
	b.WriteString("Every command and flag of `avatarbus`. `tail`, `replay`, `forward`, `dlq` and `object` find\n")
	b.WriteString("NATS through `--config FILE` or `--nats-url`\n")
	b.WriteString("([operations](operations.md#command-line)); configuration keys are in\n")
	b.WriteString("[configuration.md](configuration.md).\n\n")
	for _, c := range visible(root) {
		fmt.Fprintf(&b, "- [%s](#%s) — %s\n", c.CommandPath(), anchor(c.CommandPath()), c.Short)
	}
	for _, c := range visible(root) {
		writeCommand(&b, c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// visible lists root and its descendants, depth first, in cobra's (sorted) order, without hidden
// commands.
func visible(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, visible(sub)...)
		}
	}
	return out
}

func anchor(path string) string { return strings.ReplaceAll(path, " ", "-") }

func writeCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "\n## %s\n\n%s\n", c.CommandPath(), c.Short)
	if long := strings.TrimSpace(c.Long); long != "" {
		fmt.Fprintf(b, "\n%s\n", long)
	}
	fmt.Fprintf(b, "\n```text\n%s\n```\n", c.UseLine())
	if ex := strings.TrimRight(c.Example, "\n "); ex != "" {
		fmt.Fprintf(b, "\nExamples:\n\n```text\n%s\n```\n", ex)
	}
	if fs := c.NonInheritedFlags(); fs.HasAvailableFlags() {
		fmt.Fprintf(b, "\nFlags:\n\n```text\n%s```\n", fs.FlagUsages())
	}
	if fs := c.InheritedFlags(); fs.HasAvailableFlags() {
		fmt.Fprintf(b, "\nInherited flags:\n\n```text\n%s```\n", fs.FlagUsages())
	}
	var subs []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			subs = append(subs, fmt.Sprintf("[%s](#%s)", sub.Name(), anchor(sub.CommandPath())))
		}
	}
	if len(subs) > 0 {
		fmt.Fprintf(b, "\nSubcommands: %s.\n", strings.Join(subs, ", "))
	}
}
