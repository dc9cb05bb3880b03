package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/schemas"
)

// goTest runs the benchmark binary with -test.* args, count times, and
// records its output. Benchmark lines are echoed as they come.
func (r *runner) goTest(ctx context.Context, count int, args ...string) error {
	cmd := exec.CommandContext(ctx, r.testBin, append([]string{"-test.run", "^$", "-test.count", strconv.Itoa(count)}, args...)...)
	cmd.Dir = filepath.Join(r.root, "bench")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "PASS" || strings.HasPrefix(line, "ok ") {
			continue
		}
		r.res.addOutput(line)
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "---") || strings.HasPrefix(line, "    ") {
			fmt.Println("  " + line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go test %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// registered lists the generator types that have a log type, and notes
// the others once.
func (r *runner) registered() []string {
	if r.types != nil {
		return r.types
	}
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		r.res.note("schemas: %v", err)
		return nil
	}
	r.types = []string{}
	for _, g := range gen.Types() {
		gn, _ := gen.New(g, 1)
		if lt, _ := reg.Detect(gn.Key(fixture.T0, 1)); lt == nil {
			r.res.note("%s: skipped everywhere: no log type in schemas matches its keys yet (being added)", g)
			r.skipped = append(r.skipped, g)
			continue
		}
		r.types = append(r.types, g)
	}
	return r.types
}

func (r *runner) typeRegex(types []string) string {
	return "(" + strings.Join(types, "|") + ")"
}

func (r *runner) calibrate(ctx context.Context) error {
	return r.goTest(ctx, r.o.count, "-test.bench", "^BenchmarkCalibrate$", "-test.cpu", "1", "-test.benchtime", pick(r.o.quick, "50x", "200x"))
}

func (r *runner) hotPath(ctx context.Context) error {
	types := r.registered()
	// Several short runs rather than one long one: the tables take the
	// best, the run least disturbed by other load on the machine.
	count := max(r.o.count, pick(r.o.quick, 1, 3))
	logf("hot path: %s × stages off, geoip+ioc, all (GOMAXPROCS=1, %d runs each)", strings.Join(types, ", "), count)
	return r.goTest(ctx, count, "-test.bench", "^BenchmarkHotPath$/^type="+r.typeRegex(types)+"$",
		"-test.cpu", "1", "-test.benchtime", pick(r.o.quick, "30000x", "0.4s"))
}

func (r *runner) producer(ctx context.Context) error {
	types := r.registered()
	logf("producer split path: %s (GOMAXPROCS=1)", strings.Join(types, ", "))
	if err := r.goTest(ctx, r.o.count, "-test.bench", "^BenchmarkProducer$/^type="+r.typeRegex(types)+"$",
		"-test.cpu", "1", "-test.benchtime", pick(r.o.quick, "3x", "1s"),
		"-bench.object-bytes", strconv.Itoa(pick(r.o.quick, 2<<20, 8<<20))); err != nil {
		return err
	}
	// What bounds the VPC path: its two compressions alone, same object.
	return r.goTest(ctx, r.o.count, "-test.bench", "^BenchmarkProducerBound$/^type=vpcflowlogs$/",
		"-test.cpu", "1", "-test.benchtime", pick(r.o.quick, "3x", "1s"),
		"-bench.object-bytes", strconv.Itoa(pick(r.o.quick, 2<<20, 8<<20)))
}

func (r *runner) consumer(ctx context.Context) error {
	var types []string
	for _, t := range r.registered() {
		if t == "vpcflowlogs" || (!r.o.quick && (t == "alb" || t == "cloudtrail")) {
			types = append(types, t)
		}
	}
	logf("consumer: %s, GOMAXPROCS 1 and 2", strings.Join(types, ", "))
	return r.goTest(ctx, r.o.count, "-test.bench", "^BenchmarkConsumer$/^type="+r.typeRegex(types)+"$",
		"-test.cpu", "1,2", "-test.benchtime", pick(r.o.quick, "10x", "40x"))
}

// profile is one type's CPU profile summary.
type profile struct {
	logType string
	file    string
	total   time.Duration // samples under bench.hotPath
	gcPct   float64       // background GC, % of all samples
	top     []profLine    // flat, % of the hot path
	stages  []profLine    // cum per stage, % of the hot path
}

type profLine struct {
	name string
	pct  float64
}

var pprofLine = regexp.MustCompile(`^\s*([0-9.]+)(ns|us|µs|ms|s|min|h)?\s+[0-9.]+%\s+[0-9.]+%\s+([0-9.]+)(ns|us|µs|ms|s|min|h)?\s+[0-9.]+%\s+(.+)$`)

func dur(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "ns":
		return time.Duration(f)
	case "us", "µs":
		return time.Duration(f * 1e3)
	case "ms":
		return time.Duration(f * 1e6)
	case "min":
		return time.Duration(f * 60e9)
	case "h":
		return time.Duration(f * 3600e9)
	}
	return time.Duration(f * 1e9)
}

