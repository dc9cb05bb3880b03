package main

// siemstream replay: re-read a time range of the stream into OpenSearch
// without touching the live consumers.
//
// A replay is a consumer fleet of its own: its own application name (so its
// own lease table and checkpoints), starting every shard AT_TIMESTAMP --from.
// Each shard stops at the first record that arrived after --to (default: the
// moment the replay started, i.e. the tip at start time). Several replay
// processes with the same --app-name share the shards; a killed replay
// resumes from its own checkpoints; deterministic _ids make re-loading
// idempotent, and --index-suffix keeps the replayed documents apart.
//
// How a shard is known to be finished, whoever holds it: a record after --to
// reached this process's processor (and everything before it was
// acknowledged), the shard ended (SHARD_END), or a probe finds nothing
// after the shard's checkpoint in the replay's lease table up to --to. The
// probe is what ends quiet shards, shards held by another replay worker and
// shards resumed after a restart; it reads the checkpoint, so it never calls
// a shard done before everything up to --to is durable.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/internal/pipeline"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
)

func runReplay(ctx context.Context, args []string) error {
	f := newFlags("replay", "--from TIME [--to TIME] [--shards IDS] [--index-suffix S] [--app-name NAME] [flags]")
	kd := kcl.DefaultConfig()
	from := f.str("from", "", "", "start of the range (ApproximateArrivalTimestamp): RFC 3339, 2006-01-02T15:04[:05] (UTC), unix seconds, or a duration ago (1h, -90m); required")
	to := f.str("to", "", "", "end of the range, same forms (default: when the replay starts = the tip at start time)")
	shards := f.str("shards", "", "", "comma-separated shard ids (shardId-000000000003 or 3) to replay (default: all)")
	suffix := f.str("index-suffix", "", "", "append this to every index name, e.g. -replay (default: the live indices; _ids are deterministic, so that overwrites)")
	app := f.str("app-name", "", "", "replay application name: names its lease table (default: <live-app-name>-replay-<from as 20060102T150405Z>)")
	liveApp := f.str("live-app-name", "SIEM_APP_NAME", kd.ApplicationName, "the live consumers' application name, never used by a replay (only to name it)")
	lf := newLeaseFlags(f, "lease coordinator: dynamo (Java KCL lease table, AT_TIMESTAMP, shard filter) or kcl (vmware-go-kcl-v2)", "let replay workers steal leases to balance")
	stream := f.str("stream", "SIEM_STREAM", "", "Kinesis stream name")
	workerID := f.str("worker-id", "SIEM_REPLAY_WORKER_ID", "", "unique worker id (default: host-pid-random)")
	region := f.str("region", "AWS_REGION", "us-east-1", "AWS region")
	osURL := f.str("opensearch-url", "OPENSEARCH_URL", "http://127.0.0.1:9200", "OpenSearch URL(s), comma-separated")
	osUser := f.str("opensearch-user", "OPENSEARCH_USER", "", "OpenSearch basic-auth user")
	osPass := f.str("opensearch-password", "OPENSEARCH_PASSWORD", "", "OpenSearch basic-auth password")
	batch := f.integer("batch-events", "SIEM_BATCH_EVENTS", consumer.DefaultConfig().BatchEvents, "events per bulk write and checkpoint")
	bulkBytes := f.integer("bulk-bytes", "SIEM_BULK_BYTES", 5<<20, "max bytes per _bulk request")
	keepRO := f.boolean("keep-read-only-indices", "SIEM_KEEP_READ_ONLY_INDICES", false, "do not redirect documents for a read-only index (closed, write-blocked, UltraWarm, cold) to <index>_01 as es-loader does; retry or dead-letter them instead")
	dlIndex := f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", consumer.DefaultConfig().DeadLetterIndex, "dead-letter index prefix (the suffix applies too)")
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "log per-shard progress this often")
	probe := f.duration("probe-interval", "SIEM_REPLAY_PROBE", 2*time.Second, "how often idle shards are checked for being finished")
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
	started := time.Now()
	rng, err := parseReplayRange(*from, *to, started)
	if err != nil {
		return err
	}
	if *workerID == "" {
		*workerID = defaultWorkerID()
	}
	if *app == "" {
		*app = replayAppName(*liveApp, rng.from)
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
	all, err := replayListShards(ctx, kc, *stream)
	if err != nil {
		return err
	}
	scope, err := replayScope(all, *shards)
	if err != nil {
		return err
	}

	ddb := dynamodb.NewFromConfig(awsCfg)
	var inner lease.Coordinator
	schema := replaySchemaJava
	switch *lf.coordinator {
	case "dynamo":
		dc := lf.dynamo(*app, *stream, *workerID, log)
		dc.InitialPositionInStream, dc.TimestampAtInitialPositionInStream = dynamo.AtTimestamp, rng.from
		dc.ShardFilter = scope
		if inner, err = dynamo.New(dc, awsCfg); err != nil {
			return err
		}
	case "kcl":
		schema = replaySchemaVMware
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
		// Replay workers usually start together; vmware-go-kcl-v2 lets all
		// but one of them die on the CreateTable race, so the table is made
		// here.
		if err := replayEnsureTable(ctx, ddb, *app, "ShardID"); err != nil {
			return err
		}
	}

	sc := sink.DefaultOpenSearchConfig()
	sc.URLs = strings.Split(*osURL, ",")
	sc.Username, sc.Password, sc.MaxBulkBytes = *osUser, *osPass, *bulkBytes
	sc.KeepReadOnlyIndices, sc.Logger = *keepRO, log.With().Str("component", "sink").Logger()
	sc.OnReadOnlyRedirect = o.m.ReadOnlyRedirect
	osSink, err := sink.NewOpenSearch(sc)
	if err != nil {
		return err
	}
	o.h.Check("opensearch", checkOpenSearch(osSink.Client()))
	// Same as the consumer: templates before the first document (suffixed
	// indices still match the log-<type>-* patterns).
	if err := tf.InstallAtStart(ctx, log, osSink.Client(), reg, *dlIndex); err != nil {
		return err
	}
	var out sink.Sink = osSink
	if *suffix != "" {
		if out, err = sink.NewSuffix(osSink, *suffix); err != nil {
			return err
		}
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

	tr := &replayTracker{
		rng: rng, scope: scope, stream: *stream, table: *app, schema: schema,
		kinesis: kc, dynamo: ddb, log: log, probeEvery: *probe,
		shards: map[string]*replayShard{},
	}
	for _, id := range scope {
		tr.shards[id] = &replayShard{id: id}
	}
	coord := &replayCoordinator{inner: inner, tr: tr}
	counts := obs.NewRegistry()
	o.counts(counts)
	o.m.RegisterPipeline(chain.Stats)
	cc := consumer.DefaultConfig()
	cc.Observer = o.m.Consumer(o.h)
	cc.BatchEvents, cc.DeadLetterIndex, cc.ProgressEvery = *batch, *dlIndex, -1
	c, err := consumer.New(cc, coord, chain.Chain, o.m.Sink(out), counts, log)
	if err != nil {
		return err
	}
	go chain.Run(ctx)
	log.Info().Str("stream", *stream).Time("from", rng.from).Time("to", rng.to).Strs("shards", scope).
		Str("index_suffix", *suffix).Str("resume_with", fmt.Sprintf("--from %s --to %s --app-name %s", rng.from.Format(time.RFC3339Nano), rng.to.Format(time.RFC3339Nano), *app)).
		Msg("replay starting")
	go tr.logProgress(ctx, *progress, counts)
	if err := c.Run(ctx); err != nil {
		return err
	}
	done, total := tr.doneCount()
	t := counts.Total()
	ev := log.Info()
	if done < total {
		ev = log.Warn()
	}
	ev.Int("shards_done", done).Int("shards", total).Int64("events", t.Events).Int64("delivered", t.Delivered).
		Int64("overwritten", t.Overwritten).Int64("excluded", t.Excluded).Int64("failed", t.Failed).Int64("rejected", t.Rejected).
		Dur("elapsed", time.Since(started)).Msg("replay stopped")
	if done < total {
		return fmt.Errorf("replay interrupted with %d of %d shards finished: run again with --from %s --to %s --app-name %s to resume",
			done, total, rng.from.Format(time.RFC3339Nano), rng.to.Format(time.RFC3339Nano), *app)
	}
	return nil
}

// ---- time range ----

type replayRange struct{ from, to time.Time }

// parseReplayRange resolves --from and --to against now.
func parseReplayRange(from, to string, now time.Time) (replayRange, error) {
	var r replayRange
	if from == "" {
		return r, errors.New("--from is required")
	}
	var err error
	if r.from, err = parseReplayTime(from, now); err != nil {
		return r, fmt.Errorf("--from: %w", err)
	}
	r.to = now
	if to != "" {
		if r.to, err = parseReplayTime(to, now); err != nil {
			return r, fmt.Errorf("--to: %w", err)
		}
	}
	if r.from.After(now) {
		return r, fmt.Errorf("--from %s is in the future", r.from.Format(time.RFC3339))
	}
	if !r.from.Before(r.to) {
		return r, fmt.Errorf("--from %s is not before --to %s", r.from.Format(time.RFC3339Nano), r.to.Format(time.RFC3339Nano))
	}
	return r, nil
}

// parseReplayTime accepts RFC 3339, 2006-01-02T15:04[:05] and 2006-01-02
// (UTC), unix seconds, "now", and a duration meaning that long ago ("1h",
// "-1h", "90m").
func parseReplayTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, fmt.Errorf("%q: negative unix time", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339, 2006-01-02T15:04, unix seconds or a duration ago (1h)", s)
}

// replayAppName is the default application name of a replay from a time.
func replayAppName(live string, from time.Time) string {
	return live + "-replay-" + from.UTC().Format("20060102T150405Z")
}

// ---- shards ----

func replayListShards(ctx context.Context, kc *kinesis.Client, stream string) ([]ktypes.Shard, error) {
	var shards []ktypes.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := kc.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// replayScope returns the shard ids to replay: all, or those named in spec
// ("shardId-000000000003" or "3"), which must exist.
func replayScope(all []ktypes.Shard, spec string) ([]string, error) {
	var ids []string
	for _, s := range all {
		ids = append(ids, aws.ToString(s.ShardId))
	}
	if strings.TrimSpace(spec) == "" {
		return ids, nil
	}
	var out []string
	for _, p := range strings.Split(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil && n >= 0 {
			p = fmt.Sprintf("shardId-%012d", n)
		}
		if !slices.Contains(ids, p) {
			return nil, fmt.Errorf("--shards: %s is not a shard of the stream (have %s)", p, strings.Join(ids, ","))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--shards: no shard named")
	}
	slices.Sort(out)
	return out, nil
}

// replayEnsureTable creates the replay's lease table (hash key key, on
// demand) unless it exists, and waits until it is active.
func replayEnsureTable(ctx context.Context, ddb *dynamodb.Client, table, key string) error {
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		AttributeDefinitions: []dtypes.AttributeDefinition{{AttributeName: &key, AttributeType: dtypes.ScalarAttributeTypeS}},
		KeySchema:            []dtypes.KeySchemaElement{{AttributeName: &key, KeyType: dtypes.KeyTypeHash}},
		BillingMode:          dtypes.BillingModePayPerRequest,
	})
	var inUse *dtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create lease table %s: %w", table, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
		if err == nil && out.Table.TableStatus == dtypes.TableStatusActive {
			if k := out.Table.KeySchema; len(k) != 1 || aws.ToString(k[0].AttributeName) != key {
				return fmt.Errorf("lease table %s exists with another key schema (want hash key %s): not a replay table of this coordinator", table, key)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lease table %s not active: %v", table, err)
		}
		if !backoff.Sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// ---- coordinator and processor wrappers ----

// replayCoordinator runs the inner coordinator with processors that stop at
// --to, and stops it once every shard in scope is finished.
type replayCoordinator struct {
	inner lease.Coordinator
	tr    *replayTracker
}

func (c *replayCoordinator) Run(ctx context.Context, factory lease.ProcessorFactory) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		c.tr.watch(runCtx, cancel)
	}()
	err := c.inner.Run(runCtx, func() lease.Processor { return &replayProcessor{inner: factory(), tr: c.tr} })
	cancel()
	<-probeDone
	return err
}

// replayProcessor hands the inner processor only the records of the range.
type replayProcessor struct {
	inner lease.Processor
	tr    *replayTracker
	shard *replayShard
	id    string
}

func (p *replayProcessor) Initialize(ctx context.Context, shardID string) {
	p.id = shardID
	p.shard = p.tr.shard(shardID)
	p.inner.Initialize(ctx, shardID)
}

func (p *replayProcessor) ProcessRecords(ctx context.Context, records []lease.Record, cp lease.Checkpointer, millisBehind int64) {
	if p.shard == nil || p.shard.isDone() || len(records) == 0 {
		// Out of scope or finished: read past without loading or moving
		// the checkpoint.
		return
	}
	// [0,i) arrived before --from, [i,k) are in range, [k,n) after --to.
	i := 0
	for i < len(records) && records[i].ArrivalTime.Before(p.tr.rng.from) {
		i++
	}
	k := i
	for k < len(records) && !records[k].ArrivalTime.After(p.tr.rng.to) {
		k++
	}
	if i == len(records) {
		// Only records before --from: move the replay's checkpoint past
		// them so a restart does not scan them again.
		for j := i - 1; j >= 0; j-- {
			if records[j].LastInAggregate {
				if err := cp.Checkpoint(ctx, &records[j]); err != nil {
					p.tr.log.Debug().Err(err).Str("shard", p.id).Msg("checkpoint past records before --from failed")
				}
				break
			}
		}
		return
	}
	past := k < len(records)
	acked := i == k
	if k > i {
		w := &replayCheckpointer{next: cp, last: &records[k-1]}
		p.inner.ProcessRecords(ctx, records[i:k], w, millisBehind)
		acked = w.reached
		var bytes int64
		for j := range records[i:k] {
			bytes += int64(len(records[i+j].Data))
		}
		p.shard.progress(int64(k-i), bytes, records[k-1].ArrivalTime)
	}
	if past && acked {
		p.tr.finish(p.shard, "passed --to")
	}
}

func (p *replayProcessor) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	p.inner.Shutdown(ctx, reason, cp)
	if reason == lease.ShardEnd && p.shard != nil {
		p.tr.finish(p.shard, "shard end")
	}
}

