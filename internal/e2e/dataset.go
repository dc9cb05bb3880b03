package e2e

// Known data sets: generated objects, their upload, and the queue they
// notify.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/siemstream/siemstream/bench/gen"
)

// ---- data sets ----

// Object is one generated S3 object.
type Object struct {
	Key    string
	Body   []byte // gzip
	Events int
}

// Dataset is a known set of objects with a known total of events.
type Dataset struct {
	Objects []Object
	Events  int64
}

// Generate makes objects objects of logType with perObject events each,
// seeded (same arguments, same bytes), event times from t0.
func Generate(logType string, objects, perObject int, seed uint64, t0 time.Time) (Dataset, error) {
	var ds Dataset
	for i := range objects {
		g, err := gen.New(logType, seed+uint64(i))
		if err != nil {
			return ds, err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := g.Write(zw, perObject, t0); err != nil {
			return ds, err
		}
		if err := zw.Close(); err != nil {
			return ds, err
		}
		ds.Objects = append(ds.Objects, Object{Key: g.Key(t0, int(seed)*1000+i), Body: buf.Bytes(), Events: perObject})
		ds.Events += int64(perObject)
	}
	return ds, nil
}

// UploadAll puts every object of ds into bucket.
func (s *Stack) UploadAll(ctx context.Context, bucket string, ds Dataset) error {
	for _, o := range ds.Objects {
		if err := s.Upload(ctx, bucket, o.Key, o.Body); err != nil {
			return err
		}
	}
	return nil
}

// QueueDepth returns the visible and in-flight message counts of a queue.
func (s *Stack) QueueDepth(ctx context.Context, url string) (visible, inFlight int, err error) {
	out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, 0, fmt.Errorf("queue attributes %s: %w", url, err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}
