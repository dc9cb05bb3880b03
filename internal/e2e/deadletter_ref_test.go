package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/deadletter"
)

// TestDeadLetterRawRef: a consumer dead letter whose raw bytes are longer
// than a document may hold goes to S3, the document points to it, and
// `deadletters list` returns the bytes exactly; storing it again (a re-read)
// overwrites the same document and object.
func TestDeadLetterRawRef(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "dlref", 1, 3*time.Minute)
	t.Cleanup(func() { emptyBucket(context.Background(), s, r.Bucket) })
	sc := sink.DefaultOpenSearchConfig()
	sc.URLs = []string{s.OpenSearch}
	os, err := sink.NewOpenSearch(sc)
	if err != nil {
		t.Fatal(err)
	}
	dlIndex := "dl-" + r.Bucket
	store := &sink.IndexDeadLetters{Sink: os, Prefix: dlIndex, RawS3: s.S3, RawBucket: r.Bucket, RawPrefix: "siemstream-deadletter/", MaxInlineRaw: 1 << 10,
		Policy: sink.RetryPolicy{Initial: 10 * time.Millisecond, Max: time.Second}}
	raw := bytes.Repeat([]byte{0xff, 'a', 0x00, '\n'}, 300<<10) // 1.2 MiB, not UTF-8
	small := []byte("short \xc3\x28 record")
	dls := []sink.DeadLetter{
		{Time: time.Now().UTC(), Stage: "decode", Reason: "test", LogType: "cloudtrail", Bucket: r.Bucket, Key: "k1", Ordinal: 3, Shard: "shardId-0", Sequence: "9", Raw: raw},
		{Time: time.Now().UTC(), Stage: "decode", Reason: "test", LogType: "cloudtrail", Bucket: r.Bucket, Key: "k1", Ordinal: 4, Shard: "shardId-0", Sequence: "9", Raw: small},
	}
	for range 2 { // the second time is a re-read: same ids, nothing added
		if err := store.Put(ctx, dls); err != nil {
			t.Fatal(err)
		}
	}
	env := append(r.Env(), "SIEM_DEAD_LETTER_INDEX="+dlIndex)
	got := waitDeadLetters(t, ctx, bin, env, r.Bucket, "both records", func(ls []listed) bool { return len(ls) >= 2 })
	if len(got) != 2 {
		t.Fatalf("%d dead letters, want 2", len(got))
	}
	big := byRaw(got, raw)
	if big == nil || byRaw(got, small) == nil {
		for _, l := range got {
			t.Logf("%s ref %q size %d got %d bytes: %.40q", l.Store, l.RawRef, l.RawSize, len(l.Raw), l.Raw)
		}
		t.Fatal("the listed bytes differ from the stored ones")
	}
	if !strings.HasPrefix(big.RawRef, "s3://"+r.Bucket+"/siemstream-deadletter/"+deadletter.ConsumerPrefix) || big.RawSize != int64(len(raw)) {
		t.Errorf("large record: raw_ref %q size %d", big.RawRef, big.RawSize)
	}
	// The document itself holds no copy of the bytes.
	n, err := s.Count(ctx, dlIndex+"-*", map[string]any{"exists": map[string]any{"field": "raw_ref"}})
	if err != nil || n != 1 {
		t.Errorf("documents with raw_ref: %d, %v", n, err)
	}
}

// TestDeadLetterLegacyFile: a quarantine file of the earlier one-file
// layout (header line, raw as a possibly altered JSON string) is listed,
// marked, and never re-driven nor rewritten.
func TestDeadLetterLegacyFile(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "dlold", 1, 2*time.Minute)
	t.Cleanup(func() { emptyBucket(context.Background(), s, r.Bucket) })
	key := "siemstream-deadletter/producer/" + r.Bucket + "/AWSLogs/x/CloudTrail/part-1.json.gz.jsonl"
	body := `{"bucket":"` + r.Bucket + `","key":"AWSLogs/x/CloudTrail/part-1.json.gz","log_type":"cloudtrail","time":"2025-03-14T12:00:00Z"}
{"ordinal":3,"reason":"invalid JSON","raw":"{\"a\":\ufffd","raw_truncated":false}
`
	if err := s.Upload(ctx, r.Bucket, key, []byte(body)); err != nil {
		t.Fatal(err)
	}
	env := append(r.Env(), "SIEM_DEAD_LETTER_INDEX=dl-"+r.Bucket)
	got := listDeadLetters(t, ctx, bin, env, r.Bucket, "--store", "s3")
	if len(got) != 1 || got[0].Ordinal != 3 || got[0].LogType != "cloudtrail" || got[0].Key != "AWSLogs/x/CloudTrail/part-1.json.gz" ||
		!got[0].Time.Equal(time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("legacy file listed as %+v", got)
	}
	sum, out, code := runToEnd(t, ctx, bin, "redrive-legacy", t.TempDir(), env, "deadletters", "redrive", "--store", "s3", "--dead-letter-bucket", r.Bucket)
	if code != 0 || summaryInt(sum, "skipped")[0] != 1 || summaryInt(sum, "sent")[0] != 0 {
		t.Fatalf("redrive of a legacy file: exit %d, %v\n%s", code, sum, tail(out, 2000))
	}
	if listed := listDeadLetters(t, ctx, bin, env, r.Bucket, "--store", "s3"); len(listed) != 1 {
		t.Errorf("legacy record removed")
	}
}
