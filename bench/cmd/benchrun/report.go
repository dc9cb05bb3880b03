package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/siemstream/siemstream/bench/gen"
)

// target is one goal of the issue and what was measured against it.
type target struct {
	what, measured, status string
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 100:
		return commas(int64(math.Round(v)))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (r *runner) val(name, unit string) float64 {
	if v, ok := r.res.get(name, unit); ok {
		return v
	}
	return math.NaN()
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func hotName(t, stages string) string { return "BenchmarkHotPath/type=" + t + "/stages=" + stages }
func cliName(t, stages string) string { return "BenchmarkNormalizeCLI/type=" + t + "/stages=" + stages }

// throughput is the one-core figure a target is judged on: the hot-path
// benchmark (events per CPU-second), or the real binary when the
// benchmark did not run. detail shows both.
func (r *runner) throughput(t, stages string) (cpu float64, detail, src string) {
	var parts []string
	cpu = math.NaN()
	if r.res.has(cliName(t, stages)) {
		cpu, src = r.val(cliName(t, stages), "events/cpu-s"), "normalize binary"
		parts = append(parts, fmt.Sprintf("binary %s events/cpu-s (%s wall)", num(cpu), num(r.val(cliName(t, stages), "events/s"))))
	}
	if r.res.has(hotName(t, stages)) {
		cpu, src = r.val(hotName(t, stages), "events/cpu-s"), "hot path"
		parts = append([]string{fmt.Sprintf("hot path %s events/cpu-s (%s wall)", num(cpu), num(r.val(hotName(t, stages), "events/s")))}, parts...)
	}
	return cpu, strings.Join(parts, "; "), src
}

func (r *runner) targets() []target {
	var out []target
	for _, g := range []struct {
		t    string
		goal float64
	}{{"vpcflowlogs", 360000}, {"alb", 300000}, {"cloudtrail", 180000}} {
		cpu, detail, src := r.throughput(g.t, "off")
		if src == "" {
			continue
		}
		out = append(out, target{
			what:     fmt.Sprintf("%s ≥ %s events/s on one core (judged on the %s)", g.t, commas(int64(g.goal)), src),
			measured: detail,
			status:   met(cpu >= g.goal),
		})
	}
	for _, t := range []string{"vpcflowlogs", "alb", "cloudtrail"} {
		off, _, src := r.throughput(t, "off")
		on, _, src2 := r.throughput(t, "geoip+ioc")
		if src == "" || src != src2 {
			continue
		}
		slower := 100 * (off/on - 1)
		measured := fmt.Sprintf("%+.0f%% CPU per event (%s → %s events/cpu-s)", slower, num(off), num(on))
		if src == "hot path" && r.res.has(cliName(t, "off")) && r.res.has(cliName(t, "geoip+ioc")) {
			measured += fmt.Sprintf("; binary %+.0f%%", 100*(r.val(cliName(t, "off"), "events/cpu-s")/r.val(cliName(t, "geoip+ioc"), "events/cpu-s")-1))
		}
		out = append(out, target{
			what:     fmt.Sprintf("%s with GeoIP+IoC on ≤ 30%% slower (%s)", t, src),
			measured: measured,
			status:   met(slower <= 30),
		})
	}
	if name := r.firstWithPrefix("BenchmarkProducerRSS/"); name != "" {
		mbs := r.val(name, "MB/cpu-s")
		out = append(out, target{what: "producer ≥ 200 MB/s of decompressed input per core (1 GiB object, GOMAXPROCS=1)",
			measured: fmt.Sprintf("%s MB/cpu-s (%s MB/s wall)", num(mbs), num(r.val(name, "MB/s"))), status: met(mbs >= 200)})
		rss := r.val(name, "peak-RSS-MiB")
		out = append(out, target{what: "producer peak RSS < 256 MiB on a " + strings.TrimPrefix(name[strings.LastIndex(name, "=")+1:], "") + " object",
			measured: fmt.Sprintf("%s MiB", num(rss)), status: met(rss < 256)})
	}
	minSaving, maxRecord, worst := math.Inf(1), 0.0, ""
	for _, t := range r.types {
		n := "BenchmarkProducer/type=" + t
		if !r.res.has(n) {
			continue
		}
		if s := r.val(n, "shard-s-saving-x"); s < minSaving {
			minSaving, worst = s, t
		}
		maxRecord = max(maxRecord, r.val(n, "max-record-B"))
	}
	if worst != "" {
		out = append(out, target{what: "Kinesis ≥ 5× fewer shard-seconds per million events than one event per record",
			measured: fmt.Sprintf("%.1f× at worst (%s)", minSaving, worst), status: met(minSaving >= 5)})
		out = append(out, target{what: "Kinesis records ≤ 1 MiB", measured: fmt.Sprintf("largest %s B", commas(int64(maxRecord))), status: met(maxRecord <= 1<<20)})
	}
	var cons []string
	for _, t := range []string{"vpcflowlogs", "alb", "cloudtrail"} {
		n := "BenchmarkConsumer/type=" + t + "/stages=geoip+ioc"
		if r.res.has(n) {
			cons = append(cons, fmt.Sprintf("%s %s / %s events/cpu-s at 1 / 2 procs (%s / %s wall)", t,
				num(r.val(n, "events/cpu-s")), num(r.val(n+"-2", "events/cpu-s")), num(r.val(n, "events/s")), num(r.val(n+"-2", "events/s"))))
		}
	}
	if len(cons) > 0 {
		out = append(out, target{what: "consumer events/s at GOMAXPROCS=1 and 2 (geoip+ioc on)", measured: strings.Join(cons, "; "), status: "reported"})
	}
	var bounded []string
	ok, judged := true, 0
	for _, m := range r.res.mem {
		if m.what != "consumer" || m.half <= 0 {
			continue
		}
		// Only runs long enough to reach a steady state judge the bound;
		// GC heap-goal drift allows some slack.
		if m.passes >= 2 {
			ok = ok && m.peak <= 1.3*m.half
			judged++
		}
		bounded = append(bounded, fmt.Sprintf("%s: %s MiB (%s half-way)", m.settings, num(m.peak), num(m.half)))
	}
	if len(bounded) > 0 {
		out = append(out, target{what: "consumer RSS bounded by its in-flight setting (peak at the end ≤ 1.3 × peak half-way on runs that read their data at least twice; it grows with shards × batch and GetRecords size)",
			measured: strings.Join(bounded, "; "), status: pick(judged == 0, "reported (runs too short to judge)", met(ok))})
	}
	// RSS per --max-inflight-bulks, from the rows with a sink round trip
	// (without one, batches hardly overlap).
	var inflight []string
	var lo, hi *memRow
	for i := range r.res.mem {
		m := &r.res.mem[i]
		if m.what != "consumer" || m.delay == 0 {
			continue
		}
		inflight = append(inflight, fmt.Sprintf("%d: %s MiB", m.inflight, num(m.peak)))
		if lo == nil || m.inflight < lo.inflight {
			lo = m
		}
		if hi == nil || m.inflight > hi.inflight {
			hi = m
		}
	}
	if len(inflight) > 1 && hi.inflight > lo.inflight {
		out = append(out, target{what: fmt.Sprintf("consumer peak RSS by --max-inflight-bulks (1 shard, batch 5000, sink round trip %d ms)", lo.delay.Milliseconds()),
			measured: fmt.Sprintf("%s; %s MiB per batch in flight", strings.Join(inflight, ", "), num((hi.peak-lo.peak)/float64(hi.inflight-lo.inflight))),
			status:   "reported"})
	}
	if e := r.res.e2e; e != nil {
		out = append(out, r.e2eTargets(e)...)
	}
	return out
}

func (r *runner) firstWithPrefix(p string) string {
	for _, n := range r.res.order {
		if strings.HasPrefix(n, p) {
			return n
		}
	}
	return ""
}

func mdTable(b *strings.Builder, head []string, rows [][]string) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteByte('\n')
}

// summary is latest.md.
func (r *runner) summary(rawFile string) string {
	m := r.res.meta
	var b strings.Builder
	fmt.Fprintf(&b, "# siemstream bench: latest results\n\n")
	sha := m.sha
	if m.dirty {
		sha += " (uncommitted changes)"
	}
	fmt.Fprintf(&b, "Run %s (%s mode, -count %d) at commit %s, %s, %d CPUs (%s), load average %s, took %s. Raw results: `%s`.\n\n",
		m.date, m.mode, m.count, sha, m.goVersion, m.cpus, m.cpu, m.loadAvg, m.took, rawFile)
	b.WriteString("`events/s` is wall-clock. `events/cpu-s` is events per CPU-second of the process (getrusage): on a shared\n" +
		"machine it is the better estimate of what one dedicated core does, so targets are judged on it.\n" +
		"Compare runs with `benchstat OLD.txt NEW.txt`; `benchstat -col /stages FILE.txt` puts stages off/on side by side.\n")
	if v := r.val("BenchmarkCalibrate", "MB/s"); !math.IsNaN(v) {
		fmt.Fprintf(&b, "Machine yardstick (BenchmarkCalibrate, MD5 of 1 MiB, code siemstream does not change): best %s MB/s", num(v))
		if len(r.res.yardstick) > 0 {
			var parts []string
			for _, y := range r.res.yardstick {
				parts = append(parts, fmt.Sprintf("%s %s", y.name, num(y.pct)))
			}
			fmt.Fprintf(&b, "; just before each part: %s MB/s. A part whose yardstick is well below the best ran on a busy machine", strings.Join(parts, ", "))
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n## Targets\n\n")
	var rows [][]string
	for _, t := range r.targets() {
		rows = append(rows, []string{t.what, t.measured, t.status})
	}
	mdTable(&b, []string{"target", "measured", "status"}, rows)

	b.WriteString("## 1. Hot path per event (decode → exclude → normalize → GeoIP → IoC → encode → bulk body), GOMAXPROCS=1\n\n" +
		"`off`: decode → normalize → encode. `geoip+ioc`: plus GeoIP (20k networks) and IoC (100k indicators). " +
		"`all`: plus own-log and CSV exclusion. One op is one event.\n\n")
	rows = nil
	for _, t := range gen.Types() {
		for _, s := range []string{"off", "geoip+ioc", "all"} {
			n := hotName(t, s)
			if !r.res.has(n) {
				continue
			}
			vs := "–"
			if s != "off" && r.res.has(hotName(t, "off")) {
				vs = fmt.Sprintf("%+.0f%%", 100*(r.val(hotName(t, "off"), "events/cpu-s")/r.val(n, "events/cpu-s")-1))
			}
			rows = append(rows, []string{t, s, num(r.val(n, "ns/op")), num(r.val(n, "B/op")), num(r.val(n, "allocs/op")),
				num(r.val(n, "events/s")), num(r.val(n, "events/cpu-s")), vs})
		}
	}
	mdTable(&b, []string{"type", "stages", "ns/op", "B/op", "allocs/op", "events/s", "events/cpu-s", "CPU per event vs off"}, rows)
	for _, t := range r.skipped {
		fmt.Fprintf(&b, "- %s: skipped, not registered in schemas yet.\n", t)
	}
	if len(r.skipped) > 0 {
		b.WriteByte('\n')
	}

	if len(r.res.profiles) > 0 {
		b.WriteString("### CPU profile of the hot path (stages=all)\n\nShares are of the samples under the benchmark loop " +
			"(background GC is separate: its share of all samples is given). Profiles: " + profileDir(r) + "\n\n")
		for _, p := range r.res.profiles {
			var st, top []string
			for _, s := range p.stages {
				st = append(st, fmt.Sprintf("%s %.0f%%", s.name, s.pct))
			}
			for _, t := range p.top {
				top = append(top, fmt.Sprintf("`%s` %.1f%%", t.name, t.pct))
			}
			fmt.Fprintf(&b, "- **%s**: by stage: %s; background GC %.0f%% of all samples.\n  Top (flat): %s\n", p.logType,
				strings.Join(st, ", "), p.gcPct, strings.Join(top, ", "))
		}
		b.WriteByte('\n')
	}

	b.WriteString("## 2. Producer split path (S3 object bytes → Kinesis records), GOMAXPROCS=1\n\n" +
		"gunzip → split → pack (zstd chunks in KPL aggregates) → PutRecords batching, via producer.LoadObject; " +
		"rows `T, s2` are the same with `--codec s2`. " +
		"Shard-seconds per million events = max(bytes / 1 MiB, records / 1000), packed vs one event per record.\n\n")
	rows = nil
	for _, t := range gen.Types() {
		for _, v := range []struct{ suffix, label string }{{"", t}, {"/codec=s2", t + ", s2"}} {
			n := "BenchmarkProducer/type=" + t + v.suffix
			if !r.res.has(n) {
				continue
			}
			rows = append(rows, []string{v.label, num(r.val(n, "MB/s")), num(r.val(n, "MB/cpu-s")), num(r.val(n, "events/cpu-s")), num(r.val(n, "events/record")),
				num(r.val(n, "wire-B/event")), num(r.val(n, "shard-s/Mevents")), num(r.val(n, "1per-shard-s/Mevents")),
				fmt.Sprintf("%.1f×", r.val(n, "shard-s-saving-x")), commas(int64(r.val(n, "max-record-B")))})
		}
	}
	mdTable(&b, []string{"type", "MB/s", "MB/cpu-s", "events/cpu-s", "events/record", "wire B/event", "shard-s/M packed", "shard-s/M 1 per record", "saving", "largest record B"}, rows)
	if g, z, p := r.val("BenchmarkProducerBound/type=vpcflowlogs/step=gunzip", "MB/cpu-s"), r.val("BenchmarkProducerBound/type=vpcflowlogs/step=zstd", "MB/cpu-s"),
		r.val("BenchmarkProducer/type=vpcflowlogs", "MB/cpu-s"); !math.IsNaN(g) && !math.IsNaN(z) {
		bound := 1 / (1/g + 1/z)
		fmt.Fprintf(&b, "What bounds vpcflowlogs (`BenchmarkProducerBound`, the same object): gunzip alone %s MB/cpu-s, its records compressed into 256 KiB zstd chunks alone %s MB/cpu-s, "+
			"so the two compressions together allow at most **%s MB/cpu-s**", num(g), num(z), num(bound))
		if !math.IsNaN(p) {
			fmt.Fprintf(&b, "; the whole split path does %s (%.0f%% of that bound)", num(p), 100*p/bound)
		}
		if s2, p2 := r.val("BenchmarkProducerBound/type=vpcflowlogs/step=s2", "MB/cpu-s"), r.val("BenchmarkProducer/type=vpcflowlogs/codec=s2", "MB/cpu-s"); !math.IsNaN(s2) {
			bound2 := 1 / (1/g + 1/s2)
			fmt.Fprintf(&b, ". With `--codec s2` the records compress at %s MB/cpu-s, bound **%s MB/cpu-s**", num(s2), num(bound2))
			if !math.IsNaN(p2) {
				fmt.Fprintf(&b, ", split path %s (%.0f%%)", num(p2), 100*p2/bound2)
			}
		}
		b.WriteString(". See bench/README.md, \"What bounds the producer\".\n\n")
	}

	b.WriteString("## 3. Consumer (unpack → chain → bulk body → checkpoint, 4 shard processors, sink drops the body)\n\n")
	rows = nil
	for _, t := range gen.Types() {
		for _, s := range []string{"off", "geoip+ioc"} {
			for _, procs := range []string{"", "-2"} {
				n := "BenchmarkConsumer/type=" + t + "/stages=" + s + procs
				if !r.res.has(n) {
					continue
				}
				rows = append(rows, []string{t, s, pick(procs == "", "1", "2"), num(r.val(n, "events/s")), num(r.val(n, "events/cpu-s")), num(r.val(n, "ns/event"))})
			}
		}
	}
	mdTable(&b, []string{"type", "stages", "GOMAXPROCS", "events/s", "events/cpu-s", "wall ns/event"}, rows)

	b.WriteString("## siemstream normalize (the real binary, GOMAXPROCS=1, --quiet) over a large object\n\n")
	rows = nil
	for _, t := range gen.Types() {
		for _, s := range []string{"off", "geoip+ioc"} {
			n := cliName(t, s)
			if !r.res.has(n) {
				continue
			}
			rows = append(rows, []string{t, s, commas(int64(r.val(n, "docs"))), num(r.val(n, "ns/op") / 1e9), num(r.val(n, "events/s")),
				num(r.val(n, "events/cpu-s")), num(r.val(n, "startup-cpu-s")), num(r.val(n, "MB/s")), num(r.val(n, "peak-RSS-MiB"))})
		}
	}
	mdTable(&b, []string{"type", "stages", "documents", "seconds", "events/s", "events/cpu-s", "startup CPU s", "MB/s", "peak RSS MiB"}, rows)
	b.WriteString("`startup CPU s` is the same command on a 16 KiB object of the type: the fixed cost of a run (process start, schemas, GeoIP/IoC load, first use of caches), included in the whole-run figures.\n\n")

	if len(r.res.mem) > 0 {
		b.WriteString("## 4. Memory (child processes; peak RSS is the child's VmHWM)\n\n")
		rows = nil
		for _, m := range r.res.mem {
			half := "–"
			if m.half > 0 {
				half = num(m.half)
			}
			rows = append(rows, []string{m.what, m.settings, num(m.peak), half, num(m.baseline), commas(m.events),
				num(float64(m.events) / m.seconds), m.extra})
		}
		mdTable(&b, []string{"component", "settings", "peak RSS MiB", "half-way MiB", "before data MiB", "events", "events/s", ""}, rows)
	}

	if e := r.res.e2e; e != nil {
		r.e2eSection(&b, e)
	}
	if len(r.res.stages) > 0 {
		b.WriteString("Where the time goes: the same objects run in-process on one core, producer and consumer steps timed separately.\n\n")
		var tot float64
		for _, s := range r.res.stages {
			tot += s.nsPerEvent
		}
		rows = nil
		for _, s := range r.res.stages {
			rows = append(rows, []string{s.name, num(s.nsPerEvent), fmt.Sprintf("%.0f%%", 100*s.nsPerEvent/tot)})
		}
		rows = append(rows, []string{"total", num(tot), fmt.Sprintf("(%s events/s on one core)", num(1e9/tot))})
		mdTable(&b, []string{"step", "ns/event", "share"}, rows)
	}
	if len(r.res.notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range r.res.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

func profileDir(r *runner) string {
	if r.o.quick {
		return "not kept in quick mode."
	}
	return "`" + r.o.out + "/profiles/" + r.res.meta.date + "-" + r.res.meta.sha + "/<type>.pprof` (git-ignored; `go tool pprof -top FILE`)."
}

// table is the short summary printed at the end.
func (r *runner) table() string {
	var b strings.Builder
	b.WriteString("siemstream bench summary (events/cpu-s = per CPU-second; wall figures in latest.md)\n\n")
	fmt.Fprintf(&b, "%-12s %14s %14s %14s %12s\n", "hot path", "off", "geoip+ioc", "all", "normalize")
	for _, t := range gen.Types() {
		if !r.res.has(hotName(t, "off")) && !r.res.has(cliName(t, "off")) {
			if containsStr(r.skipped, t) {
				fmt.Fprintf(&b, "%-12s %14s\n", t, "not registered")
			}
			continue
		}
		fmt.Fprintf(&b, "%-12s %14s %14s %14s %12s\n", t, num(r.val(hotName(t, "off"), "events/cpu-s")),
			num(r.val(hotName(t, "geoip+ioc"), "events/cpu-s")), num(r.val(hotName(t, "all"), "events/cpu-s")),
			num(r.val(cliName(t, "off"), "events/cpu-s")))
	}
	b.WriteString("\ntargets:\n")
	for _, t := range r.targets() {
		fmt.Fprintf(&b, "  [%s] %s: %s\n", strings.Trim(t.status, "*"), t.what, t.measured)
	}
	if e := r.res.e2e; e != nil {
		b.WriteString("\nend to end (events/s from first upload, sustained, and the sustained rate's fraction of the best OpenSearch-alone rate at the same added latency):\n")
		for _, run := range e.runs {
			fmt.Fprintf(&b, "  %d shard(s), +%3d ms: %8s events/s, %8s sustained", run.shards, run.delay.Milliseconds(), num(run.rate(e.events)), sustainedCell(run, e.docs))
			if f := e.fraction(run); f > 0 {
				fmt.Fprintf(&b, "  %.2f of %s docs/s", f, num(e.aloneAt(run.delay).best.rate(e.bulkDocs)))
			}
			b.WriteString("\n")
		}
	}
	for _, n := range r.res.notes {
		b.WriteString("note: " + n + "\n")
	}
	return b.String()
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