// replayCheckpointer passes checkpoints through and notes whether the last
// record of the batch was checkpointed (so the batch is durable).
type replayCheckpointer struct {
	next    lease.Checkpointer
	last    *lease.Record
	reached bool
}

func (c *replayCheckpointer) Checkpoint(ctx context.Context, rec *lease.Record) error {
	err := c.next.Checkpoint(ctx, rec)
	if err == nil && rec.SequenceNumber == c.last.SequenceNumber && rec.SubSequence == c.last.SubSequence {
		c.reached = true
	}
	return err
}

func (c *replayCheckpointer) CheckpointShardEnd(ctx context.Context) error {
	return c.next.CheckpointShardEnd(ctx)
}

// ---- progress and completion ----

// Lease-table schemas the completion probe reads.
const (
	replaySchemaJava   = "java"   // leaseKey / checkpoint / checkpointSubSequenceNumber (dynamo)
	replaySchemaVMware = "vmware" // ShardID / Checkpoint (kcl)
)

type replayShard struct {
	id string

	mu       sync.Mutex
	done     bool
	why      string
	records  int64
	bytes    int64
	reached  time.Time // arrival time of the last record loaded here
	first    time.Time // when this process loaded its first record of the shard
	lastSeen time.Time // when this process last got records for the shard
}

