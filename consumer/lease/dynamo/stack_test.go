package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/wire"
)

// stack is the local stack as these tests use it: moto for DynamoDB,
// kinesalite (or kinesis-mock) for Kinesis.
type stack struct {
	awsCfg aws.Config
	kin    *kinesis.Client
	db     *dynamodb.Client
}

// needStack connects to the local stack, or skips the test.
func needStack(t *testing.T) *stack {
	t.Helper()
	e := e2e.AWSOrSkip(t)
	return &stack{awsCfg: e.AWS, kin: e.Kinesis, db: e.DynamoDB}
}

func kinesisClient(cfg aws.Config, ep string) *kinesis.Client {
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}

// uniq makes a name valid for Kinesis, DynamoDB and moto, unique per run.
func uniq(prefix string) string { return e2e.NewName("dyn-" + prefix) }

// createStream makes a stream, waits for ACTIVE and deletes it (and the
// lease table named like it) at the end.
func (s *stack) createStream(t *testing.T, prefix string, shards int) string {
	t.Helper()
	name := uniq(prefix)
	t.Cleanup(func() { s.dropTable(name) })
	e2e.TestStream(t, s.kin, name, shards)
	return name
}

func (s *stack) waitActive(t *testing.T, stream string) { e2e.WaitActive(t, s.kin, stream) }

func (s *stack) dropTable(name string) {
	_, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
}

// openShards returns the open shards with their starting hash keys.
func (s *stack) openShards(t *testing.T, stream string) []ktypes.Shard {
	t.Helper()
	o, err := s.kin.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	var out []ktypes.Shard
	for _, sh := range o.Shards {
		if sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber == nil {
			out = append(out, sh)
		}
	}
	return out
}

// entry is one Kinesis record to put: plain (one user record) or a KPL
// aggregate of several.
// timestampAfter returns a time just after the newest arrival of the
// shards' records so far, once the clock has passed it (kinesalite dates
// the first records of a new stream at the shards' creation second, which
// can be ahead of the clock): records put from now on arrive after it.
func (s *stack) timestampAfter(t *testing.T, stream string, shards []ktypes.Shard) time.Time {
	t.Helper()
	var maxA time.Time
	for _, sh := range shards {
		it, err := s.kin.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.kin.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range o.Records {
			if a := aws.ToTime(r.ApproximateArrivalTimestamp); a.After(maxA) {
				maxA = a
			}
		}
	}
	ts := maxA.Add(time.Millisecond)
	waitFor(t, "clock past the records so far", 5*time.Second, func() bool { return time.Now().After(ts.Add(5 * time.Millisecond)) })
	return ts
}

type entry struct {
	ehk  string // explicit hash key; "" = hash of pk
	pk   string
	recs []string
	agg  bool
}

// put writes entries in order (one PutRecords per 100) and returns the
// shard each went to.
func (s *stack) put(t *testing.T, stream string, es []entry) []string {
	t.Helper()
	var shards []string
	for len(es) > 0 {
		n := min(len(es), 100)
		in := &kinesis.PutRecordsInput{StreamName: &stream}
		for _, e := range es[:n] {
			var data []byte
			if e.agg {
				recs := make([][]byte, len(e.recs))
				for i, r := range e.recs {
					recs[i] = []byte(r)
				}
				data = wire.AppendAggregate(nil, e.pk, e.ehk, recs)
			} else {
				data = []byte(e.recs[0])
			}
			re := ktypes.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(e.pk)}
			if e.ehk != "" {
				re.ExplicitHashKey = aws.String(e.ehk)
			}
			in.Records = append(in.Records, re)
		}
		o, err := s.kin.PutRecords(t.Context(), in)
		if err != nil {
			t.Fatalf("put records: %v", err)
		}
		if aws.ToInt32(o.FailedRecordCount) != 0 {
			t.Fatalf("put records: %d failed", aws.ToInt32(o.FailedRecordCount))
		}
		for _, r := range o.Records {
			shards = append(shards, aws.ToString(r.ShardId))
		}
		es = es[n:]
	}
	return shards
}

