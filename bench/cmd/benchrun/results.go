package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// meta describes the run and the machine.
type meta struct {
	sha, date, goVersion, cpu string
	dirty                     bool
	cpus                      int
	mode                      string
	count                     int
	loadAvg                   string
	took                      time.Duration
}

func runMeta(root string, o options) meta {
	m := meta{date: time.Now().UTC().Format("2006-01-02T1504Z"), goVersion: runtime.Version(), cpus: runtime.NumCPU(),
		mode: pick(o.quick, "quick", "full"), count: o.count, sha: "nogit"}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		b, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if s := git("rev-parse", "--short", "HEAD"); s != "" {
		m.sha = s
	}
	m.dirty = git("status", "--porcelain", "--untracked-files=no") != ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// metrics is one Benchmark line: unit → value.
type metrics map[string]float64

// results collects the raw output and the parsed benchmark lines.
type results struct {
	meta  meta
	raw   strings.Builder
	synth strings.Builder
	order []string
	runs  map[string][]metrics
	notes []string

	profiles []profile
	stages   []stageTime
	e2e      *e2eResult
	mem      []memRow
	// yardstick is BenchmarkCalibrate's MB/s just before each part.
	yardstick []profLine
}

func newResults() *results { return &results{runs: map[string][]metrics{}} }

func (r *results) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// addOutput records go test output: every line goes to the raw file, and
// Benchmark lines are parsed.
func (r *results) addOutput(line string) {
	r.raw.WriteString(line)
	r.raw.WriteByte('\n')
	r.parse(line)
}

func (r *results) parse(line string) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return
	}
	m := metrics{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return
		}
		m[f[i+1]] = v
	}
	if _, seen := r.runs[f[0]]; !seen {
		r.order = append(r.order, f[0])
	}
	r.runs[f[0]] = append(r.runs[f[0]], m)
}

// add records a measurement made outside go test as a Benchmark line, so
// benchstat compares it like the rest. vals are value, unit pairs.
func (r *results) add(name string, vals ...any) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("\t1")
	for i := 0; i+1 < len(vals); i += 2 {
		var v float64
		switch x := vals[i].(type) {
		case float64:
			v = x
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case time.Duration:
			v = float64(x.Nanoseconds())
		}
		fmt.Fprintf(&b, "\t%s %s", strconv.FormatFloat(v, 'g', 6, 64), vals[i+1])
	}
	r.synth.WriteString(b.String())
	r.synth.WriteByte('\n')
	r.parse(b.String())
}

// get returns the best value of a unit over a benchmark's runs: the
// highest rate or the lowest cost, i.e. the run least disturbed by other
// load. (The raw file keeps every run for benchstat.)
func (r *results) get(name, unit string) (float64, bool) {
	lower := strings.HasPrefix(unit, "ns/") || strings.HasPrefix(unit, "B/") || strings.HasPrefix(unit, "allocs/") ||
		strings.Contains(unit, "shard-s/") || strings.HasPrefix(unit, "wire-B/") ||
		strings.HasSuffix(unit, "-MiB") || strings.HasSuffix(unit, "-s") && !strings.Contains(unit, "/")
	var best float64
	n := 0
	for _, m := range r.runs[name] {
		v, ok := m[unit]
		if !ok {
			continue
		}
		if n == 0 || (lower && v < best) || (!lower && v > best) {
			best = v
		}
		n++
	}
	return best, n > 0
}

func (r *results) has(name string) bool { return len(r.runs[name]) > 0 }

// write saves the raw results and latest.md and prints the summary.
func (r *runner) write() error {
	dir := r.o.out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(r.root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := r.res.meta
	sha := m.sha
	if m.dirty {
		sha += "-dirty"
	}
	rawPath := filepath.Join(dir, m.date+"-"+sha+".txt")
	var raw strings.Builder
	fmt.Fprintf(&raw, "# siemstream bench %s run at %s, commit %s, %s, %d CPUs (%s), load %s, count %d\n",
		m.mode, m.date, sha, m.goVersion, m.cpus, m.cpu, m.loadAvg, m.count)
	raw.WriteString(r.res.raw.String())
	if r.res.synth.Len() > 0 {
		fmt.Fprintf(&raw, "goos: %s\ngoarch: %s\npkg: github.com/siemstream/siemstream/bench/cmd/benchrun\n", runtime.GOOS, runtime.GOARCH)
		raw.WriteString(r.res.synth.String())
	}
	if err := os.WriteFile(rawPath, []byte(raw.String()), 0o644); err != nil {
		return err
	}
	md := r.summary(filepath.Base(rawPath))
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(r.table())
	fmt.Printf("\nraw results: %s\nsummary:     %s\n", rel(r.root, rawPath), rel(r.root, filepath.Join(dir, "latest.md")))
	return nil
}

func rel(root, p string) string {
	if s, err := filepath.Rel(root, p); err == nil {
		return s
	}
	return p
}