func (s *replayShard) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *replayShard) progress(records, bytes int64, reached time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.first.IsZero() {
		s.first = now
	}
	s.records += records
	s.bytes += bytes
	s.reached = reached
	s.lastSeen = now
}

type replayTracker struct {
	rng        replayRange
	scope      []string
	stream     string
	table      string
	schema     string
	kinesis    *kinesis.Client
	dynamo     *dynamodb.Client
	log        zerolog.Logger
	probeEvery time.Duration

	mu     sync.Mutex
	shards map[string]*replayShard
	cancel context.CancelFunc
}

// shard returns the state of an in-scope shard, or nil. Shards created by a
// reshard after the replay started are out of scope: their records arrived
// after the start.
func (t *replayTracker) shard(id string) *replayShard {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.shards[id]
}

func (t *replayTracker) finish(s *replayShard, why string) {
	s.mu.Lock()
	was := s.done
	s.done, s.why = true, why
	records, reached := s.records, s.reached
	s.mu.Unlock()
	if was {
		return
	}
	ev := t.log.Info().Str("shard", s.id).Str("why", why).Int64("records", records)
	if !reached.IsZero() {
		ev = ev.Time("reached", reached)
	}
	ev.Msg("replay shard finished")
	if d, n := t.doneCount(); d == n {
		t.mu.Lock()
		cancel := t.cancel
		t.mu.Unlock()
		if cancel != nil {
			t.log.Info().Int("shards", n).Msg("every shard of the range is loaded; stopping")
			cancel()
		}
	}
}

