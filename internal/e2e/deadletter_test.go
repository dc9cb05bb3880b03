package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/deadletter"
)

// listed is one line of `siemstream deadletters list`.
type listed struct {
	Store string `json:"store"`
	deadletter.Record
}

// listDeadLetters runs `siemstream deadletters list` and returns the dead
// letters of bucket (the dead-letter index is the test's own).
func listDeadLetters(t *testing.T, ctx context.Context, bin string, env []string, bucket string, args ...string) []listed {
	t.Helper()
	got, err := tryListDeadLetters(t, ctx, bin, env, bucket, args...)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func tryListDeadLetters(t *testing.T, ctx context.Context, bin string, env []string, bucket string, args ...string) ([]listed, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"deadletters", "list", "--dead-letter-bucket", bucket, "--log-format", "json"}, args...)...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("deadletters list: %v\n%s", err, tail(errb.String(), 3000))
	}
	if !strings.Contains(errb.String(), "deadletters list finished") {
		return nil, fmt.Errorf("deadletters list: no summary line\n%s", tail(errb.String(), 3000))
	}
	var got []listed
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l listed
		if err := json.Unmarshal(sc.Bytes(), &l.Record); err != nil {
			return nil, fmt.Errorf("list line is not a dead letter: %v: %.300s", err, sc.Bytes())
		}
		var st struct{ Store string }
		_ = json.Unmarshal(sc.Bytes(), &st)
		l.Store = st.Store
		if l.Bucket == bucket {
			got = append(got, l)
		}
	}
	return got, nil
}

// waitDeadLetters polls the list until cond holds for the dead letters of bucket.
func waitDeadLetters(t *testing.T, ctx context.Context, bin string, env []string, bucket string, what string, cond func([]listed) bool) []listed {
	t.Helper()
	var got []listed
	var lerr error
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		// A dead-letter index just created may answer 503 for a moment.
		got, lerr = tryListDeadLetters(t, ctx, bin, env, bucket)
		return lerr == nil && cond(got), nil
	})
	if lerr != nil {
		t.Log(lerr)
	}
	if err != nil {
		var b strings.Builder
		for _, l := range got {
			fmt.Fprintf(&b, "  %s %s #%d %q: %.80q\n", l.Store, l.Stage, l.Ordinal, l.Reason, l.Raw)
		}
		t.Fatalf("dead letters: %s: %v; have:\n%s", what, err, b.String())
	}
	return got
}

func byRaw(ls []listed, raw []byte) *listed {
	for i := range ls {
		if bytes.Equal(ls[i].Raw, raw) {
			return &ls[i]
		}
	}
	return nil
}

