package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/testobj"
)

// Hostile objects against the real binary: `siemstream normalize` must
// neither crash, stall nor exhaust memory on any of them. Each case runs
// the binary as a child process and checks its peak RSS (rusage maxrss)
// and wall time. Large cases are generated here; only small seeds are in
// testdata/hostile.
const (
	hostileMaxRSS  = 512 << 20
	hostileMaxWall = 60 * time.Second
)

type hostileCase struct {
	name string
	key  string
	ini  string // user.ini content, if any
	obj  func(t *testing.T) []byte
	// want is a piece of stderr (the reason, or the summary line)
	want string
}

func TestNormalizeHostileBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary on large generated objects")
	}
	bin := os.Getenv("SIEM_HOSTILE_BIN") // another build, e.g. to show a case failing before its fix
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "siemstream")
		build := exec.Command("go", "build", "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	const (
		ctKey    = "AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/123456789012_CloudTrail_us-east-1_20250314T1155Z_hX3kP9qLmN2rT7vW.json.gz"
		vpcKey   = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20250314T1155Z_5f3e2a1b.log.gz"
		slKey    = "ext/SecurityLake/custom/app-events/2025/03/14/events.parquet"
		mysqlKey = "AWSLogs/123456789012/RDS/MySQL/error/us-east-1/2025/03/14/11/x.gz"
	)
	cases := []hostileCase{
		{"parquet-forged-footer", slKey, "", func(*testing.T) []byte { return testobj.ForgedParquetFooter() }, "unreadable parquet"},
		{"parquet-forged-footer-gzip", slKey, "", func(*testing.T) []byte { return testobj.Gzip(testobj.ForgedParquetFooter()) }, "unreadable parquet"},
		{"par1-in-cloudtrail", ctKey, "", func(*testing.T) []byte { return testobj.ForgedParquetFooter() }, "unknown binary format"},
		{"rds-mysql-error-1MB-line", mysqlKey, "", mysqlLongLine, "normalize: 1 documents"},
		{"user-ini-nested-captures-1MB", "hostile/nested/x.log", nestedINI, func(t *testing.T) []byte {
			return append(bytes.Repeat([]byte("xz"), 500_000), " tail\n"...)
		}, "normalize: 1 documents"},
		{"gzip-newline-bomb", vpcKey, "", gzipNewlineBomb, "max decompression ratio"},
		{"bzip2-bomb", vpcKey, "", bzip2Bomb, "max decompression ratio"},
		{"zip-overlapping-members", vpcKey, "", zipOverlapBomb, "overlap"},
		{"cloudtrail-100k-deep", ctKey, "", cloudTrailDeep, "normalize: 2 documents"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := filepath.Join(dir, c.name)
			if err := os.WriteFile(obj, c.obj(t), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"normalize", "--key", c.key, "--quiet", "--now", "2025-03-14T12:00:00Z"}
			if c.ini != "" {
				ini := filepath.Join(dir, c.name+".ini")
				os.WriteFile(ini, []byte(c.ini), 0o644)
				args = append(args, "--user-ini", ini)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*hostileMaxWall)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(args, obj)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			// Linux counts the parent's RSS at the fork in the child's
			// maxrss: give the generated object's memory back first.
			debug.FreeOSMemory()
			t0 := time.Now()
			err := cmd.Run()
			wall := time.Since(t0)
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
				t.Fatalf("normalize: %v (wall %s)\n%.2000s", err, wall, stderr.String())
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			rss := ru.Maxrss << 10 // KiB on Linux
			t.Logf("%s: peak RSS %d MiB, wall %s, exit %d", c.name, rss>>20, wall.Round(time.Millisecond), cmd.ProcessState.ExitCode())
			if rss > hostileMaxRSS {
				t.Errorf("peak RSS %d MiB > %d MiB", rss>>20, hostileMaxRSS>>20)
			}
			if wall > hostileMaxWall {
				t.Errorf("wall time %s > %s", wall, hostileMaxWall)
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr does not say %q:\n%.2000s", c.want, stderr.String())
			}
		})
	}
}

