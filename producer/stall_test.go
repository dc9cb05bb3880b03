package producer_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
)

// TestStalledPutRecords: Kinesis accepts the first PutRecords calls and
// never answers them (a half-open connection after a NAT or load-balancer
// drop). The producer must give up on each after PutTimeout and send the
// batch again, so the object is loaded; without the bound the worker (and
// the SQS message it keeps invisible) waits for good. The real kinesalite
// answers every call the stall proxy lets through, and the stream holds
// every record afterwards.
func TestStalledPutRecords(t *testing.T) {
	s := e2e.AWSOrSkip(t)
	upstream := awsconf.Endpoint("KINESIS")
	if upstream == "" {
		t.Skip("no local Kinesis endpoint")
	}
	ctx := t.Context()
	name := e2e.NewName("stallput")
	e2e.TestStream(t, s.Kinesis, name, 1)
	if _, err := s.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatal(err)
	}
	ds, err := e2e.Generate("vpcflowlogs", 1, 50, rand.Uint64N(1<<40), time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	obj := ds.Objects[0]
	if err := s.Upload(ctx, name, obj.Key, obj.Body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := context.Background()
		_, _ = s.S3.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: &name, Key: &obj.Key})
		_, _ = s.S3.DeleteBucket(bg, &s3.DeleteBucketInput{Bucket: &name})
	})

	const holds = 2
	p, err := e2e.NewStallProxy(upstream, "Kinesis_20131202.PutRecords", holds)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	kin := kinesis.NewFromConfig(s.AWS, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(p.URL()) })
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := producer.DefaultConfig()
	cfg.Stream = name
	cfg.PutTimeout = time.Second
	cfg.PutRetryMax = 200 * time.Millisecond
	pr, err := producer.New(cfg, reg, s.S3, s.SQS, kin, obs.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Well under the 60s default: only the bound lets this pass.
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := pr.LoadObject(lctx, notify.Object{Bucket: name, Key: obj.Key})
	if err != nil || res.Outcome != producer.Loaded {
		t.Fatalf("load %s: %+v %v", obj.Key, res, err)
	}
	if res.Records != int64(obj.Events) {
		t.Errorf("%d records sent, want %d", res.Records, obj.Events)
	}
	if got := p.Stalled(); got != holds {
		t.Errorf("%d PutRecords calls held, want %d", got, holds)
	}
	sc, err := s.ReadStream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Records != int64(res.KinesisRecords) || sc.Events != int64(obj.Events) {
		t.Errorf("stream holds %d records of %d events, want the %d records of %d sent (a held call never reached kinesalite)",
			sc.Records, sc.Events, res.KinesisRecords, obj.Events)
	}
}

// TestPutTimeoutValidate: zero is the 60s default; below 1s is refused.
func TestPutTimeoutValidate(t *testing.T) {
	cfg := producer.DefaultConfig()
	cfg.Stream = "s"
	cfg.PutTimeout = 500 * time.Millisecond
	if _, err := producer.New(cfg, nil, nil, nil, nil, nil, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "put timeout") {
		t.Fatalf("PutTimeout 500ms: err %v, want a put timeout error", err)
	}
	cfg.PutTimeout = 0
	if _, err := producer.New(cfg, nil, nil, nil, nil, nil, zerolog.Nop()); err != nil {
		t.Fatalf("PutTimeout 0 (default): %v", err)
	}
}
