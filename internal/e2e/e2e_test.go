package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/siemstream/siemstream/bench/gen"
)

// stackOrSkip connects to the local stack started by `go tool task up`.
func stackOrSkip(t *testing.T) (string, *Stack) {
	t.Helper()
	root := envOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(ctx, "GET", "/_cluster/health", nil); err != nil {
		if os.Getenv(RequireTargetEnv) != "" {
			t.Fatalf("OpenSearch %s not reachable (%v) and %s is set", s.OpenSearch, err, RequireTargetEnv)
		}
		t.Skipf("OpenSearch not reachable (%v): run `go tool task up`", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.DeleteCreated(ctx)
	})
	return root, s
}

// startTest starts a test on the local stack (or skips it, see
// stackOrSkip): the clients, the built binary and a context that ends
// after timeout, or after the test's cleanups.
func startTest(t *testing.T, timeout time.Duration) (context.Context, *Stack, string) {
	t.Helper()
	root, s := stackOrSkip(t)
	bin := binary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx, s, bin
}

// pipelineFor starts a test of the whole pipeline: the local stack (or
// a skip), the built binary, a fresh isolated pipeline named after prefix
// with that many shards (its stream deleted when the test ends, see
// stackOrSkip) and a context that ends after timeout, or after the test's
// cleanups.
func pipelineFor(t *testing.T, prefix string, shards int, timeout time.Duration) (context.Context, *Stack, string, Resources) {
	t.Helper()
	ctx, s, bin := startTest(t, timeout)
	r, err := s.CreateResources(ctx, NewName(prefix), shards)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, s, bin, r
}

// dropResources deletes r's stream and lease tables (the live one and a
// replay's) when the test ends: the shared stack's account has a shard
// limit.
func dropResources(t *testing.T, s *Stack, r Resources) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &r.Stream, EnforceConsumerDeletion: aws.Bool(true)})
		for _, tb := range []string{r.App, r.App + "-replay"} {
			_, _ = s.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb)})
		}
	})
}

// testFleet makes fresh isolated resources (dropped when the test ends)
// and a fleet on them whose processes run with env; when the test ends its
// processes are stopped (a failed stop reported through stopErr, t.Errorf
// or t.Logf) and, if the test failed, the tails of their logs printed.
func testFleet(t *testing.T, ctx context.Context, s *Stack, bin, name string, shards int, env []string, stopErr func(string, ...any)) *Fleet {
	t.Helper()
	r, err := s.CreateResources(ctx, NewName(name), shards)
	if err != nil {
		t.Fatal(err)
	}
	dropResources(t, s, r)
	coord, err := ChooseCoordinator(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Bin: bin, LogDir: t.TempDir(), Res: r, Coordinator: coord, CoordinatorFlag: HasCoordinatorFlag(ctx, bin), Env: env}
	t.Cleanup(func() {
		for _, err := range f.StopAll(30 * time.Second) {
			stopErr("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("process logs (tails):\n%s", f.Logs(6000))
		}
	})
	return f
}

// startFor starts the binary as role ("producer", "consumer") for the
// test. When the test ends it is stopped (SIGTERM), and a failed stop or a
// failed test prints the tail of its log.
func startFor(t *testing.T, bin, role, logDir string, env []string) *Proc {
	t.Helper()
	p, err := Start(bin, role, logDir, env, role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(60 * time.Second); err != nil {
			t.Errorf("%s stop: %v", role, err)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", role, tail(p.Output(), 6000))
		}
	})
	return p
}

var binPath string

// binary builds siemstream once per test binary run.
func binary(t *testing.T, root string) string {
	t.Helper()
	if binPath != "" {
		return binPath
	}
	if p := os.Getenv("SIEM_E2E_BIN"); p != "" {
		binPath = p // a prebuilt binary (e.g. for bisecting)
		return p
	}
	dir, err := os.MkdirTemp("", "siemstream-e2e-bin")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	binPath = p
	return p
}

type object struct {
	key  string
	body []byte
	file string // local copy, for `siemstream normalize`
}

