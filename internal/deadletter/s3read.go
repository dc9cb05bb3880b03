package deadletter

// Reading, listing and removing dead letters in S3: used by the operator's
// `siemstream deadletters` command, never by the fleets (their writers are
// in s3.go), so the deployment grants the fleets no read or delete here.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client that lists, reads and removes them.
type S3API interface {
	Putter
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// ParseS3URL splits s3://bucket/key.
func ParseS3URL(ref string) (bucket, key string, err error) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "s3" || u.Host == "" || len(u.Path) < 2 {
		return "", "", fmt.Errorf("not an s3://bucket/key reference: %q", ref)
	}
	return u.Host, u.Path[1:], nil
}

// FetchRaw reads the bytes RawRef points to and checks them.
func FetchRaw(ctx context.Context, api S3API, r *Record) ([]byte, error) {
	bucket, key, err := ParseS3URL(r.RawRef)
	if err != nil {
		return nil, err
	}
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", r.RawRef, err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.RawRef, err)
	}
	return raw, r.Verify(raw)
}

// S3Entry is one record read from a part object, with where it is.
type S3Entry struct {
	Record
	Bucket, Key string // the part object
	Line        int    // 1-based line in it
}

// ListS3 calls fn for every record under <prefix>producer/ in bucket, part
// object by part object (one part in memory at a time). A line that is not
// a record is reported through fn's error return of badLine.
func ListS3(ctx context.Context, api S3API, bucket, prefix string, fn func(e *S3Entry, decodeErr error) error) error {
	var token *string
	for {
		out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket,
			Prefix: aws.String(prefix + ProducerPrefix), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list s3://%s/%s%s: %w", bucket, prefix, ProducerPrefix, err)
		}
		for _, o := range out.Contents {
			if err := readPart(ctx, api, bucket, aws.ToString(o.Key), fn); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		token = out.NextContinuationToken
	}
}

func readPart(ctx context.Context, api S3API, bucket, key string, fn func(*S3Entry, error) error) error {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	br := bufio.NewReaderSize(out.Body, 1<<20)
	legacy := !isPartKey(key)
	var head struct {
		Bucket, Key, LogType string
		Time                 time.Time
	}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			e := &S3Entry{Bucket: bucket, Key: key, Line: line}
			derr := e.Record.UnmarshalJSON(b)
			if legacy {
				// Before parts: a header line {bucket,key,log_type,time}
				// then {ordinal,reason,raw,raw_truncated} lines.
				if line == 1 {
					var h map[string]any
					_ = json.Unmarshal(b, &h)
					head.Bucket, _ = h["bucket"].(string)
					head.Key, _ = h["key"].(string)
					head.LogType, _ = h["log_type"].(string)
					ts, _ := h["time"].(string)
					head.Time, _ = time.Parse(time.RFC3339, ts)
					continue
				}
				e.Record.Bucket, e.Record.Key, e.Record.LogType, e.Record.Stage, e.Record.Time = head.Bucket, head.Key, head.LogType, StageSplit, head.Time
				if derr == nil {
					derr = ErrTruncated // cannot tell: U+FFFD may have replaced bytes
				}
			}
			if err := fn(e, derr); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
		}
	}
}

// isPartKey tells a part object (…/part-NNNNN.jsonl) from the one-file
// layout of earlier versions (…/<key>.jsonl, a header line first).
func isPartKey(key string) bool {
	base := key[strings.LastIndexByte(key, '/')+1:]
	n, ok := strings.CutPrefix(base, "part-")
	if !ok {
		return false
	}
	n, ok = strings.CutSuffix(n, ".jsonl")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RewritePart replaces a part object with its lines whose numbers are not
// in drop (1-based), or deletes it when nothing is left. Redrive calls it
// after the records were accepted by the stream. Files of the earlier
// layout are never rewritten (their records are not re-driven).
func RewritePart(ctx context.Context, api S3API, bucket, key string, drop map[int]bool) error {
	if !isPartKey(key) {
		return fmt.Errorf("s3://%s/%s is not a dead-letter part object", bucket, key)
	}
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	var keep bytes.Buffer
	line := 0
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		var l []byte
		if i < 0 {
			l, body = body, nil
		} else {
			l, body = body[:i+1], body[i+1:]
		}
		line++
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if !drop[line] {
			keep.Write(l)
		}
	}
	if keep.Len() == 0 {
		if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
			return fmt.Errorf("delete s3://%s/%s: %w", bucket, key, err)
		}
		return nil
	}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(keep.Bytes()),
		ContentType: aws.String("application/x-ndjson")}); err != nil {
		return fmt.Errorf("rewrite s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