var pprofTotal = regexp.MustCompile(`Total samples = ([0-9.]+)(ns|us|µs|ms|s|min|h)`)

// pprofTop runs `go tool pprof -top` and returns (name, flat, cum) rows
// and the profile's total samples.
func (r *runner) pprofTop(ctx context.Context, prof string, extra ...string) ([][3]any, time.Duration, error) {
	args := append([]string{"tool", "pprof", "-top"}, extra...)
	args = append(args, r.testBin, prof)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.root
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("go tool pprof: %w", err)
	}
	var total time.Duration
	if m := pprofTotal.FindStringSubmatch(string(out)); m != nil {
		total = dur(m[1], m[2])
	}
	var rows [][3]any
	for _, l := range strings.Split(string(out), "\n") {
		m := pprofLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rows = append(rows, [3]any{m[5], dur(m[1], m[2]), dur(m[3], m[4])})
	}
	return rows, total, nil
}

var stageFunc = regexp.MustCompile(`stages/(\w+)\.\(\*\w+\)\.Process$`)

func shortName(s string) string {
	s = strings.TrimPrefix(s, "github.com/siemstream/siemstream/")
	s = strings.TrimPrefix(s, "github.com/")
	return s
}

// profile records a CPU profile of each type's hot path with every stage
// on, and summarises what dominates.
func (r *runner) profile(ctx context.Context) error {
	dir := filepath.Join(r.tmp, "profiles")
	if !r.o.quick {
		dir = filepath.Join(r.root, r.o.out, "profiles", r.res.meta.date+"-"+r.res.meta.sha)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, t := range r.registered() {
		prof := filepath.Join(dir, t+".pprof")
		logf("profile: %s (stages=all)", t)
		cmd := exec.CommandContext(ctx, r.testBin, "-test.run", "^$", "-test.bench", "^BenchmarkHotPath$/^type="+t+"$/^stages=all$",
			"-test.cpu", "1", "-test.benchtime", pick(r.o.quick, "50000x", "1s"), "-test.cpuprofile", prof)
		cmd.Dir = filepath.Join(r.root, "bench")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("profile %s: %v\n%s", t, err, out)
		}
		p := profile{logType: t, file: prof}
		cum, _, err := r.pprofTop(ctx, prof, "-cum", "-nodecount=400", `-focus=bench\.hotPath`)
		if err != nil {
			return err
		}
		for _, row := range cum {
			if strings.HasSuffix(row[0].(string), "bench.hotPath") {
				p.total = row[2].(time.Duration)
			}
		}
		if p.total == 0 {
			return fmt.Errorf("profile %s: no samples under bench.hotPath", t)
		}
		pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(p.total) }
		for _, row := range cum {
			name := row[0].(string)
			if m := stageFunc.FindStringSubmatch(name); m != nil {
				p.stages = append(p.stages, profLine{m[1], pct(row[2].(time.Duration))})
			} else if strings.HasSuffix(name, "fixture.AppendBulk") {
				p.stages = append(p.stages, profLine{"bulk body", pct(row[2].(time.Duration))})
			}
		}
		flat, _, err := r.pprofTop(ctx, prof, "-nodecount=12", `-focus=bench\.hotPath`)
		if err != nil {
			return err
		}
		for _, row := range flat {
			p.top = append(p.top, profLine{shortName(row[0].(string)), pct(row[1].(time.Duration))})
		}
		all, total, err := r.pprofTop(ctx, prof, "-cum", "-nodecount=400")
		if err != nil {
			return err
		}
		for _, row := range all {
			if strings.HasSuffix(row[0].(string), "runtime.gcBgMarkWorker") && total > 0 {
				p.gcPct = 100 * float64(row[2].(time.Duration)) / float64(total)
			}
		}
		r.res.profiles = append(r.res.profiles, p)
	}
	return nil
}
