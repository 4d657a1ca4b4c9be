package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// indexReport is the report of an -index run.
type indexReport struct {
	machine           string
	started, finished time.Time
	ingest            *ingestResult
	lookup            *lookupResult
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func drainText(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("not within %s", drainLimit)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *indexReport) markdown(o options) string {
	var b strings.Builder
	f := indexFlags
	fmt.Fprintf(&b, "## Index run of %s UTC\n\n", r.started.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "- machine: %s\n", r.machine)
	fmt.Fprintf(&b, "- command: `go run ./test/bench %s` (%s in all)\n\n", strings.Join(os.Args[1:], " "), r.finished.Sub(r.started).Round(time.Second))
	if in := r.ingest; in != nil {
		fmt.Fprintf(&b, "### Ingest with the index on and off, closed loop, %d connections\n\n", f.conns)
		fmt.Fprintf(&b, "One avatarbus process at a time (`index.enabled` true or false) on a fresh stream and index, same nats-server; %s warm-up, %s measured per cell; the order alternates by round. Lag = stream last seq − the index durable's ack floor, sampled every 100 ms.\n\n", o.warmup, o.duration)
		b.WriteString("| round | index | req/s | p50 ms | p99 ms | avatarbus CPU µs/req | nats-server CPU µs/req | allocs/req | lag max | lag at end | back to 0 after the load |\n")
		b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		var ratios, cpuOn, cpuOff []float64
		for _, c := range in.cells {
			lag, end, drain := "–", "–", "–"
			if c.on {
				lag, end, drain = fmt.Sprint(c.lagMax), fmt.Sprint(c.lagAtEnd), drainText(c.drain)
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f | %s | %s | %.1f | %.1f | %.1f | %s | %s | %s |\n", c.round, onOff(c.on), c.rps, ms(c.p50), ms(c.p99),
				c.targetCPU, c.natsCPU, c.allocs, lag, end, drain)
			total := c.targetCPU + c.natsCPU
			if c.on {
				cpuOn = append(cpuOn, total)
			} else {
				cpuOff = append(cpuOff, total)
			}
		}
		for round := 1; round <= f.rounds; round++ {
			var on, off float64
			for _, c := range in.cells {
				if c.round == round && c.on {
					on = c.rps
				} else if c.round == round {
					off = c.rps
				}
			}
			if off > 0 {
				ratios = append(ratios, on/off)
			}
		}
		fmt.Fprintf(&b, "\nThroughput on/off per round: %s; median **%.3f** (the index slows ingest by %.1f%%). CPU (avatarbus + nats-server) per request, median: %.1f µs on, %.1f µs off.\n\n",
			fmtRatios(ratios), median(ratios), 100*(1-median(ratios)), median(cpuOn), median(cpuOff))
		fmt.Fprintf(&b, "### Open loop at %d req/s for %s\n\n", f.rate, f.openDuration)
		b.WriteString("Latency from each request's scheduled time to its answer (so a machine that cannot keep the rate shows it), and from its sending (service time); \"late\" requests left more than 10 ms after their time because all 256 senders were busy.\n\n")
		b.WriteString("| index | sent | not 200 | late | scheduled → 200 p50 ms | p99 ms | p99.9 ms | POST → 200 p50 ms | p99 ms | avatarbus CPU µs/req | nats-server CPU µs/req | lag max | back to 0 after the load |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, run := range in.open {
			lag, drain := "–", "–"
			if run.on {
				var m uint64
				for _, x := range run.lags {
					m = max(m, x.lag)
				}
				lag, drain = fmt.Sprint(m), drainText(run.drain)
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s |\n", onOff(run.on), run.sent, run.failed, run.late,
				ms(percentile(run.lat, .5)), ms(percentile(run.lat, .99)), ms(percentile(run.lat, .999)),
				ms(percentile(run.service, .5)), ms(percentile(run.service, .99)), run.indexedCPU, run.natsCPU, lag, drain)
		}
		for _, run := range in.open {
			if !run.on {
				continue
			}
			b.WriteString("\nIndex lag during the run with the index on (highest sample of each second; the load stops at " +
				fmt.Sprintf("%.1f s", run.loadEnd.Seconds()) + "):\n\n| second | lag (events) |\n|---:|---:|\n")
			per := map[int]uint64{}
			last := 0
			for _, x := range run.lags {
				if x.at < 0 {
					continue
				}
				s := int(x.at / time.Second)
				per[s] = max(per[s], x.lag)
				last = max(last, s)
			}
			for s := 0; s <= last; s++ {
				if v, ok := per[s]; ok {
					fmt.Fprintf(&b, "| %d | %d |\n", s, v)
				}
			}
		}
		b.WriteString("\n")
	}
	if l := r.lookup; l != nil {
		fmt.Fprintf(&b, "### Lookups with %d events in the stream\n\n", l.events)
		fmt.Fprintf(&b, "%d events (about %d bytes each) over %d jobs of %d events on %d platforms, two jobs per correlation id (%d events each), a job's events %d apart in the stream. ",
			l.events, int(l.streamBytes)/max(1, l.events), l.jobs, l.perJob, len(lookupPlatforms), l.perCorrelation, l.jobs)
		fmt.Fprintf(&b, "Stored with asynchronous publishes in %s (nats-server %.1f µs/event); indexed by the real `index.Indexer` (in the harness process) in %s = %.0f events/s (indexer %.1f µs/event, nats-server %.1f µs/event).\n\n",
			l.fill.Round(100*time.Millisecond), l.fillCPUNats, l.indexing.Round(100*time.Millisecond), float64(l.events)/l.indexing.Seconds(), l.indexCPU, l.indexNatsCPU)
		fmt.Fprintf(&b, "Store: event stream %s, index bucket %s (%d keys, %.0f bytes per event); nats-server RSS after indexing %s.\n\n",
			mib(l.streamBytes), mib(l.indexBytes), l.indexMsgs, float64(l.indexBytes)/float64(max(1, l.events)), mib(l.natsRSS))
		b.WriteString("| lookup | samples | answers each | p50 ms | p99 ms | max ms | note |\n|---|---:|---:|---:|---:|---:|---|\n")
		for _, k := range l.kinds {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s |\n", k.name, k.n, k.want, ms(percentile(k.lat, .5)), ms(percentile(k.lat, .99)), ms(percentile(k.lat, 1)), k.comment)
		}
		b.WriteString("\nEvery lookup's answer count was checked (a wrong count ends the run).\n\n")
	}
	return b.String()
}

func fmtRatios(r []float64) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = fmt.Sprintf("%.3f", v)
	}
	return strings.Join(s, ", ")
}
