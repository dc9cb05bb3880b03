package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/schemas"
)

func runProducer(ctx context.Context, args []string) error {
	f := newFlags("producer", "[flags]")
	d := producer.DefaultConfig()
	queue := f.str("queue-url", "SIEM_QUEUE_URL", "", "SQS queue URL receiving S3 notifications")
	stream := f.str("stream", "SIEM_STREAM", "", "Kinesis stream name")
	region := f.str("region", "AWS_REGION", "us-east-1", "AWS region")
	userINI := f.str("user-ini", "SIEM_USER_INI", "", "es-loader user.ini to honour (log types, key patterns)")
	workers := f.integer("workers", "SIEM_PRODUCER_WORKERS", d.Workers, "objects loaded at once")
	vis := f.duration("visibility-timeout", "SIEM_VISIBILITY_TIMEOUT", d.VisibilityTimeout, "SQS visibility timeout, extended while an object streams")
	wait := f.duration("wait-time", "SIEM_WAIT_TIME", d.WaitTime, "SQS long-poll wait (max 20s)")
	dlBucket := f.str("dead-letter-bucket", "SIEM_DEAD_LETTER_BUCKET", "", "bucket for quarantined records/objects (default: the object's bucket)")
	dlPrefix := f.str("dead-letter-prefix", "SIEM_DEAD_LETTER_PREFIX", d.DeadLetterPrefix, "key prefix for quarantined records/objects (never loaded)")
	maxRec := f.integer("max-record-bytes", "SIEM_MAX_RECORD_BYTES", d.MaxRecordBytes, "largest raw record accepted; longer ones are quarantined")
	codec := codecFlag(f)
	limits := addLimitFlags(f)
	of := opsFlags(f, metrics.RoleProducer)
	sources := sourcesFlag(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(*f.logFormat, *f.logLevel)
	if err != nil {
		return err
	}
	o := of.start(ctx, log)
	defer o.close()
	reg, err := schemas.Load(schemas.Options{UserINI: *userINI})
	if err != nil {
		return err
	}
	for _, w := range reg.Warnings() {
		log.Warn().Msg(w)
	}
	awsCfg, err := awsconf.Load(ctx, *region)
	if err != nil {
		return err
	}
	o.aws(&awsCfg)
	cfg := d
	cfg.QueueURL, cfg.Stream, cfg.Workers, cfg.VisibilityTimeout, cfg.WaitTime = *queue, *stream, *workers, *vis, *wait
	cfg.DeadLetterBucket, cfg.DeadLetterPrefix, cfg.MaxRecordBytes, cfg.Codec = *dlBucket, *dlPrefix, *maxRec, *codec
	s3c, err := s3Router(awsCfg, *sources, log)
	if err != nil {
		return err
	}
	cfg.Limits = limits()
	cfg.Observer = o.m.Producer(o.h)
	sqsc, kin := sqs.NewFromConfig(awsCfg), kinesis.NewFromConfig(awsCfg)
	o.h.Loop("producer", cfg.WaitTime+time.Minute) // every ReceiveMessage beats it
	o.h.Check("queue", checkQueue(sqsc, *queue))
	o.h.Check("stream", checkStream(kin, *stream))
	counts := obs.NewRegistry()
	o.counts(counts)
	p, err := producer.New(cfg, reg, s3c, sqsc, kin, counts, log)
	if err != nil {
		return err
	}
	log.Info().Str("queue", *queue).Str("stream", *stream).Int("workers", cfg.Workers).Str("codec", cfg.Codec).Msg("producer starting")
	go logProducerProgress(ctx, p, log)
	err = p.Run(ctx)
	t := p.Counts().Total()
	log.Info().Int64("objects", t.Objects).Int64("records", t.Events).Int64("unknown", t.Unknown).Int64("ignored", t.Ignored).
		Int64("quarantined", t.Failed).Msg("producer stopped")
	return err
}

// codecFlag is the wire codec of the chunks a producer (and backfill,
// dead-letter redrive) writes.
func codecFlag(f *flags) *string {
	return f.str("codec", "SIEM_CODEC", producer.DefaultConfig().Codec,
		"chunk compression: zstd, s2 (less producer CPU, more stream bytes) or none; consumers read all")
}

func logProducerProgress(ctx context.Context, p *producer.Producer, log zerolog.Logger) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	var last obs.Counts
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c := p.Counts().Total(); c != last {
				last = c
				log.Info().Int64("objects", c.Objects).Int64("records", c.Events).Int64("bytes", c.Bytes).
					Int64("unknown", c.Unknown).Int64("quarantined", c.Failed).Msg("progress")
			}
		}
	}
}
