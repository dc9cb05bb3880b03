package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/siemstream/siemstream/internal/testobj"
)

// fmtObject is one test object: its key, body, and how many documents it
// must give.
type fmtObject struct {
	name string
	key  string
	body []byte
	want int
}

// bzip2Of uses the bzip2 tool (Go has no bzip2 writer); nil if absent.
func bzip2Of(t *testing.T, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		return nil
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type fmtRow struct {
	Time   time.Time `parquet:"time,timestamp(millisecond)"`
	Src    string    `parquet:"src_ip"`
	Action string    `parquet:"action"`
	Bytes  int64     `parquet:"bytes"`
}

func parquetObject(t *testing.T, n, offset int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[fmtRow](&b, parquet.MaxRowsPerRowGroup(int64(n/3+1)))
	rows := make([]fmtRow, n)
	for i := range rows {
		rows[i] = fmtRow{Time: time.Date(2025, 3, 14, 10, 0, i%60, 0, time.UTC), Src: fmt.Sprintf("10.0.0.%d", i%250), Action: "ACCEPT", Bytes: int64(offset + i)}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func cwlObject(t *testing.T, payloads, events int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1741946400000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`)
	for p := 0; p < payloads; p++ {
		var evs []map[string]any
		for e := 0; e < events; e++ {
			msg, _ := json.Marshal(map[string]any{"level": "INFO", "n": p*events + e, "path": "/api"})
			evs = append(evs, map[string]any{"id": fmt.Sprintf("3612%08d%08d", p, e), "timestamp": 1741946400000 + int64(e), "message": string(msg)})
		}
		pl, _ := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/fmt/test", "logStream": fmt.Sprintf("stream-%d", p), "subscriptionFilters": []string{"f"}, "logEvents": evs})
		b.Write(pl)
	}
	return b.Bytes()
}

func readFormatFile(t *testing.T, root, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "testdata", "formats", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dryRun runs `siemstream normalize` with the test user.ini on a body: the
// documents the pipeline must index for it.
func dryRun(t *testing.T, bin, userINI, bucket, dir string, o fmtObject) []expectedDoc {
	t.Helper()
	file := filepath.Join(dir, strings.ReplaceAll(o.key, "/", "_"))
	if err := os.WriteFile(file, o.body, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "normalize", "--user-ini", userINI, "--bucket", bucket, "--key", o.key, "--log-format", "json", file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	var docs []expectedDoc
	dec := json.NewDecoder(&out)
	for dec.More() {
		var d expectedDoc
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("normalize %s: %v\n%s", o.name, err, tail(errb.String(), 2000))
		}
		docs = append(docs, d)
	}
	if len(docs) != o.want {
		t.Errorf("dry run of %s (%s): %d documents, want %d\n%s", o.name, o.key, len(docs), o.want, tail(errb.String(), 2000))
	}
	return docs
}

// TestFormats loads one object of every supported format and compression
// (test log types from testdata/formats/user.ini) through the real
// producer, Kinesis, consumer and OpenSearch, and expects exactly the
// documents the dry run predicts (the dry run itself is checked against
// hand-counted numbers).
func TestFormats(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "fmt", 2, 5*time.Minute)
	root, _ := RepoRoot() // pipelineFor found it
	userINI := filepath.Join(root, "testdata", "formats", "user.ini")

	// _id is md5(@message) for these types (es-loader): objects must not
	// share records, or documents overwrite each other.
	ndjson := func(tag string) []byte {
		return []byte(strings.ReplaceAll("{\"id\":\"T1\",\"m\":\"a\"}\n{\"id\":\"T2\",\"m\":\"b\"}\n{\n  \"id\": \"T3\",\n  \"m\": \"pretty\\nprinted\"\n}\n{\"id\":\"T4\"}{\"id\":\"T5\"}[{\"id\":\"T6\"},{\"id\":\"T7\"}]\n", "T", tag))
	}
	records := []byte(`{"detail":{"items":[{"id":"r1"},{"id":"r2"},{"id":"r3"}]}}` + "\n" + `{"detail":{"items":[{"id":"r4"}]}}`)
	csv := []byte("id,name,note\n1,alice,\"hello, world\"\n2,bob,\"say \"\"hi\"\"\"\n3,carol,plain\n")
	text := []byte("#Version: 1.0\n#Fields: date time c-ip\n2025-03-14\t10:00:00\t10.0.0.1\n2025-03-14\t10:00:01\t10.0.0.2\n")
	firelens := []byte(`{"log":"INFO started","container_id":"c1","container_name":"/app","source":"stdout","ecs_cluster":"cl","ecs_task_arn":"arn:aws:ecs:us-east-1:123456789012:task/cl/abc","ecs_task_definition":"app:1"}` + "\n" +
		`{"log":"boom on stderr","container_id":"c1","container_name":"/app","source":"stderr","ecs_cluster":"cl","ecs_task_arn":"arn:aws:ecs:us-east-1:123456789012:task/cl/abc","ecs_task_definition":"app:1"}` + "\n" +
		`{"log":"WARN slow","container_id":"c1","container_name":"/app","source":"stdout","ecs_cluster":"cl","ecs_task_arn":"arn:aws:ecs:us-east-1:123456789012:task/cl/abc","ecs_task_definition":"app:1"}` + "\n")

	// The third event of winevt.xml has a list mixing an object and a
	// string (<Foo a='1'>x</Foo><Foo>z</Foo>), which OpenSearch cannot map
	// (es-loader's documents are rejected the same way): it goes in an
	// object of its own, whose document must land in the dead-letter index
	// with OpenSearch's reason while everything else loads.
	winevt := readFormatFile(t, root, "winevt.xml")
	cut := bytes.LastIndex(winevt, []byte("<Event xmlns="))
	unmappable := append([]byte(nil), winevt[cut:]...)
	winevt = winevt[:cut]

	objs := []fmtObject{
		{"json ndjson/pretty/concatenated, gzip", "fmt-test/json/a.json.gz", testobj.Gzip(ndjson("gz")), 7},
		{"json dotted json_delimiter, zstd", "fmt-test/jsonrecords/b.json.zst", testobj.Zstd(records), 4},
		{"json, zip with two members", "fmt-test/json/c.zip", testobj.Zip("one.json", `{"id":"z1"}`, "dir/", "", "two.json", "{\"id\":\"z2\"}\n{\"id\":\"z3\"}\n"), 3},
		{"csv quoted, plain", "fmt-test/csv/d.csv", csv, 3},
		{"text with #Fields header, gzip", "fmt-test/text/e.log.gz", testobj.Gzip(text), 2},
		{"multiline, gzip", "fmt-test/multiline/f.log.gz", testobj.Gzip(readFormatFile(t, root, "app-multiline.log")), 3},
		{"cef, plain", "fmt-test/cef/g.log", readFormatFile(t, root, "cef.log"), 4},
		{"winevtxml, gzip", "fmt-test/winevt/h.xml.gz", testobj.Gzip(winevt), 2},
		{"xml, plain", "fmt-test/xml/i.xml", readFormatFile(t, root, "generic.xml"), 2},
		{"parquet, plain", "fmt-test/parquet/j.parquet", parquetObject(t, 40, 0), 40},
		{"parquet in gzip", "fmt-test/parquet/k.parquet.gz", testobj.Gzip(parquetObject(t, 7, 1000)), 7},
		{"cwl via Firehose, gzip", "fmt-test/cwl/l.gz", testobj.Gzip(cwlObject(t, 3, 5)), 15},
		{"firelens, stderr ignored", "fmt-test/firelens/m.log", firelens, 2},
	}
	if bz := bzip2Of(t, ndjson("bz")); bz != nil {
		objs = append(objs, fmtObject{"json, bzip2", "fmt-test/json/n.json.bz2", bz, 7})
	}

	dir := t.TempDir()
	var want []expectedDoc
	for _, o := range objs {
		want = append(want, dryRun(t, bin, userINI, r.Bucket, dir, o)...)
	}
	if t.Failed() {
		t.FailNow()
	}

	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_USER_INI="+userINI, "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200")
	startFor(t, bin, "consumer", logDir, env)
	startFor(t, bin, "producer", logDir, env)
	for _, o := range objs {
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	const rejectedKey = "fmt-test/winevt/o.xml"
	if err := s.Upload(ctx, r.Bucket, rejectedKey, unmappable); err != nil {
		t.Fatal(err)
	}
	var got int64
	err := WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-*", BucketQuery(r.Bucket))
		if err != nil {
			return false, nil
		}
		got = n
		if n > int64(len(want)) {
			return false, fmt.Errorf("%d documents, more than the %d expected", n, len(want))
		}
		return n == int64(len(want)), nil
	})
	if err != nil {
		t.Fatalf("documents of %s: %d of %d: %v", r.Bucket, got, len(want), err)
	}
	// These test types have no timestamp key: @timestamp is the
	// ingestion time, different in the dry run; everything else must match.
	compareDocs(t, ctx, s, r.Bucket, want, "@timestamp")

	// The unmappable document: refused by OpenSearch, dead-lettered with the
	// reason, the target and the rejected document; the rest was loaded.
	dlq := map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"match_phrase": map[string]any{"s3.bucket": r.Bucket}},
		map[string]any{"match_phrase": map[string]any{"s3.key": rejectedKey}},
	}}}
	var dls []Hit
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		dls = dls[:0]
		err := s.ScanDocs(ctx, "siemstream-deadletter-*", dlq, func(h Hit) { dls = append(dls, h) })
		return err == nil && len(dls) > 0, nil
	})
	if err != nil {
		t.Fatalf("no dead letter for %s: %v", rejectedKey, err)
	}
	if len(dls) != 1 {
		t.Fatalf("%d dead letters for %s, want 1", len(dls), rejectedKey)
	}
	dl := dls[0].Source
	reason, _ := dl["reason"].(string)
	target, _ := dl["target"].(map[string]any)
	raw, _ := dl["raw"].(string)
	if dl["stage"] != "opensearch" || !strings.Contains(reason, "exception") || target["index"] == nil || !strings.Contains(raw, "Foo") {
		t.Errorf("dead letter: stage %v, reason %q, target %v, raw %.200q", dl["stage"], reason, target, raw)
	}
	t.Logf("rejected by OpenSearch and dead-lettered: %s", reason)
}
