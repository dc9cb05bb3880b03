package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestBackfill uploads objects while no producer runs, loads them with
// `siemstream backfill` (a prefix listing, then an `aws s3 ls` list with a
// key containing spaces), and expects exactly the dry run's documents in
// OpenSearch once a consumer has read the stream. The finish and error logs
// are checked, and a second run skips everything already finished.
func TestBackfill(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "bf", 2, 5*time.Minute)
	dir, logDir, jdir := t.TempDir(), t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	good := []object{
		genObject(t, dir, "vpcflowlogs", 400, 11, t0),
		genObject(t, dir, "vpcflowlogs", 250, 12, t0.Add(time.Hour)),
		genObject(t, dir, "alb", 300, 13, t0),
		genObject(t, dir, "cloudtrail", 120, 14, t0),
	}
	// Loaded from a list file: a key with spaces, which es-loader's
	// `-l` cannot read (it takes the 4th whitespace column).
	spaced := genObject(t, dir, "vpcflowlogs", 150, 15, t0)
	spaced.key = "other/my flow logs/" + filepath.Base(spaced.key)
	corrupt := genObject(t, dir, "vpcflowlogs", 10, 16, t0)
	corrupt.body = append([]byte{0x1f, 0x8b, 0x08, 0x00}, []byte("this is not deflate data at all, just bytes")...)
	unknownKey := "AWSLogs/123456789012/notes/readme.txt"

	var want []expectedDoc
	for _, o := range append(slices.Clone(good), spaced) {
		want = append(want, normalizeExpected(t, bin, r.Bucket, o)...)
	}
	for _, o := range append(slices.Clone(good), spaced, corrupt) {
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Upload(ctx, r.Bucket, unknownKey, []byte("not a log\n")); err != nil {
		t.Fatal(err)
	}

	env := r.Env()
	args := []string{"backfill", "--bucket", r.Bucket, "--prefix", "AWSLogs/", "--log-dir", jdir, "--workers", "4"}
	sum, out, code := runToEnd(t, ctx, bin, "backfill-1", logDir, env, args...)
	defer func() {
		if t.Failed() {
			t.Logf("backfill output:\n%s", tail(out, 4000))
		}
	}()
	if code != 1 {
		t.Errorf("exit status %d, want 1 (the corrupt object failed)", code)
	}
	name := "backfill-" + r.Bucket + "-AWSLogs"
	if got := summaryInt(sum, "listed", "loaded", "failed", "skipped_unknown_log_type", "already_finished"); !slices.Equal(got, []int64{6, 4, 1, 1, 0}) {
		t.Errorf("listed, loaded, failed, unknown, already finished = %v, want [6 4 1 1 0]; summary %v", got, sum)
	}
	finish := readLog(t, filepath.Join(jdir, name+".finish.log"))
	var wantFinish []string
	for _, o := range good {
		wantFinish = append(wantFinish, "s3://"+r.Bucket+"/"+o.key)
	}
	if got := column(finish, 1); !sameSet(got, wantFinish) {
		t.Errorf("finish log objects = %q, want %q", got, wantFinish)
	}
	errs := readLog(t, filepath.Join(jdir, name+".error.log"))
	if len(errs) != 1 || errs[0][2] != "s3://"+r.Bucket+"/"+corrupt.key || !strings.Contains(errs[0][3], "corrupt") {
		t.Errorf("error log = %q, want the corrupt object", errs)
	}
	// The corrupt object is quarantined by the producer path, as it would be
	// from a notification.
	lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket, Prefix: aws.String("siemstream-deadletter/")})
	if err != nil || len(lst.Contents) != 1 {
		t.Errorf("producer dead letters: %v objects, err %v; want the corrupt object", len(lst.Contents), err)
	}

	// An `aws s3 ls --recursive` listing of other/ (keys with spaces).
	listFile := filepath.Join(dir, "other.txt")
	writeLSList(t, ctx, s, r.Bucket, "other/", listFile)
	sum2, out2, code := runToEnd(t, ctx, bin, "backfill-list", logDir, env,
		"backfill", "--bucket", r.Bucket, "--list", listFile, "--list-tz", "UTC", "--log-dir", jdir)
	if code != 0 || !slices.Equal(summaryInt(sum2, "loaded", "failed"), []int64{1, 0}) {
		t.Errorf("list run: exit %d, summary %v\n%s", code, sum2, tail(out2, 3000))
	}
	fin2 := readLog(t, filepath.Join(jdir, "other.txt.finish.log"))
	if len(fin2) != 1 || fin2[0][1] != "s3://"+r.Bucket+"/"+spaced.key || fin2[0][0] != "1" {
		t.Errorf("list finish log = %q", fin2)
	}
	if _, err := os.Stat(filepath.Join(jdir, "other.txt.error.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty error log not removed: %v", err)
	}

	// The documents reach OpenSearch through the stream and a consumer.
	startFor(t, bin, "consumer", logDir, append(env, "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200"))
	waitDocs(t, ctx, s, r.Bucket, int64(len(want)))
	compareDocs(t, ctx, s, r.Bucket, want)
	t.Logf("%d documents from %d objects searchable and equal to the dry run's", len(want), len(good)+1)

	// Same command again: everything loaded is skipped as finished; only the
	// failure is tried again (and fails again).
	sum3, _, code := runToEnd(t, ctx, bin, "backfill-2", logDir, env, args...)
	if code != 1 || !slices.Equal(summaryInt(sum3, "already_finished", "queued", "loaded", "failed"), []int64{4, 1, 0, 1}) {
		t.Errorf("rerun: exit %d, summary %v; want 4 already finished, only the corrupt one tried", code, sum3)
	}
	if n := len(readLog(t, filepath.Join(jdir, name+".finish.log"))); n != len(good) {
		t.Errorf("finish log has %d lines after the rerun, want %d", n, len(good))
	}
	if n, err := s.Count(ctx, "log-aws-*", BucketQuery(r.Bucket)); err != nil || n != int64(len(want)) {
		t.Errorf("after the rerun: %d docs (%v), want %d", n, err, len(want))
	}
}

