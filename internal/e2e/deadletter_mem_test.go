package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/siemstream/siemstream/internal/deadletter"
)

// TestDeadLetterMemoryBounded: an object whose every record is bad (a few
// KB of gzip holding hundreds of thousands of CloudTrail lines without a
// Records array) is quarantined record by record in bounded part objects:
// the loader's peak RSS (rusage of the real binary running `backfill`) does
// not grow with the number of bad records. Before, every quarantined record
// was held until the object ended (an 8.7 KB gzip → 2.4 GiB).
func TestDeadLetterMemoryBounded(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "dlmem", 1, 8*time.Minute)
	t.Cleanup(func() { emptyBucket(context.Background(), s, r.Bucket) })

	rss := map[int]int64{}
	for _, n := range []int{20_000, 200_000} {
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
		zw.Write(bytes.Repeat([]byte("{\"a\":1}\n"), n))
		zw.Close()
		prefix := fmt.Sprintf("AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/%02d/", n%28+1)
		key := prefix + "bomb.json.gz"
		if err := s.Upload(ctx, r.Bucket, key, zb.Bytes()); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, bin, "backfill", "--bucket", r.Bucket, "--prefix", prefix, "--log-dir", t.TempDir(), "--workers", "1")
		cmd.Env = r.Env()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("backfill of %d bad records: %v\n%s", n, err, tail(out.String(), 3000))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		rss[n] = ru.Maxrss << 10 // KiB on Linux
		// Every bad record is in the dead letters, in several parts.
		folder := deadletter.ObjectFolder("siemstream-deadletter/", r.Bucket, key)
		lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket, Prefix: &folder})
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, o := range lst.Contents {
			obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.Bucket, Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(obj.Body)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				var rec deadletter.Record
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatalf("%s: %v", aws.ToString(o.Key), err)
				}
				if rec.Ordinal < 1 || rec.Stage != deadletter.StageSplit || !strings.Contains(rec.Reason, "Records") {
					t.Fatalf("dead letter %+v", rec)
				}
				lines++
			}
			obj.Body.Close()
		}
		if lines != n {
			t.Fatalf("%d dead letters for %d bad records", lines, n)
		}
		t.Logf("%d bad records (%d-byte gzip): %d part objects, peak RSS %.1f MiB, %s", n, zb.Len(), len(lst.Contents),
			float64(rss[n])/(1<<20), time.Since(start).Round(time.Millisecond))
	}
	small, big := rss[20_000], rss[200_000]
	if big > small+32<<20 || big > 160<<20 {
		t.Errorf("peak RSS grows with bad records: %.1f MiB for 20k, %.1f MiB for 200k", float64(small)/(1<<20), float64(big)/(1<<20))
	}
}

// emptyBucket removes what a test left in its bucket (moto keeps objects in
// memory, shared by every test).
func emptyBucket(ctx context.Context, s *Stack, bucket string) {
	var token *string
	for {
		lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, ContinuationToken: token})
		if err != nil {
			return
		}
		for _, o := range lst.Contents {
			_, _ = s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
		}
		if !aws.ToBool(lst.IsTruncated) {
			return
		}
		token = lst.NextContinuationToken
	}
}
