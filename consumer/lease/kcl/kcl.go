// Package kcl runs lease.Processors on vmware-go-kcl-v2 (v1.0.0).
//
// The library owns the lease table (its own schema: ShardID, AssignedTo,
// LeaseTimeout, Checkpoint) and de-aggregates KPL records, but it loses each
// user record's sub-sequence number. This adapter restores it (position of the
// record among the records that share one sequence number) and only lets a
// checkpoint through at the end of an aggregate, because the library resumes
// AFTER the stored sequence number: a checkpoint in the middle of an aggregate
// would skip the rest of it on restart.
//
// Its layout knowledge lives here only: Checkpoints reads the table for
// replays, operators and tests (lease.CheckpointReader) and keeps replay end
// positions (lease.ReplayEndStore) in rows of their own.
//
// Known defects of the library, measured by the fault tests
// (consumer/lease/dynamo/README.md), kept for users of its table layout:
// no fencing (a paused worker whose lease was taken rewrites the new
// owner's checkpoint backwards, and its processor is never told it lost
// the lease), whole-aggregate checkpoints only, no AT_TIMESTAMP start
// (WithInitialPositionInStream drops the timestamp), no shard filter, lease
// sync that skips rows without a checkpoint (a fleet on a quiet stream
// never balances) and slow, overshooting rebalancing.
package kcl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"
	"github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kcli "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
	"github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
	kcllog "github.com/vmware/vmware-go-kcl-v2/logger"

	"github.com/siemstream/siemstream/consumer/lease"
)

// Config uses the names Java KCL users know.
type Config struct {
	// ApplicationName names the lease table (one table per application).
	ApplicationName string
	StreamName      string
	Region          string
	// WorkerID must be unique per process; empty = host-pid-random.
	WorkerID string
	// KinesisEndpoint / DynamoDBEndpoint: empty = the AWS defaults.
	KinesisEndpoint  string
	DynamoDBEndpoint string
	// InitialPositionInStream: TRIM_HORIZON, LATEST or AT_TIMESTAMP (with
	// TimestampAtInitialPositionInStream).
	InitialPositionInStream            string
	TimestampAtInitialPositionInStream time.Time
	// MaxRecords per GetRecords call (1..10000).
	MaxRecords int
	// IdleTimeBetweenReadsInMillis: pause after an empty GetRecords.
	IdleTimeBetweenReadsInMillis int
	// FailoverTimeMillis: a lease not renewed for this long is taken over.
	FailoverTimeMillis int
	// ShardSyncIntervalMillis: how often the worker looks for shards and
	// leases (the library takes at most one new lease per pass).
	ShardSyncIntervalMillis int
	// MaxLeasesForWorker caps the leases one worker holds.
	MaxLeasesForWorker int
	// EnableLeaseStealing lets a fleet rebalance.
	EnableLeaseStealing bool
	// ShutdownGrace bounds how long in-flight batches may run after Run's
	// context is cancelled before their context is cancelled too.
	ShutdownGrace time.Duration
	// Credentials: static test credentials for local stacks; nil = default chain.
	Credentials aws.CredentialsProvider
	Logger      zerolog.Logger
}

// DefaultConfig returns the defaults (KCL's, except a shorter shard sync so a
// fresh worker picks up all its shards in seconds, not minutes).
func DefaultConfig() Config {
	return Config{
		ApplicationName:              "siemstream",
		Region:                       "us-east-1",
		InitialPositionInStream:      "TRIM_HORIZON",
		MaxRecords:                   500,
		IdleTimeBetweenReadsInMillis: 500,
		FailoverTimeMillis:           10000,
		ShardSyncIntervalMillis:      2000,
		MaxLeasesForWorker:           32767,
		ShutdownGrace:                30 * time.Second,
		Logger:                       zerolog.Nop(),
	}
}