// testConfig is a fast configuration for the local stack.
func testConfig(t *testing.T, stream, worker string) Config {
	c := DefaultConfig()
	c.ApplicationName, c.StreamName, c.WorkerIdentifier = stream, stream, worker
	c.FailoverTimeMillis = 3000
	c.LeaseTakerIntervalMillis = 500
	c.IdleTimeBetweenReadsInMillis = 100
	c.ShardSyncIntervalMillis = 1000
	c.ParentShardPollIntervalMillis = 200
	c.TaskBackoffTimeMillis = 50
	c.ShutdownGraceMillis = 5000
	c.MaxRecords = 100
	c.Logger = testLogger(t)
	return c
}

// testLogger writes to the test log until the test ends (coordinators
// stopped in Cleanup may still log).
func testLogger(t *testing.T) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano // once per test binary; tests only
	w := &gatedWriter{w: zerolog.NewTestWriter(t)}
	t.Cleanup(func() { w.mu.Lock(); w.closed = true; w.mu.Unlock() })
	lvl := zerolog.InfoLevel
	if os.Getenv("DYNAMO_TEST_DEBUG") != "" {
		lvl = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: "15:04:05.000"}).Level(lvl).With().Timestamp().Logger()
}

type gatedWriter struct {
	mu     sync.Mutex
	closed bool
	w      zerolog.TestWriter
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

// worker is one running Coordinator.
type worker struct {
	c      *Coordinator
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (s *stack) start(t *testing.T, cfg Config, h hooks, factory lease.ProcessorFactory) *worker {
	return s.startWith(t, cfg, h, factory, s.kin)
}

func (s *stack) startWith(t *testing.T, cfg Config, h hooks, factory lease.ProcessorFactory, kin KinesisAPI) *worker {
	t.Helper()
	return s.startClients(t, cfg, h, factory, kin, s.db)
}

func (s *stack) startClients(t *testing.T, cfg Config, h hooks, factory lease.ProcessorFactory, kin KinesisAPI, db DynamoDBAPI) *worker {
	t.Helper()
	c, err := NewWithClients(cfg, kin, db)
	if err != nil {
		t.Fatal(err)
	}
	c.hooks = h
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- c.Run(ctx, factory) }()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels Run and waits for it (idempotent).
func (w *worker) stop(t *testing.T) {
	w.once.Do(func() {
		w.cancel()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("worker %s: Run: %v", w.c.id, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("worker %s: Run did not return", w.c.id)
		}
	})
}

// sink records what processors did, for all workers of a test.
type sink struct {
	mu        sync.Mutex
	count     map[string]int          // user record data -> deliveries
	order     map[string][]string     // shard -> data in delivery order
	events    []string                // "worker shard event"
	firstRec  map[string]time.Time    // shard -> first ProcessRecords
	inits     map[string]time.Time    // shard -> first Initialize
	ended     map[string]time.Time    // shard -> SHARD_END checkpointed
	reasons   map[string][]string     // shard -> shutdown reasons
	cpErrs    []error                 // checkpoint errors
	lastCP    map[string]lease.Record // shard -> last successful checkpoint
	log       []string                // every delivery, in order
	lastRec   map[string]lease.Record // shard -> last record delivered
	delivered atomic.Int64
}

func newSink() *sink {
	return &sink{count: map[string]int{}, order: map[string][]string{}, firstRec: map[string]time.Time{},
		inits: map[string]time.Time{}, ended: map[string]time.Time{}, reasons: map[string][]string{}, lastCP: map[string]lease.Record{},
		lastRec: map[string]lease.Record{}}
}

// proc is a test Processor: it "delivers" records into the sink, then
// checkpoints the last one. before, when set, runs first and may take over
// the batch (return true).
type proc struct {
	s      *sink
	worker string
	shard  string
	before func(ctx context.Context, p *proc, recs []lease.Record, cp lease.Checkpointer) bool
}

func (s *sink) factory(worker string, before func(context.Context, *proc, []lease.Record, lease.Checkpointer) bool) lease.ProcessorFactory {
	return func() lease.Processor { return &proc{s: s, worker: worker, before: before} }
}

func (p *proc) Initialize(_ context.Context, shard string) {
	p.shard = shard
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if _, ok := p.s.inits[shard]; !ok {
		p.s.inits[shard] = time.Now()
	}
	p.s.events = append(p.s.events, p.worker+" "+shard+" init")
}

func (p *proc) ProcessRecords(ctx context.Context, recs []lease.Record, cp lease.Checkpointer, _ int64) {
	if p.before != nil && p.before(ctx, p, recs, cp) {
		return
	}
	p.deliver(recs)
	p.checkpoint(ctx, cp, &recs[len(recs)-1])
}

func (p *proc) deliver(recs []lease.Record) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if _, ok := p.s.firstRec[p.shard]; !ok {
		p.s.firstRec[p.shard] = time.Now()
	}
	for _, r := range recs {
		p.s.count[string(r.Data)]++
		p.s.order[p.shard] = append(p.s.order[p.shard], string(r.Data))
		p.s.log = append(p.s.log, string(r.Data))
		p.s.lastRec[p.shard] = r
	}
	p.s.delivered.Add(int64(len(recs)))
}

func (p *proc) checkpoint(ctx context.Context, cp lease.Checkpointer, r *lease.Record) error {
	err := cp.Checkpoint(ctx, r)
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if err != nil {
		p.s.cpErrs = append(p.s.cpErrs, fmt.Errorf("%s %s: %w", p.worker, p.shard, err))
	} else {
		p.s.lastCP[p.shard] = *r
	}
	return err
}

func (p *proc) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	var err error
	if reason == lease.ShardEnd {
		err = cp.CheckpointShardEnd(ctx)
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.s.reasons[p.shard] = append(p.s.reasons[p.shard], reason.String())
	p.s.events = append(p.s.events, p.worker+" "+p.shard+" shutdown "+reason.String())
	if reason == lease.ShardEnd {
		if err != nil {
			p.s.cpErrs = append(p.s.cpErrs, fmt.Errorf("%s %s SHARD_END: %w", p.worker, p.shard, err))
		} else {
			p.s.ended[p.shard] = time.Now()
		}
	}
}

// check compares deliveries with the expected records: every one at least
// once, nothing unexpected; it returns the number of duplicates.
func (s *sink) check(t *testing.T, want []string) (dups int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	wantSet := map[string]bool{}
	var missing []string
	for _, w := range want {
		wantSet[w] = true
		switch n := s.count[w]; {
		case n == 0:
			missing = append(missing, w)
		case n > 1:
			dups += n - 1
		}
	}
	for d := range s.count {
		if !wantSet[d] {
			t.Errorf("unexpected record %q delivered", d)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d records never delivered, e.g. %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
	return dups
}

// has reports whether every record in want was delivered.
func (s *sink) has(want []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range want {
		if s.count[w] == 0 {
			return false
		}
	}
	return true
}

// waitFor wraps e2e.WaitFor with a fatal failure.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	if err := e2e.WaitFor(t.Context(), timeout, func() (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return time.Since(start)
}

// leases reads the test's lease table keyed by shard.
func (s *stack) leases(t *testing.T, table string) map[string]Lease {
	t.Helper()
	ls, err := ScanLeases(t.Context(), s.db, table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Lease{}
	for _, l := range ls {
		out[l.Key] = l
	}
	return out
}

// heldCounts returns how many leases each worker holds.
func heldCounts(ws ...*worker) []int {
	out := make([]int, len(ws))
	for i, w := range ws {
		out[i] = len(w.c.Status().Held)
	}
	return out
}

// ownedByOneEach reports whether the union of held sets is exactly want,
// each shard held once.
func ownedByOneEach(want []string, ws ...*worker) bool {
	var all []string
	for _, w := range ws {
		all = append(all, w.c.Status().HeldShards()...)
	}
	slices.Sort(all)
	return slices.Equal(all, want)
}

func isLeaseLost(err error) bool { return errors.Is(err, ErrLeaseLost) }

func shardIDs(shards []ktypes.Shard) []string {
	out := make([]string, len(shards))
	for i, sh := range shards {
		out[i] = aws.ToString(sh.ShardId)
	}
	slices.Sort(out)
	return out
}