func (t *replayTracker) doneCount() (done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.shards {
		if s.isDone() {
			done++
		}
	}
	return done, len(t.shards)
}

// watch probes unfinished shards until all are finished (then it calls
// stop) or ctx ends.
func (t *replayTracker) watch(ctx context.Context, stop context.CancelFunc) {
	t.mu.Lock()
	t.cancel = stop
	t.mu.Unlock()
	if d, n := t.doneCount(); d == n {
		stop()
		return
	}
	tick := time.NewTicker(t.probeEvery)
	defer tick.Stop()
	for {
		for _, id := range t.scope {
			s := t.shard(id)
			s.mu.Lock()
			skip := s.done || time.Since(s.lastSeen) < 2*t.probeEvery
			s.mu.Unlock()
			if skip {
				continue // finished, or records are flowing here anyway
			}
			ok, why, err := t.probe(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				t.log.Debug().Err(err).Str("shard", id).Msg("replay probe failed; will retry")
				continue
			}
			if ok {
				t.finish(s, why)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probe reports whether everything of shard id up to --to is checkpointed
// in the replay's lease table.
func (t *replayTracker) probe(ctx context.Context, id string) (bool, string, error) {
	cp, sub, err := t.checkpoint(ctx, id)
	if err != nil {
		return false, "", err
	}
	in := &kinesis.GetShardIteratorInput{StreamName: &t.stream, ShardId: &id}
	switch {
	case cp == "SHARD_END":
		return true, "checkpoint SHARD_END", nil
	case cp == "" || cp == "TRIM_HORIZON" || cp == "LATEST" || cp == "AT_TIMESTAMP":
		in.ShardIteratorType, in.Timestamp = ktypes.ShardIteratorTypeAtTimestamp, aws.Time(t.rng.from)
	case sub >= 0:
		// (seq, sub): user records 0..sub of aggregate seq are done; read
		// the aggregate itself to see whether that is all of it.
		in.ShardIteratorType, in.StartingSequenceNumber = ktypes.ShardIteratorTypeAtSequenceNumber, aws.String(cp)
	default:
		in.ShardIteratorType, in.StartingSequenceNumber = ktypes.ShardIteratorTypeAfterSequenceNumber, aws.String(cp)
	}
	it, err := t.kinesis.GetShardIterator(ctx, in)
	if err != nil {
		return false, "", fmt.Errorf("shard iterator %s: %w", id, err)
	}
	iter := it.ShardIterator
	partial := in.ShardIteratorType == ktypes.ShardIteratorTypeAtSequenceNumber
	for range 20 {
		if iter == nil {
			return true, "closed shard read to its end", nil
		}
		out, err := t.kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1)})
		if err != nil {
			return false, "", fmt.Errorf("get records %s: %w", id, err)
		}
		iter = out.NextShardIterator
		if len(out.Records) > 0 {
			r := out.Records[0]
			if r.ApproximateArrivalTimestamp != nil && r.ApproximateArrivalTimestamp.After(t.rng.to) {
				return true, "nothing left before --to", nil
			}
			if partial && aws.ToString(r.SequenceNumber) == cp {
				partial = false
				users, _, err := wire.AppendUserRecords(nil, r.Data)
				if err != nil || int64(len(users)) <= sub+1 {
					continue // the checkpointed aggregate is complete
				}
			}
			return false, "", nil // records of the range still to load
		}
		partial = false
		if aws.ToInt64(out.MillisBehindLatest) == 0 && out.NextShardIterator != nil {
			if time.Now().After(t.rng.to) {
				return true, "tip reached", nil
			}
			return false, "", nil // --to is still ahead: more may come
		}
	}
	return false, "", nil
}

// checkpoint reads the shard's checkpoint and sub-sequence number (-1 when
// the schema has none) from the replay's lease table ("" when there is no
// row or table yet).
func (t *replayTracker) checkpoint(ctx context.Context, id string) (string, int64, error) {
	key, attr, subAttr := "leaseKey", "checkpoint", "checkpointSubSequenceNumber"
	if t.schema == replaySchemaVMware {
		key, attr, subAttr = "ShardID", "Checkpoint", ""
	}
	out, err := t.dynamo.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &t.table, ConsistentRead: aws.Bool(true),
		Key: map[string]dtypes.AttributeValue{key: &dtypes.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		var nf *dtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", -1, nil
		}
		return "", -1, fmt.Errorf("lease %s/%s: %w", t.table, id, err)
	}
	cp := ""
	if v, ok := out.Item[attr].(*dtypes.AttributeValueMemberS); ok {
		cp = v.Value
	}
	sub := int64(-1)
	if v, ok := out.Item[subAttr].(*dtypes.AttributeValueMemberN); ok && subAttr != "" {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			sub = n
		}
	}
	return cp, sub, nil
}