// Validate checks fields and how they relate.
func (c Config) Validate() error {
	var errs []error
	if c.ApplicationName == "" {
		errs = append(errs, errors.New("applicationName is required"))
	}
	if c.StreamName == "" {
		errs = append(errs, errors.New("streamName is required"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("region is required"))
	}
	if c.MaxRecords < 1 || c.MaxRecords > 10000 {
		errs = append(errs, fmt.Errorf("maxRecords %d: must be 1..10000", c.MaxRecords))
	}
	if c.FailoverTimeMillis < 1000 {
		errs = append(errs, fmt.Errorf("failoverTimeMillis %d: must be >= 1000", c.FailoverTimeMillis))
	}
	if c.IdleTimeBetweenReadsInMillis < 0 || c.ShardSyncIntervalMillis < 100 {
		errs = append(errs, errors.New("idleTimeBetweenReadsInMillis must be >= 0 and shardSyncIntervalMillis >= 100"))
	}
	switch c.InitialPositionInStream {
	case "TRIM_HORIZON", "LATEST":
	case "AT_TIMESTAMP":
		if c.TimestampAtInitialPositionInStream.IsZero() {
			errs = append(errs, errors.New("initialPositionInStream AT_TIMESTAMP needs a timestamp"))
		}
	default:
		errs = append(errs, fmt.Errorf("initialPositionInStream %q: want TRIM_HORIZON, LATEST or AT_TIMESTAMP", c.InitialPositionInStream))
	}
	return errors.Join(errs...)
}

// Coordinator is a lease.Coordinator on vmware-go-kcl-v2.
type Coordinator struct {
	cfg Config
}

// New checks cfg and returns a coordinator; nothing starts until Run.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kcl config: %w", err)
	}
	return &Coordinator{cfg: cfg}, nil
}

// Run starts the worker and blocks until ctx is cancelled, then shuts it
// down gracefully (processors finish their batch, checkpoint, release).
func (c *Coordinator) Run(ctx context.Context, factory lease.ProcessorFactory) error {
	cfg := c.cfg
	// The library's lease-renewal loop logs through the global logrus logger
	// whatever WithLogger says; route it through ours.
	logrus.SetOutput(io.Discard)
	logrus.AddHook(logrusHook{log: cfg.Logger})

	var kc *config.KinesisClientLibConfiguration
	if cfg.Credentials != nil {
		kc = config.NewKinesisClientLibConfigWithCredential(cfg.ApplicationName, cfg.StreamName, cfg.Region, cfg.WorkerID, cfg.Credentials)
	} else {
		kc = config.NewKinesisClientLibConfig(cfg.ApplicationName, cfg.StreamName, cfg.Region, cfg.WorkerID)
	}
	if cfg.KinesisEndpoint != "" {
		kc = kc.WithKinesisEndpoint(cfg.KinesisEndpoint)
	}
	if cfg.DynamoDBEndpoint != "" {
		kc = kc.WithDynamoDBEndpoint(cfg.DynamoDBEndpoint)
	}
	pos := config.TRIM_HORIZON
	switch cfg.InitialPositionInStream {
	case "LATEST":
		pos = config.LATEST
	case "AT_TIMESTAMP":
		pos = config.AT_TIMESTAMP
		ts := cfg.TimestampAtInitialPositionInStream
		kc = kc.WithTimestampAtInitialPositionInStream(&ts)
	}
	kc = kc.WithInitialPositionInStream(pos).
		WithMaxRecords(cfg.MaxRecords).
		WithIdleTimeBetweenReadsInMillis(cfg.IdleTimeBetweenReadsInMillis).
		WithFailoverTimeMillis(cfg.FailoverTimeMillis).
		WithShardSyncIntervalMillis(cfg.ShardSyncIntervalMillis).
		WithMaxLeasesForWorker(cfg.MaxLeasesForWorker).
		WithLeaseStealing(cfg.EnableLeaseStealing).
		WithLogger(zlog{l: cfg.Logger})

	// Processors get a context that outlives ctx by ShutdownGrace so the
	// batch in flight at SIGTERM can still be acknowledged and checkpointed.
	procCtx, cancelProc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProc()
	w := worker.NewWorker(processorFactory{ctx: procCtx, factory: factory, log: cfg.Logger}, kc)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start kcl worker %s: %w", cfg.WorkerID, err)
	}
	<-ctx.Done()
	timer := time.AfterFunc(cfg.ShutdownGrace, cancelProc)
	defer timer.Stop()
	w.Shutdown()
	return nil
}

type processorFactory struct {
	ctx     context.Context
	factory lease.ProcessorFactory
	log     zerolog.Logger
}

