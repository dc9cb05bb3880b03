package deadletter

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Putter is the part of the S3 client that writes dead letters.
type Putter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Part limits of the producer's dead-letter objects.
const (
	// DefaultPartBytes: a part object is written once its JSON lines reach
	// this size, so the memory a worker holds for dead letters is bounded
	// by it (plus one record) however many records of an object are bad.
	DefaultPartBytes = 8 << 20
	// DefaultPartRecords: ... or this many records.
	DefaultPartRecords = 10_000
)

// ProducerPrefix is the folder of the producer's dead letters under the
// dead-letter prefix; ConsumerPrefix holds the consumer's large raw bytes.
const (
	ProducerPrefix = "producer/"
	ConsumerPrefix = "consumer/"
)

// ObjectFolder is where the producer's dead letters of one object go:
// <prefix>producer/<bucket>/<key>/ (part-00001.jsonl, part-00002.jsonl, …).
func ObjectFolder(prefix, bucket, key string) string {
	return prefix + ProducerPrefix + bucket + "/" + key + "/"
}

// PartWriter streams one object's dead letters to S3 as JSON-lines part
// objects of bounded size. Part names are numbered in the order records
// come, so loading the same object again (a retry) rewrites the same parts.
// Not safe for concurrent use.
type PartWriter struct {
	S3     Putter
	Bucket string
	// Folder is the key prefix of the parts (ObjectFolder).
	Folder string
	// PartBytes and PartRecords bound a part (0: the defaults).
	PartBytes, PartRecords int

	buf     bytes.Buffer
	n       int // records in buf
	parts   int // parts written
	records int64
}

// Add appends r to the current part and writes the part when it is full.
func (w *PartWriter) Add(ctx context.Context, r *Record) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", r.Where(), err)
	}
	w.buf.Write(b)
	w.buf.WriteByte('\n')
	w.n++
	w.records++
	pb, pr := w.PartBytes, w.PartRecords
	if pb <= 0 {
		pb = DefaultPartBytes
	}
	if pr <= 0 {
		pr = DefaultPartRecords
	}
	if w.buf.Len() >= pb || w.n >= pr {
		return w.flush(ctx)
	}
	return nil
}

// Close writes the last part.
func (w *PartWriter) Close(ctx context.Context) error {
	if w.n == 0 {
		return nil
	}
	return w.flush(ctx)
}

// Records is how many records were added; Parts how many objects written.
func (w *PartWriter) Records() int64 { return w.records }
func (w *PartWriter) Parts() int     { return w.parts }

func (w *PartWriter) flush(ctx context.Context) error {
	w.parts++
	key := fmt.Sprintf("%spart-%05d.jsonl", w.Folder, w.parts)
	_, err := w.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &w.Bucket, Key: &key,
		Body: bytes.NewReader(w.buf.Bytes()), ContentLength: aws.Int64(int64(w.buf.Len())),
		ContentType: aws.String("application/x-ndjson")})
	if err != nil {
		return fmt.Errorf("write dead letters s3://%s/%s: %w", w.Bucket, key, err)
	}
	w.buf.Reset()
	if w.buf.Cap() > 2*max(w.PartBytes, DefaultPartBytes) {
		w.buf = bytes.Buffer{} // one huge record: do not keep its buffer
	}
	w.n = 0
	return nil
}

// PutRaw stores raw bytes too large to keep inline and returns the s3://
// reference for Record.RawRef. The key is derived from the record's
// identity, so storing the same refusal again overwrites it.
func PutRaw(ctx context.Context, api Putter, bucket, prefix string, r *Record, raw []byte) (string, error) {
	key := prefix + ConsumerPrefix + r.DocID() + ".raw"
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(raw),
		ContentLength: aws.Int64(int64(len(raw))), ContentType: aws.String("application/octet-stream")}); err != nil {
		return "", fmt.Errorf("write dead-letter raw bytes s3://%s/%s: %w", bucket, key, err)
	}
	return "s3://" + bucket + "/" + key, nil
}
