package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// report gathers a run's results and writes them as markdown.
type report struct {
	opts              options
	machine           string
	started, finished time.Time
	cells             []cell
	broker            []brokerRun
	e2e               *e2eResult
}

func (r *report) find(target string, conns, run int, loadgen string) *cell {
	for i := range r.cells {
		if c := &r.cells[i]; c.target == target && c.conns == conns && c.run == run && c.loadgen == loadgen {
			return &r.cells[i]
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (r *report) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "## Run of %s UTC\n\n", r.started.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "- machine: %s\n", r.machine)
	fmt.Fprintf(&b, "- command: `go run ./test/bench %s` (%s in all)\n", strings.Join(os.Args[1:], " "), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(&b, "- broker: %s\n", brokerLabel(o.sync))
	fmt.Fprintf(&b, "- load generators: %s; %d interleaved run(s) of every cell\n", loadgenLabel(o), o.runs)
	fmt.Fprintf(&b, "- each cell: %s warm-up, %s measured; %d-byte signed Standard Webhooks bodies, unique webhook-ids, keep-alive; targets interleaved per connection count, run and load generator\n\n",
		o.warmup, o.duration, o.size)

	b.WriteString("### HTTP targets, closed loop\n\n")
	b.WriteString("CPU columns are µs of CPU time per answered request, for the target process, the nats-server process and the load generator; " +
		"CPU/stored is µs of CPU of the target and the nats-server it stores on (the embedded target: its own process only) per event stored, " +
		"counted from quiet to quiet: from before the warm-up to when every consumer of the target's stream (avatarbus's indexer) has caught up, which took the catch-up time after the load stopped; " +
		"allocs are heap allocations per request in the target process.\n\n")
	b.WriteString("| conns | load gen | run | target | req/s | p50 ms | p99 ms | p99.9 ms | target CPU | nats-server CPU | CPU/stored event | catch-up s | load gen CPU | allocs/req | not 2xx |\n")
	b.WriteString("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.cells {
		allocs := "–"
		if c.allocs >= 0 {
			allocs = fmt.Sprintf("%.1f", c.allocs)
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %.0f | %s | %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %d |\n",
			c.conns, c.loadgen, c.run, label(c.target), c.rps, ms(c.p50), ms(c.p99), ms(c.p999), c.targetCPU, c.natsCPU, perStored(c), c.drained.Seconds(), c.loadCPU, allocs, c.non2xx+c.errors)
	}
	b.WriteString("\nAfter every cell of a storing target the harness checked that its stream held an event for each 2xx answer and no more than one per request sent, and, for avatarbus, that about 50 of the requests known stored, sent again, were answered 2xx with `\"duplicate\":true` and added nothing; a failed check ends the run.\n")
	r.ratios(&b)
	if len(r.broker) > 0 {
		b.WriteString("\n### (d) Broker alone: `nats bench js pub`, same nats-server, 1 KiB messages\n\n")
		b.WriteString("| mode | clients | msgs | msgs/s | p99 (per op) | nats-server CPU µs/msg | nats CLI CPU µs/msg |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, x := range r.broker {
			fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %s | %.1f | %.1f |\n", x.mode, x.clients, x.msgs, x.rate, x.p99, x.natsCPU, x.cliCPU)
		}
	}
	if e := r.e2e; e != nil {
		b.WriteString("\n### End to end: avatarbus, open loop at a fixed rate\n\n")
		fmt.Fprintf(&b, "%d req/s for %s: %d sent, %d not answered 200, %d received by a durable pull consumer (explicit ack).\n\n",
			e.rate, o.e2eDuration, e.sent, e.failed, e.received)
		b.WriteString("| latency | p50 ms | p99 ms | p99.9 ms |\n|---|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| POST → 200 | %s | %s | %s |\n", ms(percentile(e.http, .5)), ms(percentile(e.http, .99)), ms(percentile(e.http, .999)))
		fmt.Fprintf(&b, "| POST → consumer | %s | %s | %s |\n", ms(percentile(e.consumer, .5)), ms(percentile(e.consumer, .99)), ms(percentile(e.consumer, .999)))
	}
	b.WriteString("\n")
	return b.String()
}

// ratios writes each avatarbus target against the baseline (and the HTTP ceiling) of the same
// connection count, load generator and run.
func (r *report) ratios(b *strings.Builder) {
	o := r.opts
	b.WriteString("\n### Ratios\n\n")
	b.WriteString("Each avatarbus target (and the bridge with dedup) divided by (a) baseline of the same connections, load generator and run: req/s (higher is better), p99 and CPU per stored event (lower is better); and its req/s divided by the HTTP ceiling's.\n\n")
	b.WriteString("| conns | load gen | run | target | ÷ baseline req/s | ÷ baseline p99 | ÷ baseline CPU/stored event | ÷ ceiling req/s |\n|---:|---|---:|---|---:|---:|---:|---:|\n")
	col := func(ok bool, v float64) string {
		if !ok {
			return "–"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, n := range o.conns {
		for _, lg := range o.loadgens {
			for run := 1; run <= o.runs; run++ {
				a, c := r.find("baseline", n, run, lg), r.find("ceiling", n, run, lg)
				for _, name := range []string{"baseline-dedup", "avatarbus", "avatarbus-noindex", "avatarbus-batch", "embedded"} {
					x := r.find(name, n, run, lg)
					if x == nil {
						continue
					}
					fmt.Fprintf(b, "| %d | %s | %d | %s | %s | %s | %s | %s |\n", n, lg, run, label(name),
						col(a != nil && a.rps > 0, x.rps/safe(a, func(c *cell) float64 { return c.rps })),
						col(a != nil && a.p99 > 0, float64(x.p99)/safe(a, func(c *cell) float64 { return float64(c.p99) })),
						col(a != nil && a.cpuPerStored > 0 && x.cpuPerStored > 0, x.cpuPerStored/safe(a, func(c *cell) float64 { return c.cpuPerStored })),
						col(c != nil && c.rps > 0, x.rps/safe(c, func(c *cell) float64 { return c.rps })))
				}
			}
		}
	}
}

// perStored formats a cell's CPU per stored event.
func perStored(c cell) string {
	if c.cpuPerStored < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", c.cpuPerStored)
}

func brokerLabel(sync string) string {
	if sync == "always" {
		return "nats-server with `jetstream { sync_interval: always }` (fsync before every ack); the embedded target with `nats.embedded.sync_interval: always` (batch mode by default where avatarbus has it)"
	}
	return "nats-server with default settings (fsync every 2 min); the embedded target with avatarbus's default `nats.embedded.sync_interval: 1s`"
}

func loadgenLabel(o options) string {
	var parts []string
	for _, lg := range o.loadgens {
		switch lg {
		case "go":
			parts = append(parts, "go (closed loop in the harness, one http.Client per connection)")
		case "wrk":
			parts = append(parts, fmt.Sprintf("wrk (%d threads, a Lua script sending pre-signed requests from files)", o.wrkThreads))
		}
	}
	return strings.Join(parts, " and ")
}

func safe(c *cell, f func(*cell) float64) float64 {
	if c == nil {
		return 1
	}
	if v := f(c); v != 0 {
		return v
	}
	return 1
}

func label(target string) string {
	switch target {
	case "baseline":
		return "(a) baseline"
	case "avatarbus":
		return "(b) avatarbus"
	case "ceiling":
		return "(c) HTTP ceiling"
	case "avatarbus-batch":
		return "avatarbus, publish_mode batch"
	case "avatarbus-noindex":
		return "avatarbus, index off"
	case "baseline-dedup":
		return "baseline + Nats-Msg-Id"
	case "embedded":
		return "avatarbus, embedded nats-server"
	}
	return target
}