const nestedINI = `[nested]
s3_key = hostile/nested/
file_format = text
log_pattern = ^(?P<a>((?P<b>(x|y))(?P<c>(z|w)))+)(?P<rest>.*)$$
index_name = log-hostile-nested
`

// mysqlLongLine: a CloudWatch Logs payload whose one message is a ~1 MB
// line for rds-mysql-error's `(\s|T)+`.
func mysqlLongLine(t *testing.T) []byte {
	msg := "2024-01-02" + strings.Repeat(" ", 1_000_000) + "10:00:00Z 12 [Note] hello"
	m, _ := json.Marshal(msg)
	return testobj.Gzip([]byte(`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c/error",` +
		`"logStream":"c-1.error","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1741950301000,"message":` + string(m) + `}]}`))
}

// gzipNewlineBomb: 1000 concatenated gzip members of 10 MiB of newlines
// each (~10 MB expanding to ~10 GB).
func gzipNewlineBomb(*testing.T) []byte { return testobj.NewlineBomb(1000) }

// zipOverlapBomb: one deflate stream (64 MiB of VPC-like lines) referenced
// by 2000 central-directory entries, all at offset 0: 128 GB if read.
func zipOverlapBomb(*testing.T) []byte {
	return testobj.OverlapZip("kernel.log", bytes.Repeat([]byte(vpcLine), 1<<20), 2000)
}

// vpcLine is one VPC flow log record.
const vpcLine = "2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n"

// bzip2Bomb: concatenated copies of a 208-byte bzip2 stream of 256 MiB of
// newlines (made with Python's bz2; Go has no bzip2 writer): 40 KB, 10 GiB.
func bzip2Bomb(t *testing.T) []byte {
	seed, err := os.ReadFile("testdata/hostile/newlines-256MiB.bz2")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(seed, 40)
}

// cloudTrailDeep: a CloudTrail object with a record nested 100,000 deep
// between good records.
func cloudTrailDeep(t *testing.T) []byte {
	good := `{"eventVersion":"1.08","eventTime":"2025-03-14T11:55:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",` +
		`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","recipientAccountId":"123456789012","eventID":"%d"}`
	deep := testobj.DeepJSON(100_000)
	obj := `{"Records":[` + fmt.Sprintf(good, 1) + "," + deep + "," + fmt.Sprintf(good, 3) + `]}`
	return testobj.Gzip([]byte(obj))
}

// SIGTERM stops normalize inside a decompression bomb (before, it went on
// for minutes): with the size and ratio limits lifted, the bomb would take
// minutes; the process must exit within seconds of the signal.
func TestNormalizeSIGTERMInsideBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "siemstream")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	obj := filepath.Join(dir, "bomb.gz")
	if err := os.WriteFile(obj, gzipNewlineBomb(t), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "normalize", "--key", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/x.log.gz", "--quiet",
		"--max-decompression-ratio", "100000000", "--max-decompressed-bytes", "1000000000000", obj)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// wait until it is reading the object (its file offset moves)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !readingFile(cmd.Process.Pid, obj) {
		select {
		case <-deadline:
			t.Fatal("normalize never started reading the object")
		case <-tick.C:
		}
	}
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		t.Logf("exited %s after SIGTERM: %.300s", time.Since(t0).Round(time.Millisecond), stderr.String())
		if !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("stderr does not say it was cancelled: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("normalize still running 10s after SIGTERM")
	}
}

// readingFile reports whether process pid has path open at an offset > 0.
func readingFile(pid int, path string) bool {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil || target != path {
			continue
		}
		info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		return strings.HasPrefix(string(info), "pos:") && !strings.HasPrefix(string(info), "pos:\t0\n")
	}
	return false
}