func (f processorFactory) CreateProcessor() kcli.IRecordProcessor {
	return &adapter{ctx: f.ctx, p: f.factory(), log: f.log}
}

// adapter turns the library's callbacks into lease.Processor calls.
type adapter struct {
	ctx     context.Context
	p       lease.Processor
	shardID string
	log     zerolog.Logger
	recs    []lease.Record
}

func (a *adapter) Initialize(in *kcli.InitializationInput) {
	a.shardID = in.ShardId
	a.p.Initialize(a.ctx, in.ShardId)
}

func (a *adapter) ProcessRecords(in *kcli.ProcessRecordsInput) {
	a.recs = convert(a.recs[:0], in.Records)
	a.p.ProcessRecords(a.ctx, a.recs, checkpointer{cp: in.Checkpointer}, in.MillisBehindLatest)
}

func (a *adapter) Shutdown(in *kcli.ShutdownInput) {
	reason := lease.Requested
	switch in.ShutdownReason {
	case kcli.TERMINATE:
		reason = lease.ShardEnd
	case kcli.ZOMBIE:
		reason = lease.LeaseLost
	}
	a.p.Shutdown(a.ctx, reason, checkpointer{cp: in.Checkpointer})
}

// convert restores sub-sequence numbers: the library gives every user record
// of an aggregate the aggregate's sequence number, in order.
func convert(dst []lease.Record, in []types.Record) []lease.Record {
	for i := range in {
		r := &in[i]
		seq := aws.ToString(r.SequenceNumber)
		var sub int64
		if i > 0 && dst[len(dst)-1].SequenceNumber == seq {
			sub = dst[len(dst)-1].SubSequence + 1
			dst[len(dst)-1].LastInAggregate = false
		}
		rec := lease.Record{
			Data:            r.Data,
			PartitionKey:    aws.ToString(r.PartitionKey),
			SequenceNumber:  seq,
			SubSequence:     sub,
			LastInAggregate: true,
		}
		if r.ApproximateArrivalTimestamp != nil {
			rec.ArrivalTime = *r.ApproximateArrivalTimestamp
		}
		dst = append(dst, rec)
	}
	return dst
}

type checkpointer struct {
	cp kcli.IRecordProcessorCheckpointer
}

// Checkpoint stores rec's sequence number when rec ends its aggregate; a
// mid-aggregate position is skipped (the previous checkpoint stays), since
// this library cannot store sub-sequence numbers.
func (c checkpointer) Checkpoint(_ context.Context, rec *lease.Record) error {
	if !rec.LastInAggregate {
		return nil
	}
	seq := rec.SequenceNumber
	if err := c.cp.Checkpoint(&seq); err != nil {
		return fmt.Errorf("checkpoint %s: %w", seq, err)
	}
	return nil
}

func (c checkpointer) CheckpointShardEnd(context.Context) error {
	if err := c.cp.Checkpoint(nil); err != nil {
		return fmt.Errorf("checkpoint SHARD_END: %w", err)
	}
	return nil
}

// zlog adapts zerolog to the library's logger interface.
type zlog struct{ l zerolog.Logger }

func (z zlog) Debugf(f string, a ...interface{}) { z.l.Debug().Msgf(f, a...) }
func (z zlog) Infof(f string, a ...interface{})  { z.l.Debug().Msgf(f, a...) }
func (z zlog) Warnf(f string, a ...interface{})  { z.l.Warn().Msgf(f, a...) }
func (z zlog) Errorf(f string, a ...interface{}) { z.l.Warn().Msgf(f, a...) }
func (z zlog) Fatalf(f string, a ...interface{}) { z.l.Error().Msgf(f, a...) }
func (z zlog) Panicf(f string, a ...interface{}) { z.l.Error().Msgf(f, a...) }
func (z zlog) WithFields(kv kcllog.Fields) kcllog.Logger {
	return zlog{l: z.l.With().Fields(map[string]interface{}(kv)).Logger()}
}

type logrusHook struct{ log zerolog.Logger }

func (h logrusHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h logrusHook) Fire(e *logrus.Entry) error {
	lvl := zerolog.DebugLevel
	if e.Level <= logrus.WarnLevel {
		lvl = zerolog.WarnLevel
	}
	h.log.WithLevel(lvl).Str("component", "kcl").Msg(e.Message)
	return nil
}