// TestRedrive puts notifications straight into the DLQ (no producer runs)
// and drains it with `siemstream redrive`: the objects' documents reach
// OpenSearch and the DLQ ends empty. Then --to-queue moves a message back to
// the source queue unchanged.
func TestRedrive(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "rd", 2, 5*time.Minute)
	dir, logDir, jdir := t.TempDir(), t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	objs := []object{genObject(t, dir, "vpcflowlogs", 300, 21, t0), genObject(t, dir, "alb", 200, 22, t0)}
	var want []expectedDoc
	for _, o := range objs {
		want = append(want, normalizeExpected(t, bin, r.Bucket, o)...)
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	bodies := []string{
		s3EventBody(r.Bucket, objs[0].key, objs[1].key),
		`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"` + r.Bucket + `"}`,
	}
	for _, b := range bodies {
		sendMessage(t, ctx, s, r.DLQURL, b)
	}
	env := r.Env()
	sum, out, code := runToEnd(t, ctx, bin, "redrive", logDir, env, "redrive", "--queue", r.DLQURL, "--log-dir", jdir)
	if code != 0 || !slices.Equal(summaryInt(sum, "received", "deleted", "failed", "objects", "no_objects"), []int64{2, 2, 0, 2, 1}) {
		t.Errorf("redrive: exit %d, summary %v\n%s", code, sum, tail(out, 3000))
	}
	if d := queueDepth(t, ctx, s, r.DLQURL); !d.empty() {
		t.Errorf("DLQ not empty after the redrive: %s", d)
	}
	name := "redrive-" + r.Bucket + "-dlq"
	fin := readLog(t, filepath.Join(jdir, name+".finish.log"))
	if got := column(fin, 1); !sameSet(got, []string{"s3://" + r.Bucket + "/" + objs[0].key, "s3://" + r.Bucket + "/" + objs[1].key, "-"}) {
		t.Errorf("redrive finish log = %q", fin)
	}

	startFor(t, bin, "consumer", logDir, append(env, "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200"))
	waitDocs(t, ctx, s, r.Bucket, int64(len(want)))
	compareDocs(t, ctx, s, r.Bucket, want)

	// --to-queue: the message goes back to the source queue unchanged.
	marker := s3EventBody(r.Bucket, "AWSLogs/123456789012/moved/marker.txt")
	sendMessage(t, ctx, s, r.DLQURL, marker)
	// The marker is the DLQ's only message before the redrive runs, so a
	// second one found by the run comes from outside it (a duplicated send,
	// a message moved in by the source queue's redrive policy).
	if d := queueDepth(t, ctx, s, r.DLQURL); d != (depth{"1", "0", "0"}) {
		t.Errorf("DLQ before the move holds %s; want the marker only", d)
	}
	before := len(readLog(t, filepath.Join(jdir, name+".finish.log")))
	sum, out, code = runToEnd(t, ctx, bin, "redrive-move", logDir, env, "redrive", "--queue", r.DLQURL, "--to-queue", r.QueueURL, "--log-dir", jdir)
	if code != 0 || !slices.Equal(summaryInt(sum, "received", "moved", "failed"), []int64{1, 1, 0}) {
		// The finish log names each moved message (id, object): the marker
		// twice under one id is a double count, under two ids a duplicate
		// in the queue; another object is a message from elsewhere.
		t.Errorf("redrive --to-queue: exit %d, summary %v; moved (message id, object): %q\n%s",
			code, sum, readLog(t, filepath.Join(jdir, name+".finish.log"))[before:], tail(out, 3000))
	}
	if d := queueDepth(t, ctx, s, r.DLQURL); !d.empty() {
		t.Errorf("DLQ not empty after the move: %s", d)
	}
	found := false
	err := WaitFor(ctx, 30*time.Second, func() (bool, error) {
		o, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &r.QueueURL, MaxNumberOfMessages: 10, VisibilityTimeout: 1})
		if err != nil {
			return false, err
		}
		for _, m := range o.Messages {
			if aws.ToString(m.Body) == marker {
				found = true
			}
		}
		return found, nil
	})
	if err != nil {
		t.Errorf("moved message not in the source queue: %v", err)
	}
}

