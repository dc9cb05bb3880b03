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
	sf := sinkFlags(f, sinkFlagSpec{
		suffixEnv:   "SIEM_INDEX_SUFFIX",
		suffixHelp:  "append this to every index name, dead-letter index included (a staging or test fleet next to the live one)",
		dlIndexHelp: "dead-letter index prefix",
		rawBucket:   true,
	})
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
	s, err := sf.openSearch(osc, log, o.m.ReadOnlyRedirect)
	if err != nil {
		return err
	}
	defer closeSink(s, log)
	o.h.Check("opensearch", s.Health)
	// Indices created before their templates keep wrong field types for
	// life, so templates go in before the first document.
	if err := tf.InstallAtStart(ctx, log, s.Client(), reg, *sf.dlIndex); err != nil {
		return err
	}
	asm, err := popts.assemble(ctx, reg, log, nil)
	if err != nil {
		return err
	}
	defer asm.Close()
	o.m.RegisterPipeline(asm.Stats)
	cc := consumer.DefaultConfig()
	cc.Observer = o.m.Consumer(o.h)
	sf.apply(&cc)
	cc.ProgressEvery = *progress
	out, err := sf.withSuffix(s)
	if err != nil {
		return err
	}
	dls := &sink.IndexDeadLetters{Sink: out, Prefix: cc.DeadLetterIndex, Policy: cc.Retry}
	if *sf.dlBucket != "" {
		dls.RawS3, dls.RawBucket, dls.RawPrefix = s3.NewFromConfig(awsCfg, awsconf.S3Options), *sf.dlBucket, *sf.dlPrefix
	}
	counts := obs.NewRegistry()
	o.counts(counts)
	c, err := consumer.New(cc, coord, asm.Stages, o.m.Sink(out), counts, log, consumer.WithDeadLetters(dls))
	if err != nil {
		return err
	}
	go asm.Run(ctx)
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
