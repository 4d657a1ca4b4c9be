// Command attack runs the attacks of issue 13 against a real avatarbus, bounded and on loopback
// only, and prints a table: attack | expected | observed | ok. `make attack` runs it.
//
// It builds cmd/avatarbus (or takes -bin), starts `avatarbus serve` in a temp dir on free loopback
// ports with a config of three sources (acme: Standard Webhooks; comma: Synthesia whose secret
// holds a comma, from the environment; limited: rate-limited), and runs each attack within its
// time box (-timeout). Some attacks start instances of their own: idle-conns (under
// `ulimit -n -nofile`), config-warnings (one that cannot bind, so it exits after its warnings) and
// second-serve (on the first's store). It exits 1 when an attack is not ok.
//
//	go run ./reliability/attack                       # every attack
//	go run ./reliability/attack -only nats-forge,idle-conns
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// options bound the attacks.
type options struct {
	timeout  time.Duration // each attack's time box
	senders  int           // slow-bodies: connections holding 1 MiB each
	idle     int           // idle-conns: idle connections
	nofile   int           // idle-conns: the instance's ulimit -n
	floodRPS int           // unsigned-flood: unsigned requests per second
	floodFor time.Duration // unsigned-flood: how long
}

func main() {
	var (
		bin  = flag.String("bin", "", "avatarbus binary (default: go build ./cmd/avatarbus from the module root)")
		only = flag.String("only", "", "comma-separated attacks to run (default: all): "+names())
		o    options
	)
	flag.DurationVar(&o.timeout, "timeout", 40*time.Second, "time box of each attack")
	flag.IntVar(&o.senders, "senders", 600, "slow-bodies: senders each holding a 1 MiB body")
	flag.IntVar(&o.idle, "idle", 600, "idle-conns: idle keep-alive connections")
	flag.IntVar(&o.nofile, "nofile", 512, "idle-conns: ulimit -n of the instance under attack")
	flag.IntVar(&o.floodRPS, "flood-rps", 50, "unsigned-flood: unsigned requests per second")
	flag.DurationVar(&o.floodFor, "flood-for", 10*time.Second, "unsigned-flood: duration")
	flag.Parse()
	var sel []string
	if *only != "" {
		sel = strings.Split(*only, ",")
	}
	rows, err := run(context.Background(), *bin, sel, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(2)
	}
	printTable(os.Stdout, rows)
	for _, r := range rows {
		if !r.ok {
			os.Exit(1)
		}
	}
}

func names() string {
	var n []string
	for _, a := range attacks {
		n = append(n, a.name)
	}
	return strings.Join(n, ", ")
}

// run runs the selected attacks (all when sel is empty) and returns one row each. progress gets a
// line as each attack starts.
func run(ctx context.Context, bin string, sel []string, o options, progress io.Writer) ([]row, error) {
	chosen := attacks
	if len(sel) > 0 {
		chosen = nil
		for _, s := range sel {
			found := false
			for _, a := range attacks {
				if a.name == strings.TrimSpace(s) {
					chosen, found = append(chosen, a), true
				}
			}
			if !found {
				return nil, fmt.Errorf("no attack %q (known: %s)", s, names())
			}
		}
	}
	dir, err := os.MkdirTemp("", "avatarbus-attack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		bin, err = buildBinary(bctx, root, dir)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	e := &env{bin: bin, dir: dir, acme: newWhsec(), comma: [2]string{"tok-" + randomID() + "-0123", "en-" + randomID() + "-45678"}, opts: o}
	defer func() {
		if e.main != nil {
			e.main.stop()
		}
	}()
	var rows []row
	for _, a := range chosen {
		fmt.Fprintf(progress, "attack %s …\n", a.name)
		if a.needsMain && e.main == nil && e.mainEnvErr == nil {
			e.main, e.mainEnvErr = startMain(e)
		}
		if a.needsMain && e.mainEnvErr != nil {
			rows = append(rows, row{a.name, a.expected, "avatarbus did not start: " + firstLine(e.mainEnvErr.Error()), false})
			continue
		}
		actx, cancel := context.WithTimeout(ctx, o.timeout)
		obs, ok := a.run(actx, e)
		cancel()
		rows = append(rows, row{a.name, a.expected, obs, ok})
	}
	return rows, nil
}

// startMain starts the shared instance.
func startMain(e *env) (*instance, error) {
	in, err := newInstance(e.dir, "")
	if err != nil {
		return nil, err
	}
	if err := in.start(e.bin, e.instanceEnv(), 0); err != nil {
		return nil, err
	}
	if err := in.waitReady(20 * time.Second); err != nil {
		in.stop()
		return nil, err
	}
	return in, nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("no go.mod above the working directory; give -bin")
		}
		d = p
	}
}

// printTable writes rows as a Markdown table.
func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| attack | expected | observed | ok |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		ok := "ok"
		if !r.ok {
			ok = "NOT OK"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.attack, cell(r.expected), cell(r.observed), ok)
	}
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