func genObject(t *testing.T, dir, logType string, n int, seed uint64, t0 time.Time) object {
	t.Helper()
	g, err := gen.New(logType, seed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := g.Write(zw, n, t0); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	o := object{key: g.Key(t0, int(seed)), body: buf.Bytes(), file: filepath.Join(dir, fmt.Sprintf("%s-%d.gz", logType, seed))}
	if err := os.WriteFile(o.file, o.body, 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

type expectedDoc struct {
	Index  string         `json:"_index"`
	ID     string         `json:"_id"`
	Source map[string]any `json:"_source"`
}

// normalizeExpected runs the dry run on a file: the documents the pipeline
// must produce for it.
func normalizeExpected(t *testing.T, bin, bucket string, o object) []expectedDoc {
	t.Helper()
	cmd := exec.Command(bin, "normalize", "--bucket", bucket, "--key", o.key, "--log-format", "json", o.file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run() // exit 1 when a record failed; the failures are expected where planted
	var docs []expectedDoc
	dec := json.NewDecoder(&out)
	for dec.More() {
		var d expectedDoc
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("normalize output: %v\n%s", err, errb.String())
		}
		docs = append(docs, d)
	}
	return docs
}

// TestEndToEnd drops objects into S3 and expects exactly the documents the
// dry run predicts in OpenSearch, through the real producer, Kinesis,
// consumer (with its lease table) and OpenSearch.
func TestEndToEnd(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "e2e", 4, 4*time.Minute)
	dir := t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	objs := []object{
		genObject(t, dir, "vpcflowlogs", 3000, 1, t0),
		genObject(t, dir, "vpcflowlogs", 500, 2, t0.Add(time.Hour)),
		genObject(t, dir, "alb", 2000, 3, t0),
		genObject(t, dir, "cloudtrail", 1500, 4, t0),
	}
	// A VPC object with one broken line: it is quarantined, the rest loads.
	bad := genObject(t, dir, "vpcflowlogs", 50, 5, t0)
	zr, _ := gzip.NewReader(bytes.NewReader(bad.body))
	var plain bytes.Buffer
	plain.ReadFrom(zr)
	lines := strings.SplitAfter(plain.String(), "\n")
	lines[10] = "2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1741953600 notanumber ACCEPT OK\n"
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(strings.Join(lines, "")))
	zw.Close()
	bad.body = zb.Bytes()
	os.WriteFile(bad.file, bad.body, 0o644)
	objs = append(objs, bad)

	var want []expectedDoc
	for _, o := range objs {
		want = append(want, normalizeExpected(t, bin, r.Bucket, o)...)
	}
	wantFailed := 1

	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200")
	cons, err := Start(bin, "consumer", logDir, env, "consumer")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Start(bin, "producer", logDir, env, "producer")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("producer log:\n%s", tail(prod.Output(), 4000))
			t.Logf("consumer log:\n%s", tail(cons.Output(), 6000))
		}
	}()
	start := time.Now()
	for _, o := range objs[:3] {
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	// Other notification shapes for objects the bucket notification also
	// announces: SNS-wrapped and EventBridge. Re-loads are idempotent.
	if err := s.Upload(ctx, r.Bucket, objs[3].key, objs[3].body); err != nil {
		t.Fatal(err)
	}
	s3evt := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`, r.Bucket, urlEncodeKey(objs[3].key))
	snsBody, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": s3evt})
	ebBody := fmt.Sprintf(`{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":%q},"object":{"key":%q},"reason":"PutObject"}}`, r.Bucket, objs[3].key)
	for _, body := range []string{string(snsBody), ebBody, `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"x"}`} {
		if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &r.QueueURL, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Upload(ctx, r.Bucket, bad.key, bad.body); err != nil {
		t.Fatal(err)
	}
	// An object no log type claims: skipped and counted, nothing indexed.
	if err := s.Upload(ctx, r.Bucket, "misc/notes/readme.txt", []byte("hello, this is not a log\n")); err != nil {
		t.Fatal(err)
	}

	var got int64
	err = WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		if err := exited(cons); err != nil {
			return false, err
		}
		n, err := s.Count(ctx, "log-*", BucketQuery(r.Bucket))
		got = n
		return err == nil && n >= int64(len(want)), nil
	})
	if err != nil {
		t.Fatalf("searchable docs %d, want %d: %v", got, len(want), err)
	}
	elapsed := time.Since(start)
	t.Logf("E2E: %d events searchable %s after the first upload (%.0f events/s end to end)", len(want), elapsed.Round(time.Millisecond), float64(len(want))/elapsed.Seconds())

	// Exactly the predicted documents: same _index, _id and _source.
	compareDocs(t, ctx, s, r.Bucket, want)

	// The bad line is in the dead-letter index with its reason and origin.
	err = WaitFor(ctx, 30*time.Second, func() (bool, error) {
		n, err := s.Count(ctx, "siemstream-deadletter-*", map[string]any{"match_phrase": map[string]any{"s3.bucket": r.Bucket}})
		return err == nil && n == int64(wantFailed), nil
	})
	if err != nil {
		b, _ := s.Search(ctx, "siemstream-deadletter-*", map[string]any{"query": map[string]any{"match_phrase": map[string]any{"s3.bucket": r.Bucket}}})
		t.Fatalf("dead letters: %v\n%s", err, b)
	}

	// Graceful stop: both exit 0; every shard has a checkpoint.
	if err := prod.Stop(30 * time.Second); err != nil {
		t.Errorf("producer stop: %v", err)
	}
	if err := cons.Stop(60 * time.Second); err != nil {
		t.Errorf("consumer stop: %v", err)
	}
	out, err := s.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: &r.App})
	if err != nil {
		t.Fatalf("lease table: %v", err)
	}
	if len(out.Items) != 4 {
		t.Errorf("lease table has %d rows, want 4 (one per shard)", len(out.Items))
	}
	// The queue is drained: every message was deleted after its records were accepted.
	qa, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &r.QueueURL, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err == nil && (qa.Attributes["ApproximateNumberOfMessages"] != "0" || qa.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0") {
		t.Errorf("queue not drained: %v", qa.Attributes)
	}
	// The unknown object was not loaded, and the broken line quarantined by the
	// consumer; the producer itself quarantined nothing.
	lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket, Prefix: aws.String("siemstream-deadletter/")})
	if err == nil && len(lst.Contents) != 0 {
		t.Errorf("unexpected producer dead letters: %d objects", len(lst.Contents))
	}
}

