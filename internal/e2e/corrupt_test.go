package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestTruncatedObject: an object whose gzip stream breaks part-way (an
// upload cut short) arrives by notification. Every complete record before
// the damage is loaded, the rest of the object is quarantined in S3 with
// the reason, its SQS message is deleted (not retried for ever), and the
// other objects of the same run load untouched.
func TestTruncatedObject(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "trunc", 1, 4*time.Minute)
	dir := t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	good := genObject(t, dir, "vpcflowlogs", 800, 21, t0)
	broken := genObject(t, dir, "vpcflowlogs", 4000, 22, t0.Add(time.Minute))
	broken.body = broken.body[:len(broken.body)*3/5]

	// What a reader gets from the broken object before the error: the
	// complete lines after the header are the records that must load.
	zr, err := gzip.NewReader(bytes.NewReader(broken.body))
	if err != nil {
		t.Fatal(err)
	}
	readable, rerr := io.ReadAll(zr)
	if rerr == nil {
		t.Fatal("the cut gzip stream reads to the end: the test object is not broken")
	}
	complete := int64(bytes.Count(readable, []byte("\n"))) - 1 // minus the header line
	want := int64(len(normalizeExpected(t, bin, r.Bucket, good))) + complete

	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200")
	startFor(t, bin, "consumer", logDir, env)
	startFor(t, bin, "producer", logDir, env)
	for _, o := range []object{broken, good} {
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
		t.Fatalf("documents: %d, want %d (%d readable records of the broken object): %v", got, want, complete, err)
	}

	// The quarantine file names the object and the reason.
	var reason string
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		lst, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket, Prefix: aws.String("siemstream-deadletter/producer/")})
		if err != nil || len(lst.Contents) == 0 {
			return false, nil
		}
		if len(lst.Contents) != 1 {
			t.Fatalf("%d quarantine files, want 1", len(lst.Contents))
		}
		obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.Bucket, Key: lst.Contents[0].Key})
		if err != nil {
			return false, nil
		}
		defer obj.Body.Close()
		body, _ := io.ReadAll(obj.Body)
		if !strings.Contains(string(body), broken.key) && !strings.Contains(*lst.Contents[0].Key, broken.key) {
			t.Fatalf("quarantine file %s does not name %s:\n%.500s", *lst.Contents[0].Key, broken.key, body)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				if v, ok := line["reason"].(string); ok {
					reason = v
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("no quarantine file for %s: %v", broken.key, err)
	}
	if !strings.Contains(reason, "unreadable") {
		t.Errorf("quarantine reason %q does not say the object is unreadable", reason)
	}

	// The notification is done with: no message left, none in flight.
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		vis, inflight, err := s.QueueDepth(ctx, r.QueueURL)
		return err == nil && vis == 0 && inflight == 0, nil
	})
	if err != nil {
		t.Errorf("the broken object's message is still queued: %v", err)
	}
	t.Logf("broken object: %d records loaded before the damage, the rest quarantined (%s)", complete, reason)
}
