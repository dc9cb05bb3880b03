package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
)

// fakeLoader plays LoadObject by key.
type fakeLoader struct {
	mu       sync.Mutex
	calls    map[string]int
	failOnce map[string]bool             // transient error on the first attempt
	errs     map[string]error            // error on every attempt
	outcome  map[string]producer.Outcome // outcome other than Loaded
	block    chan struct{}               // when set, loads wait for it to close
	started  chan string
	ctxErr   error // first ctx error a load saw at its end
}

func newFakeLoader() *fakeLoader {
	return &fakeLoader{calls: map[string]int{}, failOnce: map[string]bool{}, errs: map[string]error{}, outcome: map[string]producer.Outcome{}}
}

func (f *fakeLoader) LoadObject(ctx context.Context, o notify.Object) (producer.ObjectResult, error) {
	f.mu.Lock()
	f.calls[o.Key]++
	n := f.calls[o.Key]
	block, started := f.block, f.started
	f.mu.Unlock()
	if started != nil {
		started <- o.Key
	}
	if block != nil {
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil && f.ctxErr == nil {
		f.ctxErr = err
	}
	if err := f.errs[o.Key]; err != nil {
		return producer.ObjectResult{}, err
	}
	if f.failOnce[o.Key] && n == 1 {
		return producer.ObjectResult{}, fmt.Errorf("put records: throttled")
	}
	if oc, ok := f.outcome[o.Key]; ok {
		return producer.ObjectResult{Outcome: oc, Records: 3, Reason: "gzip: invalid header"}, nil
	}
	return producer.ObjectResult{Outcome: producer.Loaded, LogType: "vpcflowlogs", Records: 100, Bytes: 1000}, nil
}

func (f *fakeLoader) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

// fakeLister pages through objects two at a time.
type fakeLister struct {
	objs  []s3types.Object
	pages int
}

func (l *fakeLister) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	l.pages++
	start := 0
	if in.ContinuationToken != nil {
		start, _ = strconv.Atoi(*in.ContinuationToken)
	}
	out := &s3.ListObjectsV2Output{}
	end := min(start+2, len(l.objs))
	for _, o := range l.objs[start:end] {
		if strings.HasPrefix(*o.Key, aws.ToString(in.Prefix)) {
			out.Contents = append(out.Contents, o)
		}
	}
	if end < len(l.objs) {
		out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func obj(key string, size int64, mod time.Time) s3types.Object {
	return s3types.Object{Key: aws.String(key), Size: aws.Int64(size), LastModified: aws.Time(mod)}
}

func vpc(i int) string { return strings.Replace(vpcKey, "00000001", fmt.Sprintf("%08x", i), 1) }

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Workers, cfg.RetryBackoff, cfg.LogDir = 3, 0, t.TempDir()
	return cfg
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

func TestBackfillListing(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	l := &fakeLister{objs: []s3types.Object{
		obj(vpc(1), 100, t0), obj(vpc(2), 200, t0.Add(time.Minute)), obj("AWSLogs/", 0, t0),
		obj("AWSLogs/readme.txt", 5, t0), obj(ctKey, 50, t0), obj(vpc(3), 300, t0.Add(-48*time.Hour)),
		obj("siemstream-deadletter/producer/b/"+vpc(9)+".jsonl", 9, t0), obj(vpc(4), 400, t0.Add(2*time.Minute)),
	}}
	ld := newFakeLoader()
	cfg := testConfig(t)
	cfg.Bucket, cfg.Prefix = "logs", ""
	cfg.Filter = Filter{LogTypes: []string{"vpcflowlogs"}, Since: t0.Add(-time.Hour), ExcludePrefixes: []string{"siemstream-deadletter/"}}
	b, err := New(cfg, registry(t), l, ld, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Listed != 8 || sum.Queued != 3 || sum.Loaded != 3 || sum.Failed != 0 || sum.Records != 300 || sum.Interrupted {
		t.Errorf("summary = %+v", sum)
	}
	wantSkipped := map[string]int64{"folder": 1, "unknown_log_type": 1, "other_log_type": 1, "outside_time_range": 1, "excluded_prefix": 1}
	for k, v := range wantSkipped {
		if sum.Skipped[k] != v {
			t.Errorf("skipped[%s] = %d, want %d (all: %v)", k, sum.Skipped[k], v, sum.Skipped)
		}
	}
	if l.pages != 4 {
		t.Errorf("listed %d pages, want 4", l.pages)
	}
	if sum.Name != "backfill-logs" || sum.ErrorLog != "" {
		t.Errorf("name %q error log %q", sum.Name, sum.ErrorLog)
	}
	lines := readLines(t, sum.FinishLog)
	slices.Sort(lines)
	want := []string{"1\ts3://logs/" + vpc(1), "2\ts3://logs/" + vpc(2), "8\ts3://logs/" + vpc(4)}
	if !slices.Equal(lines, want) {
		t.Errorf("finish log = %q, want %q", lines, want)
	}
	if p := b.Progress(); p.Done != 3 || p.Total != 3 || !p.TotalFinal || p.SizeTotal != 700 || p.Size != 700 {
		t.Errorf("progress = %+v", p)
	}
}

func TestBackfillFailuresAndResume(t *testing.T) {
	cfg := testConfig(t)
	list := filepath.Join(t.TempDir(), "objects.txt")
	content := "2025-03-14 12:00:00        100 " + vpc(1) + "\n" +
		"2025-03-14 12:00:00        100 " + vpc(2) + "\n" +
		"                           PRE AWSLogs/\n" +
		"2025-03-14 12:00:00        100 " + vpc(3) + "\n" +
		"2025-03-14 12:00:00        100 " + vpc(4) + "\n" +
		"2025-03-14 12:00:00        100 " + vpc(1) + "\n" // listed twice
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Bucket, cfg.ListFile = "logs", list
	ld := newFakeLoader()
	ld.failOnce[vpc(2)] = true
	ld.errs[vpc(3)] = fmt.Errorf("get s3://logs/%s: %w", vpc(3), &s3types.NoSuchKey{Message: aws.String("gone")})
	ld.outcome[vpc(4)] = producer.Corrupt

	run := func(cfg Config) Summary {
		t.Helper()
		b, err := New(cfg, registry(t), nil, ld, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := b.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	sum := run(cfg)
	if sum.Listed != 5 || sum.Duplicates != 1 || sum.Loaded != 2 || sum.Failed != 2 || sum.Retries != 1 {
		t.Errorf("first run summary = %+v", sum)
	}
	if ld.count(vpc(2)) != 2 || ld.count(vpc(3)) != 1 {
		t.Errorf("attempts: transient %d (want 2), permanent %d (want 1: no retry)", ld.count(vpc(2)), ld.count(vpc(3)))
	}
	if sum.Name != "objects.txt" || sum.ErrorLog == "" {
		t.Fatalf("name %q, error log %q", sum.Name, sum.ErrorLog)
	}
	errLines := readLines(t, sum.ErrorLog)
	slices.Sort(errLines)
	if len(errLines) != 2 {
		t.Fatalf("error log = %q", errLines)
	}
	for _, want := range []struct{ line, uri, reason string }{
		{"4", "s3://logs/" + vpc(3), "object does not exist"},
		{"5", "s3://logs/" + vpc(4), "corrupt object, quarantined (3 records before the damage"},
	} {
		found := false
		for _, l := range errLines {
			f := strings.Split(l, "\t")
			if len(f) == 4 && f[1] == want.line && f[2] == want.uri && strings.Contains(f[3], want.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("error log %q lacks line %s %s %q", errLines, want.line, want.uri, want.reason)
		}
	}

	// Same command again: finished objects are skipped, failures retried.
	sum = run(cfg)
	if sum.AlreadyDone != 2 || sum.Queued != 2 || sum.Loaded != 0 || sum.Failed != 2 {
		t.Errorf("second run summary = %+v", sum)
	}
	if ld.count(vpc(1)) != 1 {
		t.Errorf("finished object loaded %d times", ld.count(vpc(1)))
	}

	// The error log as a list retries exactly the failures; once they are
	// fixed, the run is clean and its error log removed.
	delete(ld.errs, vpc(3))
	delete(ld.outcome, vpc(4))
	retry := cfg
	retry.ListFile = sum.ErrorLog
	sum = run(retry)
	if sum.Name != "objects.txt.error.log" || sum.Listed != 2 || sum.Loaded != 2 || sum.Failed != 0 || sum.ErrorLog != "" {
		t.Errorf("retry run summary = %+v", sum)
	}
}

func TestBackfillInterrupt(t *testing.T) {
	cfg := testConfig(t)
	cfg.Workers = 2
	cfg.Bucket, cfg.Prefix = "logs", "AWSLogs/"
	var objs []s3types.Object
	for i := range 6 {
		objs = append(objs, obj(vpc(i), 10, time.Now()))
	}
	ld := newFakeLoader()
	ld.block, ld.started = make(chan struct{}), make(chan string, 10)
	b, err := New(cfg, registry(t), &fakeLister{objs: objs}, ld, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		sum Summary
		err error
	}
	res := make(chan result, 1)
	go func() {
		s, err := b.Run(ctx)
		res <- result{s, err}
	}()
	<-ld.started
	<-ld.started
	cancel() // both workers busy: nothing more may start
	close(ld.block)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.sum.Interrupted || r.sum.Loaded != 2 || r.sum.Failed != 0 {
		t.Errorf("interrupted summary = %+v", r.sum)
	}
	if ld.ctxErr != nil {
		t.Errorf("an in-flight load saw its context cancelled: %v", ld.ctxErr)
	}
	if n := len(readLines(t, r.sum.FinishLog)); n != 2 {
		t.Errorf("finish log has %d lines, want the 2 in-flight objects", n)
	}

	ld2 := newFakeLoader()
	b, err = New(cfg, registry(t), &fakeLister{objs: objs}, ld2, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.AlreadyDone != 2 || sum.Loaded != 4 || sum.Interrupted {
		t.Errorf("resumed summary = %+v", sum)
	}
	if n := len(readLines(t, sum.FinishLog)); n != 6 {
		t.Errorf("finish log has %d lines after resume, want 6", n)
	}
}

func TestBackfillDryRun(t *testing.T) {
	cfg := testConfig(t)
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	cfg.Bucket, cfg.DryRun, cfg.Output = "logs", true, &out
	l := &fakeLister{objs: []s3types.Object{obj(vpc(1), 100, t0), obj("x/unknown", 1, t0), obj(ctKey, 7, t0)}}
	b, err := New(cfg, registry(t), l, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "1\ts3://logs/" + vpc(1) + "\tvpcflowlogs\t100\t2025-03-14T12:00:00Z\n" +
		"3\ts3://logs/" + ctKey + "\tcloudtrail\t7\t2025-03-14T12:00:00Z\n"
	if out.String() != want {
		t.Errorf("dry run output:\n%s\nwant:\n%s", out.String(), want)
	}
	if sum.Queued != 2 || sum.Loaded != 0 || sum.FinishLog != "" {
		t.Errorf("summary = %+v", sum)
	}
	if entries, _ := os.ReadDir(cfg.LogDir); len(entries) != 0 {
		t.Errorf("dry run wrote files: %v", entries)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Bucket = "b"
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no source":   func(c *Config) { c.Bucket = "" },
		"no workers":  func(c *Config) { c.Workers = 0 },
		"neg retries": func(c *Config) { c.Retries = -1 },
		"name path":   func(c *Config) { c.Name = "a/b" },
		"window": func(c *Config) {
			c.Filter.Since, c.Filter.Until = time.Unix(10, 0), time.Unix(5, 0)
		},
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(ok, registry(t), nil, nil, zerolog.Nop()); err == nil {
		t.Errorf("New without lister and loader accepted")
	}
	bad := ok
	bad.Filter.LogTypes = []string{"nope"}
	if _, err := New(bad, registry(t), &fakeLister{}, newFakeLoader(), zerolog.Nop()); err == nil || !errors.Is(err, err) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown log type: %v", err)
	}
}
