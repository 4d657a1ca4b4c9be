// Package testbin builds the avatarbus binary for tests and tools that run it as a child process
// (serve under a file limit, two processes on one store, the README walkthrough, the Node example,
// the attacks), and gives them an environment that cannot change its configuration.
package testbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Package is the import path of the avatarbus command.
const Package = "github.com/avatarbus/avatarbus/cmd/avatarbus"

// Build compiles the avatarbus command into dir and returns the binary's path; race adds the race
// detector. It runs `go build` from the current directory, which must be inside the module.
func Build(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "avatarbus")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, Package)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", Package, err, out)
	}
	return bin, nil
}

// Env is the process's environment without AVATARBUS_* variables, which would change the child's
// configuration.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AVATARBUS_") {
			env = append(env, kv)
		}
	}
	return env
}
