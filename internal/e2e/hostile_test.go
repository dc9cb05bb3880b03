package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/siemstream/siemstream/internal/testobj"
)

// TestHostileObjects: objects built to crash or exhaust the producer (a
// forged Parquet footer, a gzip of newlines, a zip of overlapping members,
// a CloudTrail record nested 100,000 deep) arrive with good ones. The
// producer stays up, every good record loads (the CloudTrail records
// around the deep one too), and each hostile object or record has a dead
// letter that says why.
func TestHostileObjects(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "hostile", 1, 5*time.Minute)
	dir := t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	good := genObject(t, dir, "vpcflowlogs", 300, 31, t0)
	trail := genObject(t, dir, "cloudtrail", 40, 32, t0)
	want := int64(len(normalizeExpected(t, bin, r.Bucket, good)) + len(normalizeExpected(t, bin, r.Bucket, trail)))

	// the CloudTrail object again, with a 100,000-deep record first
	zr, err := gzip.NewReader(bytes.NewReader(trail.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	i := bytes.Index(plain, []byte(`"Records":[`))
	if i < 0 {
		t.Fatal("generated CloudTrail object has no Records array")
	}
	i += len(`"Records":[`)
	deep := testobj.DeepJSON(100_000) + ","
	deepTrail := object{key: strings.Replace(trail.key, ".json.gz", "-deep.json.gz", 1),
		body: testobj.Gzip(append(append(append([]byte(nil), plain[:i]...), deep...), plain[i:]...))}
	// (its good records load again, with the same _id: CloudTrail's _id is its eventID)

	vpcKey := func(s string) string { return strings.Replace(good.key, ".log.gz", s, 1) }
	hostile := map[string]struct {
		body   []byte
		reason string
	}{
		vpcKey("-newlines.log.gz"): {testobj.NewlineBomb(100), "ratio"},
		vpcKey("-overlap.log.zip"): {testobj.OverlapZip("kernel.log", bytes.Repeat([]byte("2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n"), 1<<16), 500), "overlap"},
		vpcKey("-par1.log.gz"):     {testobj.ForgedParquetFooter(), "binary"},
		deepTrail.key:              {deepTrail.body, "nested too deep"},
	}
	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200")
	startFor(t, bin, "consumer", logDir, env)
	prod := startFor(t, bin, "producer", logDir, env)
	for k, h := range hostile {
		if err := s.Upload(ctx, r.Bucket, k, h.body); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []object{good, trail} {
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	var got int64
	err = WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-*", BucketQuery(r.Bucket))
		got = n
		return err == nil && n >= want, nil
	})
	if err != nil || got != want {
		t.Fatalf("documents: %d, want %d: %v", got, want, err)
	}
	// every hostile object has a dead letter with its reason
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket, Prefix: aws.String("siemstream-deadletter/")})
		if err != nil {
			return false, nil
		}
		var all strings.Builder
		for _, c := range lst.Contents {
			obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.Bucket, Key: c.Key})
			if err != nil {
				return false, nil
			}
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			all.WriteString(*c.Key + "\n" + string(b) + "\n")
		}
		for k, h := range hostile {
			if !strings.Contains(all.String(), k) || !strings.Contains(all.String(), h.reason) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("dead letters do not name every hostile object with its reason: %v", err)
	}
	select {
	case <-prod.Done():
		t.Fatal("the producer exited")
	default:
	}
}