// TestDeadLettersExactAndRedrive: records refused by the producer (a 2 MiB
// record, over --max-record-bytes) and by the consumer (a non-UTF-8 line and
// a line the user.ini log_pattern does not match) come back from
// `deadletters list` byte for byte; after the user.ini is corrected,
// `deadletters redrive` sends them through the stream and the fixed record
// loads with the _id a normal load gives, while the one still bad is
// refused again and stays a dead letter.
func TestDeadLettersExactAndRedrive(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "dlredrive", 1, 6*time.Minute)
	t.Cleanup(func() { emptyBucket(context.Background(), s, r.Bucket) })
	dir := t.TempDir()
	v1 := filepath.Join(dir, "user-v1.ini")
	v2 := filepath.Join(dir, "user-v2.ini")
	ini := "[dltext]\ns3_key = dltest/text/\nfile_format = text\nlog_pattern = (?P<word>%s) (?P<num>\\d+)\nindex_name = log-dltest\n"
	os.WriteFile(v1, []byte(fmt.Sprintf(ini, "[a-z]+")), 0o644)
	os.WriteFile(v2, []byte(fmt.Sprintf(ini, "[A-Za-z]+")), 0o644)

	big := bytes.Repeat([]byte("abcdefgh"), 2<<20/8)
	big[1<<20] = 0x80                   // not UTF-8 either
	upper := []byte("XYZ 3")            // fails the v1 pattern only
	notUTF8 := []byte("\xff\xfe\x00 7") // fails both patterns
	body := bytes.Join([][]byte{[]byte("abc 1"), upper, big, notUTF8, []byte("def 2")}, []byte("\n"))
	key := "dltest/text/" + r.Bucket + ".log"
	file := filepath.Join(dir, "object.log")
	os.WriteFile(file, body, 0o644)

	dlIndex := "dl-" + r.Bucket
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200", "SIEM_DEAD_LETTER_INDEX="+dlIndex,
		"SIEM_DEAD_LETTER_BUCKET="+r.Bucket)
	logDir := t.TempDir()
	startFor(t, bin, "producer", logDir, append(env, "SIEM_USER_INI="+v1))
	c1, err := Start(bin, "consumer-v1", logDir, append(env, "SIEM_USER_INI="+v1), "consumer")
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Kill()
	if err := s.Upload(ctx, r.Bucket, key, body); err != nil {
		t.Fatal(err)
	}

	got := waitDeadLetters(t, ctx, bin, env, r.Bucket, "the 2 MiB, the non-UTF-8 and the unmatched record", func(ls []listed) bool { return len(ls) >= 3 })
	if len(got) != 3 {
		t.Fatalf("%d dead letters, want 3", len(got))
	}
	for _, w := range []struct {
		raw   []byte
		stage string
		ord   int64
	}{{big, "split", 3}, {upper, "decode", 2}, {notUTF8, "decode", 4}} {
		l := byRaw(got, w.raw)
		if l == nil {
			t.Fatalf("no dead letter holds the exact bytes of record %d (%d bytes)", w.ord, len(w.raw))
		}
		if l.Stage != w.stage || l.Ordinal != w.ord || l.Key != key || l.LogType != "dltext" || l.Reason == "" || l.RawSize != int64(len(w.raw)) {
			t.Errorf("record %d: dead letter %s stage %s ordinal %d key %s type %s size %d reason %q", w.ord, l.Store, l.Stage, l.Ordinal, l.Key, l.LogType, l.RawSize, l.Reason)
		}
		if w.stage == "decode" && (l.Shard == "" || l.Sequence == "") {
			t.Errorf("record %d: consumer dead letter without its shard/sequence: %+v", w.ord, l.Store)
		}
	}
	t.Logf("listed byte for byte: %d-byte record (producer, S3), %q and %q (consumer, index)", len(big), upper, notUTF8)

	// The fix: a corrected user.ini for the consumers, then a redrive of
	// what decode refused.
	if err := c1.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	c2, err := Start(bin, "consumer-v2", logDir, append(env, "SIEM_USER_INI="+v2), "consumer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c2.Stop(time.Minute); err != nil {
			t.Errorf("consumer-v2: %v", err)
		}
		if t.Failed() {
			t.Logf("consumer-v2 log:\n%s", tail(c2.Output(), 4000))
		}
	})
	sum, out, code := runToEnd(t, ctx, bin, "redrive", logDir, env, "deadletters", "redrive", "--stage", "decode", "--since", "1h")
	if code != 0 || summaryInt(sum, "matched")[0] != 2 || summaryInt(sum, "sent")[0] != 2 {
		t.Fatalf("redrive exit %d, summary %v\n%s", code, sum, tail(out, 3000))
	}
	t.Logf("redrive summary: %v", sum)

	// Exactly the documents the corrected configuration gives, same _ids.
	want := map[string]bool{}
	cmd := exec.Command(bin, "normalize", "--user-ini", v2, "--bucket", r.Bucket, "--key", key, "--log-format", "json", file)
	var nout bytes.Buffer
	cmd.Stdout = &nout
	_ = cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(nout.String()), "\n") {
		var d expectedDoc
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("normalize: %v", err)
		}
		want[d.ID] = true
	}
	if len(want) != 3 { // abc, XYZ, def; the 2 MiB line is too long, the other fails
		t.Fatalf("normalize with the fix gives %d documents, want 3", len(want))
	}
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-dltest-*", BucketQuery(r.Bucket))
		return err == nil && n == int64(len(want)), nil
	})
	if err != nil {
		t.Fatalf("documents after the redrive: %v", err)
	}
	ids := searchIDs(t, ctx, s, "log-dltest-*", r.Bucket)
	for _, id := range ids {
		if !want[id] {
			t.Errorf("document %s is not one the dry run gives", id)
		}
	}
	// The fixed record left the dead letters; the still-bad one is back
	// (refused again), the 2 MiB one untouched.
	waitDeadLetters(t, ctx, bin, env, r.Bucket, "only the still-bad and the 2 MiB records", func(ls []listed) bool {
		return len(ls) == 2 && byRaw(ls, notUTF8) != nil && byRaw(ls, big) != nil
	})
}