// logProgress logs each shard loaded here: records, bytes, the arrival time
// reached and an ETA from the pace so far.
func (t *replayTracker) logProgress(ctx context.Context, every time.Duration, counts *obs.Registry) {
	if every <= 0 {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, id := range t.scope {
			s := t.shard(id)
			s.mu.Lock()
			done, records, bytes, reached, first := s.done, s.records, s.bytes, s.reached, s.first
			s.mu.Unlock()
			if records == 0 || done {
				continue // not loaded here, or logged once when finished
			}
			ev := t.log.Info().Str("shard", id).Bool("done", done).Int64("records", records).Int64("bytes", bytes)
			if !reached.IsZero() {
				ev = ev.Time("reached", reached)
				if eta, ok := replayETA(t.rng, reached, time.Since(first)); ok && !done {
					ev = ev.Dur("eta", eta.Round(time.Second))
				}
			}
			ev.Msg("replay progress")
		}
		tot := counts.Total()
		d, n := t.doneCount()
		t.log.Info().Int("shards_done", d).Int("shards", n).Int64("events", tot.Events).Int64("delivered", tot.Delivered).
			Int64("overwritten", tot.Overwritten).Int64("failed", tot.Failed).Msg("replay totals")
	}
}

// replayETA extrapolates the time left from the stream time covered so far.
func replayETA(r replayRange, reached time.Time, elapsed time.Duration) (time.Duration, bool) {
	covered := reached.Sub(r.from)
	if covered <= 0 || elapsed <= 0 {
		return 0, false
	}
	left := r.to.Sub(reached)
	if left <= 0 {
		return 0, true
	}
	return time.Duration(float64(elapsed) * float64(left) / float64(covered)), true
}

// Compile-time checks.
var (
	_ lease.Coordinator  = (*replayCoordinator)(nil)
	_ lease.Processor    = (*replayProcessor)(nil)
	_ lease.Checkpointer = (*replayCheckpointer)(nil)
)
