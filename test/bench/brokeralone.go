package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// brokerRun is one `nats bench js pub` run against the shared nats-server.
type brokerRun struct {
	mode    string // sync or async
	clients int
	msgs    int
	rate    float64 // msgs/s as nats bench reports it
	p99     string  // as nats bench reports it, for one message (sync) or a batch ack (async)
	natsCPU float64 // µs of nats-server CPU per message
	cliCPU  float64 // µs of the nats CLI's CPU per message
}

var (
	aggregateRate = regexp.MustCompile(`(?:aggregated stats|publisher stats): ([\d,]+) msgs/sec`)
	aggregateP99  = regexp.MustCompile(`P99:? ([\d,.]+us)`)
)

// brokerAlone measures JetStream alone with natscli's bench: synchronous publishers (one message
// in flight per connection) and an asynchronous publisher, 1 KiB messages, each run on a stream of
// its own on the same nats-server the HTTP targets used.
func brokerAlone(ctx context.Context, natsURL string, ns *child, o options) ([]brokerRun, error) {
	cli, err := natsCLI()
	if err != nil {
		return nil, err
	}
	runs := []brokerRun{
		{mode: "sync", clients: 1, msgs: o.brokerMsgs / 4},
		{mode: "sync", clients: 16, msgs: o.brokerMsgs},
		{mode: "sync", clients: 64, msgs: o.brokerMsgs},
		{mode: "async", clients: 1, msgs: o.brokerMsgs},
	}
	for i := range runs {
		r := &runs[i]
		stream := fmt.Sprintf("BENCH_NATS_%s_%d", strings.ToUpper(r.mode), r.clients)
		subject := fmt.Sprintf("natsbench.%s.%d", r.mode, r.clients)
		before, err := ns.cpu()
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		cmd := exec.CommandContext(cctx, cli, "bench", "js", "pub", r.mode, subject,
			"--server", natsURL, "--size", strconv.Itoa(o.size), "--msgs", strconv.Itoa(r.msgs),
			"--clients", strconv.Itoa(r.clients), "--create", "--purge", "--stream", stream, "--no-progress")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("nats bench js pub %s --clients %d: %w", r.mode, r.clients, err)
		}
		after, err := ns.cpu()
		if err != nil {
			return nil, err
		}
		m := aggregateRate.FindSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("no rate in nats bench output:\n%s", out)
		}
		r.rate, _ = strconv.ParseFloat(strings.ReplaceAll(string(m[1]), ",", ""), 64)
		if p := aggregateP99.FindAllSubmatch(out, -1); len(p) > 0 {
			r.p99 = string(p[len(p)-1][1]) // the aggregate line comes last
		}
		r.natsCPU = float64((after - before).Microseconds()) / float64(r.msgs)
		if st := cmd.ProcessState; st != nil {
			r.cliCPU = float64((st.UserTime() + st.SystemTime()).Microseconds()) / float64(r.msgs)
		}
		log.Printf("nats bench js pub %-5s %2d clients: %7.0f msgs/s  p99 %s  nats-server %5.1f µs/msg  cli %5.1f µs/msg",
			r.mode, r.clients, r.rate, r.p99, r.natsCPU, r.cliCPU)
	}
	return runs, nil
}
