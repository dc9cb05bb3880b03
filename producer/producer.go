// Package producer turns S3 "object created" notifications into Kinesis
// records: it long-polls SQS, detects each object's log type from its key,
// streams and decompresses the object, splits it into raw records, packs them
// into compressed chunks inside KPL aggregates and writes them with
// PutRecords. A message is deleted only after every record of its objects
// was accepted by Kinesis; until then its visibility is extended, and a
// message that keeps failing reaches the queue's DLQ through its redrive
// policy.
package producer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
)

// S3API is the part of the S3 client the producer uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// SQSAPI is the part of the SQS client the producer uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// KinesisAPI is the part of the Kinesis client the producer uses.
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Producer loads objects announced on a queue into a stream.
type Producer struct {
	cfg     Config
	reg     *schemas.Registry
	s3      S3API
	sqs     SQSAPI
	kinesis KinesisAPI
	counts  *obs.Registry
	log     zerolog.Logger
}

// New checks cfg and builds a producer; nothing starts until Run.
func New(cfg Config, reg *schemas.Registry, s3c S3API, sqsc SQSAPI, kc KinesisAPI, counts *obs.Registry, log zerolog.Logger) (*Producer, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("producer config: %w", err)
	}
	if counts == nil {
		counts = obs.NewRegistry()
	}
	return &Producer{cfg: cfg, reg: reg, s3: s3c, sqs: sqsc, kinesis: kc, counts: counts, log: log}, nil
}

// Counts exposes the producer's counters.
func (p *Producer) Counts() *obs.Registry { return p.counts }

// Run long-polls the queue until ctx is cancelled. Messages being worked on
// when ctx ends are finished first (bounded by their own work), so a SIGTERM
// never leaves half-sent objects whose messages were deleted.
func (p *Producer) Run(ctx context.Context) error {
	if p.cfg.QueueURL == "" {
		return errors.New("producer: queue URL is required (--queue-url or SIEM_QUEUE_URL)")
	}
	work := make(chan sqstypes.Message)
	var wg sync.WaitGroup
	// Workers finish the message they hold even after ctx ends.
	workCtx := context.WithoutCancel(ctx)
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				p.handleMessage(workCtx, m)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for ctx.Err() == nil {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &p.cfg.QueueURL,
			MaxNumberOfMessages:         int32(min(10, p.cfg.Workers*2)),
			WaitTimeSeconds:             int32(p.cfg.WaitTime / time.Second),
			VisibilityTimeout:           int32(p.cfg.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Warn().Err(err).Str("error_kind", "sqs_receive").Msg("receive from SQS failed; retrying")
			if !backoff.Sleep(ctx, 2*time.Second) {
				break
			}
			continue
		}
		for _, m := range out.Messages {
			select {
			case work <- m:
			case <-ctx.Done():
				// Not started: SQS makes it visible again after the timeout.
			}
		}
	}
	return nil
}

func (p *Producer) handleMessage(ctx context.Context, m sqstypes.Message) {
	log := p.log.With().Str("message_id", aws.ToString(m.MessageId)).Logger()
	objs, err := notify.Parse([]byte(aws.ToString(m.Body)))
	if err != nil {
		// Not a notification at all: no retry can help; it goes to the
		// DLQ through the redrive policy where an operator can look at it.
		log.Error().Err(err).Str("error_kind", "not_a_notification").Str("receive_count", m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]).
			Msg("message is not an S3 notification; leaving it for the DLQ")
		return
	}
	p.observer().MessagesInFlight(1)
	defer p.observer().MessagesInFlight(-1)
	stop := p.keepInvisible(ctx, m.ReceiptHandle, log)
	var failed error
	for _, o := range objs {
		if res, err := p.LoadObject(ctx, o); err != nil {
			failed = err
			log.Error().Err(err).Str("error_kind", "object_load").Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", res.LogType).Str("account", p.accountOf(o)).
				Str("receive_count", m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]).
				Msg("object not loaded; the message will be retried and reach the DLQ if it keeps failing")
			break
		}
	}
	stop()
	if failed != nil {
		return
	}
	if _, err := p.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &p.cfg.QueueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		log.Warn().Err(err).Str("error_kind", "sqs_delete").Msg("delete message failed; it will be delivered again (loads are idempotent)")
	}
}

// keepInvisible extends the message's visibility until the returned func is
// called, so a large object still streaming is not handed to another worker.
func (p *Producer) keepInvisible(ctx context.Context, receipt *string, log zerolog.Logger) func() {
	return KeepInvisible(ctx, p.sqs, p.cfg.QueueURL, receipt, p.cfg.VisibilityTimeout, func(err error) {
		if err != nil {
			log.Warn().Err(err).Str("error_kind", "sqs_visibility").Msg("extend visibility failed")
		}
		p.observer().VisibilityExtended(err)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
