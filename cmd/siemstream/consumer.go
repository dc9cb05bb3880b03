package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/awsconf"
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
	osURL := f.str("opensearch-url", "OPENSEARCH_URL", "http://127.0.0.1:9200", "OpenSearch URL(s), comma-separated")
	osUser := f.str("opensearch-user", "OPENSEARCH_USER", "", "OpenSearch basic-auth user")
	osPass := f.str("opensearch-password", "OPENSEARCH_PASSWORD", "", "OpenSearch basic-auth password")
	initPos := f.str("initial-position", "SIEM_INITIAL_POSITION", kd.InitialPositionInStream, "initialPositionInStream for new leases: TRIM_HORIZON or LATEST")
	maxRecords := f.integer("max-records", "SIEM_MAX_RECORDS", kd.MaxRecords, "maxRecords per GetRecords")
	idle := f.integer("idle-time-between-reads-ms", "SIEM_IDLE_TIME_MS", kd.IdleTimeBetweenReadsInMillis, "idleTimeBetweenReadsInMillis")
	failover := f.integer("failover-time-ms", "SIEM_FAILOVER_TIME_MS", kd.FailoverTimeMillis, "failoverTimeMillis: lease expiry")
	shardSync := f.integer("shard-sync-interval-ms", "SIEM_SHARD_SYNC_MS", kd.ShardSyncIntervalMillis, "shardSyncIntervalMillis")
	maxLeases := f.integer("max-leases-for-worker", "SIEM_MAX_LEASES", kd.MaxLeasesForWorker, "maxLeasesForWorker")
	stealing := f.boolean("lease-stealing", "SIEM_LEASE_STEALING", true, "let workers of a fleet steal leases to balance")
	coordName := f.str("coordinator", "SIEM_COORDINATOR", "dynamo", "lease coordinator: dynamo (Java KCL lease table, fenced checkpoints) or kcl (vmware-go-kcl-v2)")
	takerMs := f.integer("lease-taker-interval-ms", "SIEM_LEASE_TAKER_MS", 0, "dynamo: leaseTakerIntervalMillis (0 = (failover-time-ms + 25) * 2)")
	batch := f.integer("batch-events", "SIEM_BATCH_EVENTS", consumer.DefaultConfig().BatchEvents, "events per bulk write and checkpoint")
	bulkBytes := f.integer("bulk-bytes", "SIEM_BULK_BYTES", 5<<20, "max bytes per _bulk request")
	keepRO := f.boolean("keep-read-only-indices", "SIEM_KEEP_READ_ONLY_INDICES", false, "do not redirect documents for a read-only index (closed, write-blocked, UltraWarm, cold) to <index>_01 as es-loader does; retry or dead-letter them instead")
	dlIndex := f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", consumer.DefaultConfig().DeadLetterIndex, "dead-letter index prefix")
	suffix := f.str("index-suffix", "SIEM_INDEX_SUFFIX", "", "append this to every index name, dead-letter index included (a staging or test fleet next to the live one)")
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "log totals this often")
	popts := pipelineFlags(f, true)
	tf := templateFlags(f, true)
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
	var coord lease.Coordinator
	switch *coordName {
	case "dynamo":
		dc := dynamo.DefaultConfig()
		dc.ApplicationName, dc.StreamName, dc.WorkerIdentifier = *app, *stream, *workerID
		dc.InitialPositionInStream = *initPos
		dc.MaxRecords, dc.IdleTimeBetweenReadsInMillis, dc.FailoverTimeMillis = *maxRecords, *idle, *failover
		dc.ShardSyncIntervalMillis, dc.MaxLeasesForWorker, dc.LeaseTakerIntervalMillis = *shardSync, *maxLeases, *takerMs
		if !*stealing {
			dc.MaxLeasesToStealAtOneTime = 0
		}
		dc.Logger = log.With().Str("component", "lease").Logger()
		if coord, err = dynamo.New(dc, awsCfg); err != nil {
			return err
		}
	case "kcl":
		kc := kd
		kc.ApplicationName, kc.StreamName, kc.Region, kc.WorkerID = *app, *stream, *region, *workerID
		kc.KinesisEndpoint, kc.DynamoDBEndpoint = awsconf.Endpoint("KINESIS"), awsconf.Endpoint("DYNAMODB")
		kc.InitialPositionInStream = *initPos
		kc.MaxRecords, kc.IdleTimeBetweenReadsInMillis, kc.FailoverTimeMillis = *maxRecords, *idle, *failover
		kc.ShardSyncIntervalMillis, kc.MaxLeasesForWorker, kc.EnableLeaseStealing = *shardSync, *maxLeases, *stealing
		kc.Logger = log.With().Str("component", "kcl").Logger()
		if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
			kc.Credentials = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
		}
		if coord, err = kcl.New(kc); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--coordinator %q: want dynamo or kcl", *coordName)
	}
	sc := sink.DefaultOpenSearchConfig()
	sc.URLs = strings.Split(*osURL, ",")
	sc.Username, sc.Password, sc.MaxBulkBytes = *osUser, *osPass, *bulkBytes
	sc.KeepReadOnlyIndices, sc.Logger = *keepRO, log.With().Str("component", "sink").Logger()
	s, err := sink.NewOpenSearch(sc)
	if err != nil {
		return err
	}
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
	cc := consumer.DefaultConfig()
	cc.BatchEvents, cc.DeadLetterIndex, cc.ProgressEvery = *batch, *dlIndex, *progress
	var out sink.Sink = s
	if *suffix != "" {
		if out, err = sink.NewSuffix(s, *suffix); err != nil {
			return err
		}
	}
	c, err := consumer.New(cc, coord, chain.Chain, out, nil, log)
	if err != nil {
		return err
	}
	go chain.Run(ctx)
	log.Info().Str("stream", *stream).Str("app", *app).Str("coordinator", *coordName).Str("opensearch", *osURL).Msg("consumer starting")
	return c.Run(ctx)
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
