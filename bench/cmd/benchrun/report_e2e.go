package main

import (
	"fmt"
	"strings"
	"time"
)

// e2eTargets judges the end-to-end part: fractions of the best
// OpenSearch-alone rate (judged on 4 shards, 1 shard shown) directly and
// with 100 ms added, and one shard's sustained rate next to the node's own
// best, so a reader sees whether the node is the bound.
func (r *runner) e2eTargets(e *e2eResult) []target {
	var out []target
	frac := func(d time.Duration, goal float64) {
		var parts []string
		judged, ok := false, false
		for _, shards := range []int{4, 1} {
			run := e.run(e2eVariant{shards, d})
			if run == nil {
				continue
			}
			f := e.fraction(*run)
			if f == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%d shard(s) %.2f (%s events/s sustained of %s docs/s; %.2f from first upload to all searchable)",
				shards, f, sustainedCell(*run, e.docs), num(e.aloneAt(d).best.rate(e.bulkDocs)), e.wholeFraction(*run)))
			if shards == 4 {
				judged, ok = true, f >= goal
			}
		}
		if len(parts) == 0 {
			return
		}
		what := fmt.Sprintf("end to end ≥ %.0f%% of the best OpenSearch-alone rate, same documents, same run (judged on 4 shards)", 100*goal)
		if d > 0 {
			what = fmt.Sprintf("end to end ≥ %.0f%% of the best OpenSearch-alone rate with %d ms added per request (both through the same delaying proxy; judged on 4 shards)", 100*goal, d.Milliseconds())
		}
		out = append(out, target{what: what, measured: strings.Join(parts, "; "), status: pick(judged, met(ok), "not judged (4 shards missing)")})
	}
	frac(0, 0.90)
	frac(100*time.Millisecond, 0.85)
	if run := e.run(e2eVariant{1, 0}); run != nil {
		const goal = 20000
		rate := run.sustained(e.docs)
		measured := fmt.Sprintf("1 shard, direct: %s events/s sustained (%s from first upload to all searchable)", num(rate), num(run.rate(e.events)))
		if rate == 0 {
			rate = run.rate(e.events)
			measured = fmt.Sprintf("1 shard, direct: %s events/s (run too short for a sustained rate)", num(rate))
		}
		status := met(rate >= goal)
		if a := e.aloneAt(0); a != nil {
			node := a.best.rate(e.bulkDocs)
			measured += fmt.Sprintf("; the node alone takes at best %s docs/s (%s)", num(node), plural(a.best.clients, "client"))
			if rate < goal && node < goal/0.9 && rate >= 0.9*node {
				status = "not judged: the node is the bound"
			}
		}
		out = append(out, target{what: "one shard sustains ≥ 20,000 VPC events/s when the node can take them", measured: measured, status: status})
	}
	return out
}

