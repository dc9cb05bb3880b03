package main

// siemstream replay: flags and wiring of consumer/replay (how a replay
// works, and when it is finished, is documented there).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/consumer/replay"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/schemas"
)

func runReplay(ctx context.Context, args []string) error {
	f := newFlags("replay", "--from TIME [--to TIME] [--shards IDS] [--index-suffix S] [--app-name NAME] [flags]\n\n"+
		"Exits 0 once every shard in scope is loaded up to the end position fixed at start (the last record that\n"+
		"arrived at or before --to); 1 on an error; 130 when interrupted (run again with the printed flags to resume).")
	kd := kcl.DefaultConfig()
	from := f.str("from", "", "", "start of the range (ApproximateArrivalTimestamp): RFC 3339, 2006-01-02T15:04[:05] (UTC), unix seconds, or a duration ago (1h, -90m); required")
	to := f.str("to", "", "", "end of the range, same forms, not in the future (default: when the replay starts = the tip at start time)")
	shards := f.str("shards", "", "", "comma-separated shard ids (shardId-000000000003 or 3) to replay (default: all)")
	app := f.str("app-name", "", "", "replay application name: names its lease table (default: <live-app-name>-replay-<from as 20060102T150405Z>)")
	liveApp := f.str("live-app-name", "SIEM_APP_NAME", kd.ApplicationName, "the live consumers' application name, never used by a replay (only to name it)")
	lf := newLeaseFlags(f, "lease coordinator: dynamo (Java KCL lease table, AT_TIMESTAMP, shard filter) or kcl (vmware-go-kcl-v2: no AT_TIMESTAMP, so it reads every shard from TRIM_HORIZON and skips what is before --from; no shard filter; unfenced checkpoints)", "let replay workers steal leases to balance")
	stream := f.str("stream", "SIEM_STREAM", "", "Kinesis stream name")
	workerID := f.str("worker-id", "SIEM_REPLAY_WORKER_ID", "", "unique worker id (default: host-pid-random)")
	region := f.str("region", "AWS_REGION", "us-east-1", "AWS region")
	osf := openSearchFlags(f)
	sf := sinkFlags(f, sinkFlagSpec{
		suffixHelp:  "append this to every index name, e.g. -replay (default: the live indices; _ids are deterministic, so that overwrites)",
		dlIndexHelp: "dead-letter index prefix (the suffix applies too)",
	})
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "log per-shard progress (records and bytes of the known total, percent, ETA) this often")
	probe := f.duration("probe-interval", "SIEM_REPLAY_PROBE", 2*time.Second, "how often the replay's lease table is read to see which shards are finished (by any worker)")
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
	rng, err := replay.ParseRange(*from, *to, time.Now())
	if err != nil {
		return err
	}
	if *workerID == "" {
		*workerID = defaultWorkerID()
	}
	if *app == "" {
		*app = replay.AppName(*liveApp, rng.From)
	}
	if *app == *liveApp {
		return fmt.Errorf("--app-name %q is the live application: a replay must use its own lease table", *app)
	}
	if *stream == "" {
		return errors.New("--stream (or SIEM_STREAM) is required")
	}
	if *lf.coordinator != "dynamo" && *lf.coordinator != "kcl" {
		return fmt.Errorf("--coordinator %q: want dynamo or kcl", *lf.coordinator)
	}
	if *probe <= 0 {
		return errors.New("--probe-interval must be > 0")
	}
	log = log.With().Str("worker", *workerID).Str("app", *app).Logger()

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
	o := of.start(ctx, log)
	defer o.close()
	o.aws(&awsCfg)
	kc := kinesis.NewFromConfig(awsCfg)
	all, err := replay.ListShards(ctx, kc, *stream, replay.DefaultCallTimeout)
	if err != nil {
		return err
	}
	scope, err := replay.Scope(all, *shards)
	if err != nil {
		return err
	}

	var inner lease.Coordinator
	var ends lease.ReplayEndStore
	switch *lf.coordinator {
	case "dynamo":
		dc := lf.dynamo(*app, *stream, *workerID, log)
		dc.InitialPositionInStream, dc.TimestampAtInitialPositionInStream = dynamo.AtTimestamp, rng.From
		dc.ShardFilter = scope
		// Finished leases stay: their SHARD_END is how a resumed replay
		// knows a parent shard is done.
		dc.CleanupLeasesUponShardCompletion = false
		dcoord, err := dynamo.New(dc, awsCfg)
		if err != nil {
			return err
		}
		inner, ends = dcoord, dcoord.Checkpoints()
	case "kcl":
		cfg := lf.kcl(*app, *stream, *region, *workerID, log)
		// The kcl adapter cannot start AT_TIMESTAMP today: it applies
		// WithInitialPositionInStream after WithTimestampAtInitialPositionInStream,
		// which drops the timestamp, and vmware then asks for an AT_TIMESTAMP
		// iterator without one (InvalidArgumentException "Must specify
		// timestampInMillis"). So shards start at TRIM_HORIZON and the
		// processor skips (and checkpoints past) records that arrived before
		// --from: the same records, read at the cost of scanning the
		// retention. vmware has no shard filter either: shards out of scope
		// are leased and read, but nothing of them is loaded.
		cfg.InitialPositionInStream = "TRIM_HORIZON"
		if inner, err = kcl.New(cfg); err != nil {
			return err
		}
		kends := kcl.NewCheckpoints(dynamodb.NewFromConfig(awsCfg), *app)
		// Replay workers usually start together; vmware-go-kcl-v2 lets all
		// but one of them die on the CreateTable race, so the table is made
		// here.
		if err := kends.EnsureTable(ctx); err != nil {
			return err
		}
		ends = kends
	}

	osc, err := osf.Client(ctx, log)
	if err != nil {
		return err
	}
	osSink, err := sf.openSearch(osc, log, o.m.ReadOnlyRedirect)
	if err != nil {
		return err
	}
	defer closeSink(osSink, log)
	o.h.Check("opensearch", osSink.Health)
	// Same as the consumer: templates before the first document (suffixed
	// indices still match the log-<type>-* patterns).
	if err := tf.InstallAtStart(ctx, log, osSink.Client(), reg, *sf.dlIndex); err != nil {
		return err
	}
	out, err := sf.withSuffix(osSink)
	if err != nil {
		return err
	}
	asm, err := popts.assemble(ctx, reg, log, nil)
	if err != nil {
		return err
	}
	defer asm.Close()

	resume := fmt.Sprintf("--from %s --to %s --app-name %s", rng.From.Format(time.RFC3339Nano), rng.To.Format(time.RFC3339Nano), *app)
	counts := obs.NewRegistry()
	o.counts(counts)
	o.m.RegisterPipeline(asm.Stats)
	rp, err := replay.New(replay.Config{
		Stream: *stream, Range: rng, Scope: scope, Ends: ends, Kinesis: kc, Counts: counts,
		ProbeEvery: *probe, ProgressEvery: *progress, Resume: "run again with " + resume + " to resume", Log: log,
	})
	if err != nil {
		return err
	}
	cc := consumer.DefaultConfig()
	cc.Observer = o.m.Consumer(o.h)
	sf.apply(&cc)
	cc.ProgressEvery = -1
	c, err := consumer.New(cc, rp.Coordinator(inner), asm.Stages, o.m.Sink(out), counts, log)
	if err != nil {
		return err
	}
	go asm.Run(ctx)
	log.Info().Str("stream", *stream).Time("from", rng.From).Time("to", rng.To).Strs("shards", scope).
		Str("index_suffix", *sf.suffix).Str("resume_with", resume).Msg("replay starting")
	if err := c.Run(ctx); err != nil {
		rp.LogSummary()
		return err
	}
	rp.LogSummary()
	if err := rp.Err(); err != nil {
		if ctx.Err() == nil {
			return err // the coordinator stopped by itself
		}
		fmt.Fprintf(os.Stderr, "siemstream replay: %v\n", err)
		return exitError(130)
	}
	return nil
}