// searchIDs returns the _ids of bucket's documents in index.
func searchIDs(t *testing.T, ctx context.Context, s *Stack, index, bucket string) []string {
	t.Helper()
	b, err := s.Do(ctx, "POST", "/"+index+"/_search", map[string]any{"size": 1000, "_source": false, "query": BucketQuery(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range res.Hits.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestPoisonPill: an object whose records make the consumer fail (a record
// normalize refuses, one OpenSearch rejects: an _id over 512 bytes) does
// not stop its shard: the bad records reach the dead letters with their
// reason and exact bytes, every good record loads, and an object sent after
// it on the same (only) shard loads too.
func TestPoisonPill(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "poison", 1, 5*time.Minute)
	t.Cleanup(func() { emptyBucket(context.Background(), s, r.Bucket) })
	rec := func(id, at string) []byte {
		b, _ := json.Marshal(map[string]any{"eventVersion": "1.08", "eventTime": at, "eventID": id, "eventName": "GetObject",
			"eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "123456789012",
			"sourceIPAddress": "192.0.2.1"})
		return b
	}
	var good [][]byte
	object := func(recs ...[]byte) []byte {
		return append(append([]byte(`{"Records":[`), bytes.Join(recs, []byte(","))...), "]}"...)
	}
	var first [][]byte
	for i := range 10 {
		g := rec(fmt.Sprintf("%s-a%d", r.Bucket, i), "2025-03-14T12:00:00Z")
		good = append(good, g)
		first = append(first, g)
		if i == 4 {
			first = append(first, rec(r.Bucket+"-badtime", "not a time"), rec(strings.Repeat("L", 600), "2025-03-14T12:00:00Z"))
		}
	}
	badTime, longID := first[5], first[6]
	var second [][]byte
	for i := range 5 {
		g := rec(fmt.Sprintf("%s-b%d", r.Bucket, i), "2025-03-14T12:00:00Z")
		good = append(good, g)
		second = append(second, g)
	}
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200", "SIEM_DEAD_LETTER_INDEX=dl-"+r.Bucket)
	logDir := t.TempDir()
	consumer := startFor(t, bin, "consumer", logDir, env)
	startFor(t, bin, "producer", logDir, env)
	base := "AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/" + r.Bucket
	if err := s.Upload(ctx, r.Bucket, base+"-poison.json", object(first...)); err != nil {
		t.Fatal(err)
	}
	dls := waitDeadLetters(t, ctx, bin, env, r.Bucket, "the two bad records", func(ls []listed) bool { return len(ls) >= 2 })
	for _, w := range []struct {
		raw    []byte
		stage  string
		reason string
	}{{badTime, "normalize", "timestamp"}, {longID, "opensearch", "too long"}} {
		l := byRaw(dls, w.raw)
		if l == nil {
			t.Fatalf("no dead letter with the exact bytes of the %s record", w.stage)
		}
		if l.Stage != w.stage || !strings.Contains(l.Reason, w.reason) || l.Shard == "" {
			t.Errorf("%s record: stage %s reason %q shard %q", w.stage, l.Stage, l.Reason, l.Shard)
		}
	}
	// Records after the poison on the same shard load.
	if err := s.Upload(ctx, r.Bucket, base+"-after.json", object(second...)); err != nil {
		t.Fatal(err)
	}
	var n int64
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		var err error
		n, err = s.Count(ctx, "log-aws-cloudtrail-*", BucketQuery(r.Bucket))
		return err == nil && n == int64(len(good)), nil
	})
	if err != nil {
		t.Fatalf("documents: %d, want %d: %v", n, len(good), err)
	}
	select {
	case <-consumer.Done():
		t.Fatal("the consumer exited")
	default:
	}
	if got := listDeadLetters(t, ctx, bin, env, r.Bucket); len(got) != 2 {
		t.Errorf("%d dead letters, want 2", len(got))
	}
	t.Logf("%d good records loaded, 2 dead letters (normalize, opensearch), the shard went on", len(good))
}