// TestBackfillResumeAfterSignal stops a backfill with SIGTERM part-way: it
// exits 130 after finishing the object in flight, and a second run loads
// exactly the objects the first did not finish.
func TestBackfillResumeAfterSignal(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "bfs", 1, 5*time.Minute)
	dir, logDir, jdir := t.TempDir(), t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	const objects = 40
	for i := range objects {
		o := genObject(t, dir, "vpcflowlogs", 5000, uint64(300+i), t0)
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"backfill", "--bucket", r.Bucket, "--prefix", "AWSLogs/", "--log-dir", jdir, "--workers", "1"}
	finish := filepath.Join(jdir, "backfill-"+r.Bucket+"-AWSLogs.finish.log")
	p, err := Start(bin, "backfill-1", logDir, r.Env(), args...)
	if err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		b, _ := os.ReadFile(finish)
		return strings.Count(string(b), "\n") >= 1, nil
	})
	if err != nil {
		p.Kill()
		t.Fatalf("no object finished: %v\n%s", err, tail(p.Output(), 3000))
	}
	sum, out, code := exitSummary(t, p, p.Stop(time.Minute))
	done := summaryInt(sum, "loaded")[0]
	if code != 130 || sum["interrupted"] != true || done < 1 || done >= objects {
		t.Fatalf("stopped run: exit %d, loaded %d of %d, summary %v\n%s", code, done, objects, sum, tail(out, 3000))
	}
	t.Logf("SIGTERM after %d of %d objects", done, objects)
	if n := int64(len(readLog(t, finish))); n != done {
		t.Errorf("finish log has %d lines, the run loaded %d", n, done)
	}
	sum, out, code = runToEnd(t, ctx, bin, "backfill-2", logDir, r.Env(), args...)
	if code != 0 || !slices.Equal(summaryInt(sum, "already_finished", "loaded", "failed"), []int64{done, objects - done, 0}) {
		t.Errorf("resumed run: exit %d, summary %v; want %d already finished and %d loaded\n%s", code, sum, done, objects-done, tail(out, 3000))
	}
	if got := column(readLog(t, finish), 1); len(got) != objects || !sameSet(got, uniq(got)) {
		t.Errorf("finish log after resume: %d lines (want %d, each object once)", len(got), objects)
	}
}