func urlEncodeKey(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "/", "%2F"), " ", "+")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// compareDocs fetches every document of bucket and compares each with
// want by _index/_id and _source, leaving out event (its ingestion times)
// and the fields in ignore.
func compareDocs(t *testing.T, ctx context.Context, s *Stack, bucket string, want []expectedDoc, ignore ...string) {
	t.Helper()
	ignore = append(ignore, "event")
	got := map[string]expectedDoc{}
	err := s.ScanDocs(ctx, "log-*", BucketQuery(bucket), func(h Hit) {
		for _, f := range ignore {
			delete(h.Source, f)
		}
		got[h.Index+"/"+h.ID] = expectedDoc{Index: h.Index, ID: h.ID, Source: h.Source}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("OpenSearch has %d documents for the bucket, want %d", len(got), len(want))
	}
	var diffs []string
	for _, w := range want {
		g, ok := got[w.Index+"/"+w.ID]
		if !ok {
			diffs = append(diffs, "missing "+w.Index+"/"+w.ID)
			continue
		}
		for _, f := range ignore {
			delete(w.Source, f)
		}
		if !jsonEqual(w.Source, g.Source) {
			a, _ := json.Marshal(w.Source)
			b, _ := json.Marshal(g.Source)
			diffs = append(diffs, fmt.Sprintf("different _source for %s:\n want %s\n  got %s", w.ID, a, b))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%d differences, first: %v", len(diffs), diffs[:min(3, len(diffs))])
	}
}

func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}
