package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
)

// enrichment writes (once) the GeoIP databases, IoC feed and exclusion file
// the "on" runs use: the same data the go test benchmarks build.
func (r *runner) enrichment() (fixture.Enrichment, error) {
	if r.enrich != nil {
		return *r.enrich, nil
	}
	e, err := fixture.WriteEnrichment(filepath.Join(r.tmp, "enrich"), fixture.EnrichmentOptions{Seed: 20250314})
	if err != nil {
		return e, err
	}
	r.enrich = &e
	return e, nil
}

// bigObject writes a gzip object of about rawBytes decompressed bytes of a
// generator type and returns its path, key and event count.
func (r *runner) bigObject(genName string, rawBytes int64, seed uint64) (path, key string, events int, raw int64, err error) {
	sample, err := fixture.Generate(genName, seed, 2000)
	if err != nil {
		return "", "", 0, 0, err
	}
	events = max(1, int(1.01*float64(rawBytes)/(float64(len(sample.Raw))/2000)))
	path = filepath.Join(r.tmp, fmt.Sprintf("%s-%d.gz", genName, rawBytes>>20))
	f, err := os.Create(path)
	if err != nil {
		return "", "", 0, 0, err
	}
	key, raw, err = fixture.WriteGzip(f, genName, seed, events)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return path, key, events, raw, err
}

// proc is how a child process did.
type proc struct {
	wall, cpu time.Duration
	// hwmKiB is the child's VmHWM, polled from /proc while it runs. (The
	// getrusage maxrss of a child is not usable: Linux counts the parent's
	// memory the child shared before exec.)
	hwmKiB int64
	stdout []byte
	stderr []byte
}

// runChild runs a command and reports its wall and CPU time (getrusage of
// the child) and peak RSS.
func runChild(ctx context.Context, env []string, name string, args ...string) (proc, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	var p proc
	err := cmd.Start()
	if err == nil {
		done := make(chan struct{})
		polled := make(chan int64)
		go func() {
			var hwm int64
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			for {
				if v := statusField(status, "VmHWM"); v > 0 {
					hwm = v
				}
				select {
				case <-done:
					polled <- hwm
					return
				case <-t.C:
				}
			}
		}()
		err = cmd.Wait()
		close(done)
		p.hwmKiB = <-polled
	}
	p.wall, p.stdout, p.stderr = time.Since(start), out.Bytes(), errb.Bytes()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
			p.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return p, fmt.Errorf("%s: %v\n%s", filepath.Base(name), err, tail(errb.String(), 2000))
	}
	return p, nil
}

// statusField reads a kB field (VmHWM, VmRSS) of a /proc/<pid>/status file.
func statusField(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var normalizeSummary = regexp.MustCompile(`normalize: (\d+) documents, (\d+) excluded, (\d+) failed`)

// normalizeCLI times `GOMAXPROCS=1 siemstream normalize --quiet` over a
// large object per type, without and with GeoIP+IoC.
func (r *runner) normalizeCLI(ctx context.Context) error {
	e, err := r.enrichment()
	if err != nil {
		return err
	}
	size := int64(pick(r.o.quick, 8<<20, 32<<20))
	for _, t := range r.registered() {
		path, key, events, raw, err := r.bigObject(t, size, 7)
		if err != nil {
			return err
		}
		// A small object of the same type measures the fixed cost (start,
		// schemas, GeoIP/IoC load), so the steady per-event rate can be
		// told apart from it.
		small, smallKey, _, _, err := r.bigObject(t, 16<<10, 8)
		if err != nil {
			return err
		}
		for _, v := range []struct {
			name  string
			flags []string
		}{
			{"off", nil},
			{"geoip+ioc", []string{"--geoip", e.GeoIP, "--ioc", e.IOC}},
		} {
			args := append([]string{"normalize", "--quiet", "--bucket", fixture.Bucket, "--key", smallKey}, v.flags...)
			s, err := runChild(ctx, []string{"GOMAXPROCS=1"}, r.cliBin, append(args, small)...)
			if err != nil {
				return err
			}
			args = append([]string{"normalize", "--quiet", "--bucket", fixture.Bucket, "--key", key}, v.flags...)
			p, err := runChild(ctx, []string{"GOMAXPROCS=1"}, r.cliBin, append(args, path)...)
			if err != nil {
				return err
			}
			m := normalizeSummary.FindSubmatch(p.stderr)
			if m == nil {
				return fmt.Errorf("normalize %s: no summary line in %q", t, tail(string(p.stderr), 500))
			}
			docs, _ := strconv.Atoi(string(m[1]))
			failed, _ := strconv.Atoi(string(m[3]))
			if failed > 0 {
				r.res.note("normalize CLI %s: %d of %d events failed", t, failed, events)
			}
			name := "BenchmarkNormalizeCLI/type=" + t + "/stages=" + v.name
			r.res.add(name, p.wall, "ns/op", float64(events)/p.wall.Seconds(), "events/s", float64(events)/p.cpu.Seconds(), "events/cpu-s",
				s.cpu.Seconds(), "startup-cpu-s",
				float64(raw)/1e6/p.wall.Seconds(), "MB/s", float64(p.hwmKiB)/1024, "peak-RSS-MiB", docs, "docs")
			logf("normalize CLI %-11s %-9s %8d events %6.1f MB  %5.2fs wall  %5.2fs cpu (start %.2fs)  %8.0f events/s  %8.0f events/cpu-s",
				t, v.name, events, float64(raw)/1e6, p.wall.Seconds(), p.cpu.Seconds(), s.cpu.Seconds(), float64(events)/p.wall.Seconds(), float64(events)/p.cpu.Seconds())
		}
		os.Remove(path)
		os.Remove(small)
	}
	return nil
}