// e2eSection is part 5 of latest.md.
func (r *runner) e2eSection(b *strings.Builder, e *e2eResult) {
	b.WriteString("## 5. End to end on the local stack (real producer and consumer binaries, kinesalite, OpenSearch)\n\n")
	fmt.Fprintf(b, "%s VPC events in %d objects (%s documents), the same objects for every row, each row with its own bucket, queue, stream and consumer. "+
		"`added latency` is a delaying reverse proxy in front of the real node (`internal/e2e.DelayProxy`: it sleeps that long before forwarding each request), as a remote domain adds. "+
		"`alone` is the best OpenSearch-alone rate at the same added latency (below); `fraction` is the sustained rate over it (in brackets: events/s over it).\n\n",
		commas(e.events), e.objects, commas(e.docs))
	var rows [][]string
	for _, run := range e.runs {
		alone, frac := "–", "–"
		if a := e.aloneAt(run.delay); a != nil {
			alone = num(a.best.rate(e.bulkDocs))
		}
		if f := e.fraction(run); f > 0 {
			frac = fmt.Sprintf("**%.2f** (%.2f)", f, e.wholeFraction(run))
		}
		rows = append(rows, []string{fmt.Sprint(run.shards), fmt.Sprintf("%d ms", run.delay.Milliseconds()),
			fmt.Sprintf("%.1fs", run.upload.Seconds()), fmt.Sprintf("%.1fs", run.producerDone.Seconds()), fmt.Sprintf("%.1fs", run.delivered.Seconds()), fmt.Sprintf("%.1fs", run.searchable.Seconds()),
			"**" + num(run.rate(e.events)) + "**", sustainedCell(run, e.docs), alone, frac, fmt.Sprintf("%.1fs", run.producerCPU.Seconds()), fmt.Sprintf("%.1fs", run.consumerCPU.Seconds()), cutsCell(run.cuts)})
	}
	mdTable(b, []string{"shards", "added latency", "all uploaded", "producer done (queue drained)", "all acknowledged", "searchable", "events/s", "sustained", "alone docs/s", "fraction", "producer CPU", "consumer CPU", "limit halved"}, rows)
	if run := e.run(e2eVariant{1, 0}); run != nil {
		fmt.Fprintf(b, "One shard's sustained delivery rate (1 shard, direct): **%s events/s**.\n\n", sustainedCell(*run, e.docs))
	}
	b.WriteString("Times are from the first upload; `events/s` is events over the time to all searchable, `sustained` the documents OpenSearch acknowledged after the first ones over the time from those to the last (the pipeline full: no SQS wait or Kinesis poll in it), read off the consumer's `siemstream_events_delivered_total` every 200 ms. Not off `_count`: a count needs a refresh, and refreshing the node five times a second while it indexes slowed it (earlier runs did that); the OpenSearch-alone sweep is likewise timed to the last acknowledgement, with no refresh. `searchable` is when one refresh after the last acknowledgement counts every document. `limit halved` counts the consumer's `--bulk-concurrency` halvings by cause (its log; `siemstream_bulk_concurrency_decreases_total`): a 429 is the node's indexing pressure or queue pushing back. The timed objects follow a warm-up object. Documents have deterministic `_id`s. CPU is what the two processes used in that time; the rest of the wall time is waiting (Kinesis polling, OpenSearch bulk indexing on the same machine).\n\n")

	if len(e.alone) > 0 {
		fmt.Fprintf(b, "OpenSearch alone: the same %s documents sent straight to a fresh scratch index in 5 MiB `_bulk` requests by 1, 2, 4 and 8 concurrent clients; "+
			"directly (no proxy) for 0 ms, through the same delaying proxy as the end-to-end rows otherwise. docs/s is timed as `sustained` above: the documents acknowledged after the first request over the time from its acknowledgement to the last:\n\n", commas(int64(e.bulkDocs)))
		head := []string{"added latency"}
		for _, n := range bulkSweepClients {
			head = append(head, fmt.Sprintf("%d client(s)", n))
		}
		head = append(head, "best")
		rows = nil
		for _, a := range e.alone {
			row := []string{fmt.Sprintf("%d ms", a.delay.Milliseconds())}
			for _, n := range bulkSweepClients {
				cell := "–"
				for _, l := range a.sweep {
					if l.clients == n {
						cell = levelCell(l, e.bulkDocs)
					}
				}
				row = append(row, cell)
			}
			row = append(row, fmt.Sprintf("**%s** (%s)", num(a.best.rate(e.bulkDocs)), plural(a.best.clients, "client")))
			rows = append(rows, row)
		}
		mdTable(b, head, rows)
	}
	if len(e.sizes) > 0 {
		b.WriteString("Request size (`--bulk-bytes`, default 5 MiB): OpenSearch alone, the same documents, at the best client count of the 5 MiB sweep for that latency. docs/s:\n\n")
		var delays []time.Duration
		for _, l := range e.sizes {
			if !containsDur(delays, l.delay) {
				delays = append(delays, l.delay)
			}
		}
		head := []string{"request size"}
		for _, d := range delays {
			clients := 0
			if a := e.aloneAt(d); a != nil {
				clients = a.best.clients
			}
			head = append(head, fmt.Sprintf("+%d ms (%s)", d.Milliseconds(), plural(clients, "client")))
		}
		rows = nil
		for _, size := range bulkSizes {
			row := []string{fmt.Sprintf("%d MiB", size>>20)}
			for _, d := range delays {
				cell := "–"
				for _, l := range e.sizes {
					if l.bytes == size && l.delay == d {
						cell = levelCell(l, e.bulkDocs)
					}
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
		mdTable(b, head, rows)
	}
	if e.anyRejected() {
		b.WriteString("`429`: the node refused requests (its indexing pressure limit, `indexing_pressure.memory.limit`, 10% of the heap: too many bytes in flight at once), the size × clients it cannot take.\n\n")
	}
}

func (e *e2eResult) anyRejected() bool {
	for _, a := range e.alone {
		for _, l := range a.sweep {
			if l.rejected {
				return true
			}
		}
	}
	for _, l := range e.sizes {
		if l.rejected {
			return true
		}
	}
	return false
}

func levelCell(l bulkLevel, docs int) string {
	if l.rejected {
		return "429"
	}
	return num(l.rate(docs))
}

func containsDur(l []time.Duration, d time.Duration) bool {
	for _, x := range l {
		if x == d {
			return true
		}
	}
	return false
}

func sustainedCell(run e2eRun, docs int64) string {
	if v := run.sustained(docs); v > 0 {
		return num(v)
	}
	return "–"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func cutsCell(cuts map[string]int) string {
	if len(cuts) == 0 {
		return "0"
	}
	var parts []string
	for _, c := range []string{"429", "failure", "latency"} {
		if n := cuts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", c, n))
		}
	}
	return strings.Join(parts, ", ")
}