func uniq(a []string) []string {
	a = slices.Clone(a)
	slices.Sort(a)
	return slices.Compact(a)
}

// runToEnd runs a siemstream command to its exit and returns the fields of
// its final summary log line ("backfill finished" / "redrive finished"),
// its output and its exit status.
func runToEnd(t *testing.T, ctx context.Context, bin, name, logDir string, env []string, args ...string) (map[string]any, string, int) {
	t.Helper()
	p, err := Start(bin, name, logDir, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return exitSummary(t, p, p.Wait(ctx))
}

// exitSummary reads the summary line of a process that exited with err.
func exitSummary(t *testing.T, p *Proc, err error) (map[string]any, string, int) {
	t.Helper()
	name := p.Name
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		p.Kill()
		t.Fatalf("%s: %v\n%s", name, err, tail(p.Output(), 3000))
	}
	var sum map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && strings.HasSuffix(fmt.Sprint(m["message"]), " finished") {
			sum = m
		}
	}
	if sum == nil {
		t.Fatalf("%s: no summary line (exit %d)\n%s", name, code, tail(p.Output(), 3000))
	}
	return sum, p.Output(), code
}

func summaryInt(sum map[string]any, keys ...string) []int64 {
	out := make([]int64, len(keys))
	for i, k := range keys {
		if f, ok := sum[k].(float64); ok {
			out[i] = int64(f)
		}
	}
	return out
}

