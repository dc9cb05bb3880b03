// Command benchrun is `go tool task bench`. It measures, on this machine:
//
//  1. the hot path per log type (go test -bench BenchmarkHotPath at
//     GOMAXPROCS=1, stages off / geoip+ioc / all) and its CPU profile;
//  2. the producer's split path (BenchmarkProducer: MB/s, wire efficiency);
//  3. the consumer (BenchmarkConsumer at GOMAXPROCS 1 and 2);
//  4. the real `siemstream normalize` binary over large objects at
//     GOMAXPROCS=1;
//  5. peak RSS of the producer on a 1 GiB object and of the consumer under
//     several in-flight settings (child processes, bench/cmd/benchmem);
//  6. end to end on the local stack (upload → acknowledged → searchable), with the
//     per-stage time of the same data run in-process.
//
// Raw results go to bench/results/<date>-<gitsha>.txt in `go test -bench`
// format (compare two runs with benchstat; every measurement, including
// the non-go-test ones, is a Benchmark line), the summary to
// bench/results/latest.md, and the summary table to stdout. There are no
// pass/fail thresholds: targets are reported as met or not.
//
// Usage:
//
//	go run ./bench/cmd/benchrun [--quick] [--parts hot,producer,...] [--skip e2e] [--count N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/internal/e2e"
)

// allParts in run order.
var allParts = []string{"hot", "profile", "producer", "consumer", "normalize", "transport", "mem", "e2e"}

// options are the command line.
type options struct {
	quick     bool
	parts     map[string]bool
	count     int
	out       string
	up        bool
	e2eEvents int
	keepTmp   bool
}

func parseOptions(args []string) (options, error) {
	f := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	quick := f.Bool("quick", false, "short run: smaller inputs and benchtimes (about 3 minutes)")
	parts := f.String("parts", strings.Join(allParts, ","), "parts to run: "+strings.Join(allParts, ","))
	skip := f.String("skip", "", "parts to leave out (e.g. e2e when the local stack cannot run)")
	count := f.Int("count", 1, "go test -count for the benchmarks (use 6+ for benchstat significance)")
	out := f.String("out", "bench/results", "results directory (relative to the repository root)")
	noUp := f.Bool("no-up", false, "do not run `go tool task up` when the local stack is down (e2e is then skipped)")
	e2eEvents := f.Int("e2e-events", 0, "VPC events for the end-to-end run (default 100000, quick 20000)")
	keepTmp := f.Bool("keep-tmp", false, "keep the temporary directory (objects, binaries, profiles)")
	if err := f.Parse(args); err != nil {
		return options{}, err
	}
	o := options{quick: *quick, count: *count, out: *out, up: !*noUp, e2eEvents: *e2eEvents, keepTmp: *keepTmp, parts: map[string]bool{}}
	for _, p := range strings.Split(*parts, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(allParts, p) {
			return o, fmt.Errorf("unknown part %q (want %s)", p, strings.Join(allParts, ","))
		}
		o.parts[p] = true
	}
	for _, p := range strings.Split(*skip, ",") {
		delete(o.parts, strings.TrimSpace(p))
	}
	if o.count < 1 {
		return o, fmt.Errorf("--count %d: must be >= 1", o.count)
	}
	if o.e2eEvents == 0 {
		o.e2eEvents = pick(o.quick, 20_000, 100_000)
	}
	return o, nil
}

func pick[T any](quick bool, q, full T) T {
	if quick {
		return q
	}
	return full
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			return
		}
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// runner holds the state of one run.
type runner struct {
	o        options
	root     string
	tmp      string
	testBin  string
	cliBin   string
	memBin   string
	res      *results
	started  time.Time
	loadAvg0 string
	types    []string // generator types with a registered log type
	skipped  []string // … and without
	enrich   *fixture.Enrichment
}

func run(ctx context.Context, o options) error {
	root, err := e2e.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "siemstream-benchrun-")
	if err != nil {
		return err
	}
	if !o.keepTmp {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Println("temporary files in", tmp)
	}
	r := &runner{o: o, root: root, tmp: tmp, res: newResults(), started: time.Now(), loadAvg0: loadAvg()}
	r.res.meta = runMeta(root, o)
	logf("siemstream bench (%s) at %s, %d CPUs, load %s", pick(o.quick, "quick", "full"), r.res.meta.sha, runtime.NumCPU(), r.loadAvg0)

	if err := r.build(ctx); err != nil {
		return err
	}
	steps := []struct {
		part string
		fn   func(context.Context) error
	}{
		{"", r.calibrate},
		{"hot", r.hotPath},
		{"profile", r.profile},
		{"producer", r.producer},
		{"consumer", r.consumer},
		{"normalize", r.normalizeCLI},
		{"transport", r.transport},
		{"mem", r.memory},
		{"e2e", r.endToEnd},
	}
	for _, s := range steps {
		if s.part != "" && !o.parts[s.part] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		if s.part != "" {
			r.yardstick(ctx, s.part)
		}
		if err := s.fn(ctx); err != nil {
			// One part failing must not lose the others' results.
			r.res.note("%s: FAILED: %v", pick(s.part == "", "calibrate", s.part), err)
			logf("part %s failed: %v", s.part, err)
		}
		if s.part != "" {
			logf("part %s took %s", s.part, time.Since(t).Round(time.Second))
		}
	}
	r.res.meta.loadAvg = r.loadAvg0 + " → " + loadAvg()
	r.res.meta.took = time.Since(r.started).Round(time.Second)
	return r.write()
}

// yardstick runs BenchmarkCalibrate briefly before a part and keeps its
// MB/s, so the summary shows how fast the machine was during each part.
func (r *runner) yardstick(ctx context.Context, part string) {
	if err := r.goTest(ctx, 1, "-test.bench", "^BenchmarkCalibrate$", "-test.cpu", "1", "-test.benchtime", "50x"); err != nil {
		return
	}
	if runs := r.res.runs["BenchmarkCalibrate"]; len(runs) > 0 {
		r.res.yardstick = append(r.res.yardstick, profLine{part, runs[len(runs)-1]["MB/s"]})
	}
}

// build compiles the benchmark test binary, the siemstream binary and the
// memory child once.
func (r *runner) build(ctx context.Context) error {
	r.testBin = filepath.Join(r.tmp, "bench.test")
	r.cliBin = filepath.Join(r.tmp, "siemstream")
	r.memBin = filepath.Join(r.tmp, "benchmem")
	for _, c := range [][]string{
		{"go", "test", "-c", "-o", r.testBin, "./bench"},
		{"go", "build", "-o", r.cliBin, "./cmd/siemstream"},
		{"go", "build", "-o", r.memBin, "./bench/cmd/benchmem"},
	} {
		cmd := exec.CommandContext(ctx, c[0], c[1:]...)
		cmd.Dir = r.root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, b)
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
