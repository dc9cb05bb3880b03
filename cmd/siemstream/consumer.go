package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/internal/pipeline"
	"github.com/siemstream/siemstream/schemas"
)

func runConsumer(ctx context.Context, args []string) error {
	f := newFlags("consumer", "[flags]")
	kd := kcl.DefaultConfig()
	stream := f.str("stream", "SIEM_STREAM", "", "Kinesis stream name")
	app := f.str("app-name", "SIEM_APP_NAME", kd.ApplicationName, "KCL applicationName: names the DynamoDB lease table")
	workerID := f.str("worker-id", "SIEM_WORKER_ID", "", "unique worker id (default: host-pid-random)")
	region := f.str("region", "AWS_REGION", "us-east-1", "AWS region")
	osf := openSearchFlags(f)
	lf := newLeaseFlags(f, "lease coordinator: dynamo (Java KCL lease table, fenced checkpoints) or kcl (vmware-go-kcl-v2)", "let workers of a fleet steal leases to balance")
	initPos := f.str("initial-position", "SIEM_INITIAL_POSITION", kd.InitialPositionInStream, "initialPositionInStream for new leases: TRIM_HORIZON or LATEST")
	batch := f.integer("batch-events", "SIEM_BATCH_EVENTS", consumer.DefaultConfig().BatchEvents, "events per bulk write and checkpoint")
	bulkBytes := f.integer("bulk-bytes", "SIEM_BULK_BYTES", 5<<20, "max bytes per _bulk request")
	inflight := f.integer("max-inflight-bulks", "SIEM_MAX_INFLIGHT_BULKS", consumer.DefaultConfig().MaxInflightBulks, "batches of a read per shard being written while the next is unpacked and processed (1 = serial); memory per shard is about this many batches")
	bulkConc := f.integer("bulk-concurrency", "SIEM_BULK_CONCURRENCY", consumer.DefaultConfig().BulkConcurrency, "max concurrent _bulk requests of the process, all shards together; halved on 429s, failures and rising latency, regrown by one per that many successes")
	keepRO := f.boolean("keep-read-only-indices", "SIEM_KEEP_READ_ONLY_INDICES", false, "do not redirect documents for a read-only index (closed, write-blocked, UltraWarm, cold) to <index>_01 as es-loader does; retry or dead-letter them instead")
	dlIndex := f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", consumer.DefaultConfig().DeadLetterIndex, "dead-letter index prefix")
	dlBucket := f.str("dead-letter-bucket", "SIEM_DEAD_LETTER_BUCKET", "", "S3 bucket for raw records too long to keep inside a dead-letter document (over 1 MiB; without it they stay inline)")
	dlPrefix := f.str("dead-letter-prefix", "SIEM_DEAD_LETTER_PREFIX", "siemstream-deadletter/", "key prefix in --dead-letter-bucket (objects under <prefix>consumer/)")
	suffix := f.str("index-suffix", "SIEM_INDEX_SUFFIX", "", "append this to every index name, dead-letter index included (a staging or test fleet next to the live one)")
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "log totals this often")
	popts := pipelineFlags(f, true)
	tf := templateFlags(f, true)
	of := opsFlags(f, metrics.RoleConsumer)
	if err := f.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(*f.logFormat, *f.logLevel)
	if err != nil {
		return err
	}
	if *workerID == "" {
		*workerID = defaultWorkerID()
	}
	log = log.With().Str("worker", *workerID).Logger()
	o := of.start(ctx, log)
	defer o.close()

	reg, err := schemas.Load(schemas.Options{UserINI: *popts.userINI})
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
	var coord lease.Coordinator
	switch *lf.coordinator {
	case "dynamo":
		dc := lf.dynamo(*app, *stream, *workerID, log)
		dc.InitialPositionInStream = *initPos
		dcoord, err := dynamo.New(dc, awsCfg)
		if err != nil {
			return err
		}
		coord = dcoord
		o.m.SetLeaseStatus(leaseStatus(dcoord))
		o.h.Check("lease_table", checkLeaseTable(awsCfg, dc))
	case "kcl":
		kc := lf.kcl(*app, *stream, *region, *workerID, log)
		kc.InitialPositionInStream = *initPos
		if coord, err = kcl.New(kc); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--coordinator %q: want dynamo or kcl", *lf.coordinator)
	}
	osc, err := osf.Client(ctx, log)
	if err != nil {
		return err
	}
	sc := sink.DefaultOpenSearchConfig()
	sc.Client, sc.MaxBulkBytes = osc, *bulkBytes
	sc.KeepReadOnlyIndices, sc.Logger = *keepRO, log.With().Str("component", "sink").Logger()
	sc.OnReadOnlyRedirect = o.m.ReadOnlyRedirect
	s, err := sink.NewOpenSearch(sc)
	if err != nil {
		return err
	}
	defer closeSink(s, log)
	o.h.Check("opensearch", s.Health)
	// Indices created before their templates keep wrong field types for
	// life, so templates go in before the first document.
	if err := tf.InstallAtStart(ctx, log, s.Client(), reg, *dlIndex); err != nil {
		return err
	}
	po, err := popts.Options(ctx, log)
	if err != nil {
		return err
	}
	chain, err := pipeline.NewContext(ctx, reg, po)
	if err != nil {
		return err
	}
	defer chain.Close()
	o.m.RegisterPipeline(chain.Stats)
	cc := consumer.DefaultConfig()
	cc.Observer = o.m.Consumer(o.h)
	cc.BatchEvents, cc.DeadLetterIndex, cc.ProgressEvery = *batch, *dlIndex, *progress
	cc.MaxInflightBulks, cc.BulkConcurrency = *inflight, *bulkConc
	var out sink.Sink = s
	if *suffix != "" {
		if out, err = sink.NewSuffix(s, *suffix); err != nil {
			return err
		}
	}
	dls := &sink.IndexDeadLetters{Sink: out, Prefix: cc.DeadLetterIndex, Policy: cc.Retry}
	if *dlBucket != "" {
		dls.RawS3, dls.RawBucket, dls.RawPrefix = s3.NewFromConfig(awsCfg, awsconf.S3Options), *dlBucket, *dlPrefix
	}
	counts := obs.NewRegistry()
	o.counts(counts)
	c, err := consumer.New(cc, coord, chain.Chain, o.m.Sink(out), counts, log, consumer.WithDeadLetters(dls))
	if err != nil {
		return err
	}
	go chain.Run(ctx)
	if *lf.coordinator == "dynamo" {
		// From here on lease renewals (every failover/3) and GetRecords
		// beat it; not before, so waiting for OpenSearch at start is not
		// a failed liveness check.
		o.h.Loop("consumer", 2*time.Minute)
	}
	log.Info().Str("stream", *stream).Str("app", *app).Str("coordinator", *lf.coordinator).Str("opensearch", osc.Summary()).Msg("consumer starting")
	return c.Run(ctx)
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