// readLog reads a tab-separated finish or error log.
func readLog(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		if i < len(r) {
			out = append(out, r[i])
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// writeLSList writes what `aws s3 ls s3://bucket/prefix --recursive` prints.
func writeLSList(t *testing.T, ctx context.Context, s *Stack, bucket, prefix, path string) {
	t.Helper()
	out, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, o := range out.Contents {
		fmt.Fprintf(&b, "%s %10d %s\n", aws.ToTime(o.LastModified).UTC().Format(time.DateTime), aws.ToInt64(o.Size), aws.ToString(o.Key))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// s3EventBody is an S3 event notification for keys (form-encoded, as S3
// sends them).
func s3EventBody(bucket string, keys ...string) string {
	var recs []map[string]any
	for _, k := range keys {
		recs = append(recs, map[string]any{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
			"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": urlEncodeKey(k)}}})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return string(b)
}

// depth is what SQS says a queue holds.
type depth struct{ visible, inFlight, delayed string }

func (d depth) empty() bool { return d == depth{"0", "0", "0"} }

func (d depth) String() string {
	return fmt.Sprintf("%s visible, %s in flight, %s delayed", d.visible, d.inFlight, d.delayed)
}

// queueDepth returns url's message counts. The delayed count matters: SQS
// (and moto) count a delayed message neither as visible nor as in flight.
func queueDepth(t *testing.T, ctx context.Context, s *Stack, url string) depth {
	t.Helper()
	qa, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	return depth{qa.Attributes["ApproximateNumberOfMessages"], qa.Attributes["ApproximateNumberOfMessagesNotVisible"], qa.Attributes["ApproximateNumberOfMessagesDelayed"]}
}

// sendMessage sends body to the queue url. SendMessage is not idempotent:
// an attempt that failed after SQS took the message and was retried by the
// SDK leaves it in the queue twice, under two ids; the test log says so.
func sendMessage(t *testing.T, ctx context.Context, s *Stack, url, body string) {
	t.Helper()
	var retried []error
	_, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body}, func(o *sqs.Options) {
		o.Retryer = retryNoter{Retryer: o.Retryer, noted: &retried}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(retried) > 0 {
		t.Logf("SendMessage to %s retried after %q: the queue may hold the message twice", url, retried)
	}
}

// retryNoter notes the errors its Retryer retries.
type retryNoter struct {
	aws.Retryer
	noted *[]error
}

func (r retryNoter) IsErrorRetryable(err error) bool {
	ok := r.Retryer.IsErrorRetryable(err)
	if ok {
		*r.noted = append(*r.noted, err)
	}
	return ok
}

// waitDocs waits until OpenSearch holds exactly want documents of bucket.
func waitDocs(t *testing.T, ctx context.Context, s *Stack, bucket string, want int64) {
	t.Helper()
	var got int64
	err := WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-aws-*", BucketQuery(bucket))
		if err != nil {
			return false, nil
		}
		got = n
		if n > want {
			return false, fmt.Errorf("%d documents, more than the %d expected", n, want)
		}
		return n == want, nil
	})
	if err != nil {
		t.Fatalf("documents of %s: %d of %d: %v", bucket, got, want, err)
	}
}

// TestBackfillThroughput measures a backfill of SIEM_BACKFILL_BENCH_OBJECTS
// (default 50) VPC flow log objects of SIEM_BACKFILL_BENCH_LINES (default
// 10000) lines each: objects/s and records/s of the backfill itself (S3 →
// Kinesis), then how long a consumer takes to make them searchable. Opt-in:
// SIEM_BACKFILL_BENCH=1.
func TestBackfillThroughput(t *testing.T) {
	if os.Getenv("SIEM_BACKFILL_BENCH") == "" {
		t.Skip("benchmark: set SIEM_BACKFILL_BENCH=1")
	}
	ctx, s, bin := startTest(t, 20*time.Minute)
	objects, lines := envInt("SIEM_BACKFILL_BENCH_OBJECTS", 50), envInt("SIEM_BACKFILL_BENCH_LINES", 10000)
	workers := envInt("SIEM_BACKFILL_BENCH_WORKERS", 8)
	r, err := s.CreateResources(ctx, NewName("bfb"), 4)
	if err != nil {
		t.Fatal(err)
	}
	dir, logDir, jdir := t.TempDir(), t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var size int64
	for i := range objects {
		o := genObject(t, dir, "vpcflowlogs", lines, uint64(1000+i), t0)
		size += int64(len(o.body))
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	sum, out, code := runToEnd(t, ctx, bin, "backfill", logDir, r.Env(),
		"backfill", "--bucket", r.Bucket, "--prefix", "AWSLogs/", "--log-dir", jdir, "--workers", fmt.Sprint(workers))
	wall := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(out, 3000))
	}
	got := summaryInt(sum, "loaded", "records")
	t.Logf("backfill: %d objects (%.1f MiB gzip), %d records, %d workers: %s wall (whole process), %vms in Run; %.1f objects/s, %.0f records/s",
		got[0], float64(size)/(1<<20), got[1], workers, wall.Round(time.Millisecond), sum["elapsed"],
		float64(got[0])/wall.Seconds(), float64(got[1])/wall.Seconds())

	if os.Getenv("SIEM_BACKFILL_BENCH_CONSUME") == "" {
		return
	}
	cstart := time.Now()
	cons, err := Start(bin, "consumer", logDir, append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200"), "consumer")
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop(60 * time.Second)
	var n int64
	err = WaitFor(ctx, 15*time.Minute, func() (bool, error) {
		n, _ = s.Count(ctx, "log-aws-*", BucketQuery(r.Bucket))
		return n >= got[1]-int64(objects), nil // es-loader parity may drop a CSV row per object
	})
	if err != nil {
		t.Fatalf("%d docs searchable: %v", n, err)
	}
	t.Logf("consumer: %d docs searchable %s after start (%.0f docs/s)", n, time.Since(cstart).Round(time.Millisecond), float64(n)/time.Since(cstart).Seconds())
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}
