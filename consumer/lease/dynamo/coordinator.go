package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/backoff"
)

// KinesisAPI is the part of the Kinesis client the coordinator uses.
type KinesisAPI interface {
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Coordinator is a lease.Coordinator on a Java-KCL-compatible lease table.
type Coordinator struct {
	cfg    Config
	id     string
	kin    KinesisAPI
	table  *leaseTable
	log    zerolog.Logger
	filter map[string]bool
	epoch  time.Time // origin of the monotonic clock (mono)
	hooks  hooks

	started atomic.Bool
	// Set by Run before any goroutine starts.
	factory lease.ProcessorFactory
	stop    context.Context // Run's ctx: done = stop taking, drain
	hard    context.Context // processors' parent: cancelled after the grace
	bg      context.Context // lease-table writes until Run returns

	mu       sync.Mutex
	held     map[string]*tenure
	endedSig chan struct{} // closed and replaced when this worker writes a SHARD_END

	shardWG   sync.WaitGroup
	kickTaker chan struct{}
	kickSync  chan struct{}
	nextID    atomic.Uint64
	rng       *mrand.Rand // taker goroutine only

	seen map[string]seenLease // taker goroutine only

	takes, steals, losses, evictions, passes atomic.Int64
}

// hooks are test injection points.
type hooks struct {
	// leaseWrite runs before each renew ("renew") and take ("take"); an
	// error skips the write, as if DynamoDB were unreachable.
	leaseWrite func(ctx context.Context, op, shardID string) error
	// noLocalFence makes Checkpoint skip the in-memory tenure and expiry
	// checks, so tests can show the DynamoDB condition alone fences it.
	noLocalFence bool
}

// seenLease is the taker's memory of a lease: when its counter was last
// seen to change, on this worker's monotonic clock.
type seenLease struct {
	counter int64
	owner   string
	at      time.Duration
}

// New checks cfg and builds the Kinesis and DynamoDB clients from awsCfg
// (endpoints from cfg, else internal/awsconf). Nothing starts until Run.
func New(cfg Config, awsCfg aws.Config) (*Coordinator, error) {
	kin := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if ep := endpoint(cfg.KinesisEndpoint, "KINESIS"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if ep := endpoint(cfg.DynamoDBEndpoint, "DYNAMODB"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return NewWithClients(cfg, kin, db)
}

func endpoint(explicit, service string) string {
	if explicit != "" {
		return explicit
	}
	return awsconf.Endpoint(service)
}

// NewWithClients is New with caller-made clients (tests wrap them to inject
// faults).
func NewWithClients(cfg Config, kin KinesisAPI, db DynamoDBAPI) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dynamo coordinator config: %w", err)
	}
	id := cfg.WorkerIdentifier
	if id == "" {
		id = defaultWorkerID()
	}
	c := &Coordinator{
		cfg: cfg, id: id, kin: kin, table: &leaseTable{db: db, name: cfg.tableName()},
		log:   cfg.Logger.With().Str("worker", id).Str("lease_table", cfg.tableName()).Logger(),
		epoch: time.Now(), held: map[string]*tenure{}, endedSig: make(chan struct{}),
		kickTaker: make(chan struct{}, 1), kickSync: make(chan struct{}, 1),
		seen: map[string]seenLease{}, rng: mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())),
	}
	if len(cfg.ShardFilter) > 0 {
		c.filter = map[string]bool{}
		for _, s := range cfg.ShardFilter {
			c.filter[s] = true
		}
	}
	return c, nil
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// WorkerID is this worker's leaseOwner value.
func (c *Coordinator) WorkerID() string { return c.id }

// TableName is the lease table's name.
func (c *Coordinator) TableName() string { return c.table.name }

func (c *Coordinator) mono() time.Duration { return time.Since(c.epoch) }

func (c *Coordinator) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run creates the lease table if needed, syncs shards, then renews, takes
// and balances leases and runs one Processor per held shard until ctx is
// cancelled. Then it stops taking, lets in-flight ProcessRecords finish
// (bounded by ShutdownGraceMillis), calls Shutdown(Requested) so processors
// can checkpoint, and evicts its leases so peers take them at their next
// taker pass. It returns an error only if it cannot start.
func (c *Coordinator) Run(ctx context.Context, factory lease.ProcessorFactory) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("dynamo coordinator: Run called twice")
	}
	base := context.WithoutCancel(ctx)
	bg, cancelBG := context.WithCancel(base)
	defer cancelBG()
	hard, cancelHard := context.WithCancel(base)
	defer cancelHard()
	c.factory, c.stop, c.hard, c.bg = factory, ctx, hard, bg

	if err := c.start(ctx); err != nil {
		return err
	}
	c.log.Info().Str("stream", c.cfg.StreamName).Dur("failover", c.cfg.failover()).
		Dur("renew_interval", c.cfg.renewInterval()).Dur("taker_interval", c.cfg.takerInterval()).Msg("lease coordinator started")

	renewCtx, stopRenew := context.WithCancel(bg)
	var renewWG, loops sync.WaitGroup
	renewWG.Go(func() { c.renewLoop(renewCtx) })
	loops.Go(func() { c.takerLoop(ctx) })
	loops.Go(func() { c.syncLoop(ctx) })
	loops.Go(func() { c.statusLoop(ctx) })
	<-ctx.Done()
	loops.Wait() // no more takes: shardWG gets no new members

	grace := ms(c.cfg.ShutdownGraceMillis)
	c.log.Info().Int("held", len(c.heldTenures())).Dur("grace", grace).Msg("lease coordinator stopping")
	timer := time.AfterFunc(grace, cancelHard)
	defer timer.Stop()
	drained := make(chan struct{})
	go func() { c.shardWG.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(grace + c.cfg.renewInterval()):
		// A processor ignores its cancelled context. Its lease is evicted
		// below, which also fences any checkpoint it might still attempt.
		for _, t := range c.heldTenures() {
			if t.processing.Load() {
				c.log.Error().Str("shard", t.key).Msg("processor did not return after the shutdown grace; releasing its lease anyway")
			}
		}
	}
	stopRenew()
	renewWG.Wait()
	c.evictAll(bg)
	c.log.Info().Msg("lease coordinator stopped")
	return nil
}

// start makes sure the table exists and runs the first shard sync,
// retrying transient errors until ctx ends.
func (c *Coordinator) start(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := c.table.ensure(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // cancelled before start: nothing held
		}
		if attempt >= 4 || errors.Is(err, ErrNotLeaseTable) {
			return err
		}
		c.log.Warn().Err(err).Msg("lease table not ready; retrying")
		if !backoff.Sleep(ctx, c.backoff(attempt, false)) {
			return ctx.Err()
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.syncShards(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil // cancelled before start: nothing held, nothing to do
		}
		c.log.Warn().Err(err).Str("error_kind", syncErrorKind(err)).Msg("initial shard sync failed; retrying")
		if !backoff.Sleep(ctx, c.backoff(attempt, false)) {
			return nil
		}
	}
}

// heldTenures returns the current tenures, sorted by shard.
func (c *Coordinator) heldTenures() []*tenure {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*tenure, 0, len(c.held))
	for _, t := range c.held {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tenure) int { return compareShardIDs(a.key, b.key) })
	return out
}

func compareShardIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// holds reports whether t is the current tenure of its lease.
func (c *Coordinator) holds(t *tenure) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[t.key] == t
}

// endedSignal returns a channel closed at the next SHARD_END this worker
// writes.
func (c *Coordinator) endedSignal() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endedSig
}

func (c *Coordinator) signalEnded() {
	c.mu.Lock()
	close(c.endedSig)
	c.endedSig = make(chan struct{})
	c.mu.Unlock()
}

// renewLoop renews every held lease each renew interval, each on its own
// goroutine so one slow write never delays another, and drops leases whose
// last successful renewal is older than failoverTime (peers may have taken
// them by now).
func (c *Coordinator) renewLoop(ctx context.Context) {
	renew := time.NewTicker(c.cfg.renewInterval())
	defer renew.Stop()
	check := time.NewTicker(max(c.cfg.renewInterval()/4, 20*time.Millisecond))
	defer check.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			for _, t := range c.heldTenures() {
				t.checkExpiry()
			}
		case <-renew.C:
			for _, t := range c.heldTenures() {
				if t.checkExpiry() || !t.renewing.CompareAndSwap(false, true) {
					continue
				}
				wg.Go(func() {
					defer t.renewing.Store(false)
					t.renew(ctx)
				})
			}
		}
	}
}

// takerLoop runs a taker pass at once and then every taker interval,
// measured from the start of the previous pass (or at once when shard sync
// created leases).
func (c *Coordinator) takerLoop(ctx context.Context) {
	interval := c.cfg.takerInterval()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for waitOrKick(ctx, timer, c.kickTaker) {
		start := time.Now()
		if err := c.takerPass(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn().Err(err).Msg("lease taker pass failed")
		}
		timer.Reset(max(0, interval-time.Since(start)))
	}
}

// takerPass scans the table, updates the counter-age bookkeeping, notices
// leases stolen from this worker, and takes what planTakes says.
func (c *Coordinator) takerPass(ctx context.Context) error {
	defer c.passes.Add(1)
	leases, err := c.table.scan(ctx)
	if err != nil {
		return err
	}
	now := c.mono()
	seen := make(map[string]seenLease, len(leases))
	byKey := make(map[string]Lease, len(leases))
	views := make([]leaseView, 0, len(leases))
	c.mu.Lock()
	held := make(map[string]*tenure, len(c.held))
	for k, t := range c.held {
		held[k] = t
	}
	c.mu.Unlock()
	for _, l := range leases {
		old, ok := c.seen[l.Key]
		if !ok || old.counter != l.Counter || old.owner != l.Owner {
			old = seenLease{counter: l.Counter, owner: l.Owner, at: now}
		}
		seen[l.Key] = old
		if c.filter != nil && !c.filter[l.Key] {
			continue
		}
		if t := held[l.Key]; t != nil {
			if l.Owner != c.id {
				t.lose("taken by "+l.Owner, nil)
			} else {
				views = append(views, leaseView{Key: l.Key, Owner: c.id})
				continue
			}
		}
		if l.CheckpointOwner != "" {
			c.log.Warn().Str("shard", l.Key).Str("checkpoint_owner", l.CheckpointOwner).
				Msg("lease has a KCL 3.x checkpointOwner: do not share this table with a KCL 3.x fleet")
		}
		byKey[l.Key] = l
		views = append(views, leaseView{Key: l.Key, Owner: l.Owner, Expired: l.Owner == "" || now-old.at > c.cfg.failover()})
	}
	c.seen = seen
	plan := planTakes(c.id, views, c.cfg.MaxLeasesForWorker, c.cfg.MaxLeasesToStealAtOneTime, c.rng)
	for _, k := range plan.Take {
		if ctx.Err() != nil {
			return nil
		}
		l := byKey[k]
		start := c.mono()
		if h := c.hooks.leaseWrite; h != nil {
			if err := h(ctx, "take", k); err != nil {
				c.log.Debug().Err(err).Str("shard", k).Msg("take blocked by hook")
				continue
			}
		}
		got, err := c.table.take(ctx, l, c.id)
		if errors.Is(err, errConditionFailed) {
			// Mine anyway if an SDK retry hid my own landed attempt.
			cur, ok, gerr := c.table.get(ctx, k)
			if gerr != nil || !ok || cur.Owner != c.id || cur.Counter != l.Counter+1 {
				c.log.Debug().Str("shard", k).Msg("lease taken by someone else first")
				continue
			}
			got, err = cur, nil
		}
		if err != nil {
			return err
		}
		// Read back: DynamoDB's conditional writes are atomic, but moto's
		// are not under concurrent requests (two takes from the same counter
		// can both succeed). The row's last writer is the owner; a
		// double-winner left in spite of this check is resolved by the next
		// renewal (conditioned on leaseOwner too).
		if cur, ok, err := c.table.get(ctx, k); err == nil && (!ok || cur.Owner != c.id || cur.Counter != got.Counter) {
			c.log.Warn().Str("shard", k).Str("owner", cur.Owner).Int64("counter", cur.Counter).
				Msg("take overwritten by a concurrent take (the DynamoDB endpoint's conditional writes are not atomic); not starting")
			continue
		}
		ev := c.log.Info().Str("shard", k).Int64("counter", got.Counter).Str("checkpoint", got.Checkpoint).
			Int64("sub_sequence", got.SubSequence).Int("target", plan.Target).Int("workers", plan.Workers)
		if plan.Steal {
			c.steals.Add(1)
			ev.Str("from", plan.Victim).Msg("lease stolen")
		} else {
			c.takes.Add(1)
			if l.Owner != "" {
				ev = ev.Str("expired_owner", l.Owner)
			}
			ev.Msg("lease taken")
		}
		c.startTenure(got, start)
	}
	return nil
}

// waitOrKick waits for the timer or a kick; false when ctx is done. The
// caller Resets the timer after its work (since Go 1.23 a Reset needs no
// draining, so a kick before the timer fired leaves nothing stale).
func waitOrKick(ctx context.Context, t *time.Timer, kick <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-kick:
	}
	return true
}

// syncLoop runs shard sync every shardSyncInterval or when kicked.
func (c *Coordinator) syncLoop(ctx context.Context) {
	t := time.NewTimer(ms(c.cfg.ShardSyncIntervalMillis))
	defer t.Stop()
	for waitOrKick(ctx, t, c.kickSync) {
		if err := c.syncShards(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn().Err(err).Str("error_kind", syncErrorKind(err)).Msg("shard sync failed")
		}
		t.Reset(ms(c.cfg.ShardSyncIntervalMillis))
	}
}

// statusLoop logs the held leases and their lag once a minute.
func (c *Coordinator) statusLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st := c.Status()
			arr := zerolog.Arr()
			for _, l := range st.Held {
				arr.Dict(zerolog.Dict().Str("shard", l.ShardID).Str("state", l.State).Int64("millis_behind_latest", l.MillisBehindLatest))
			}
			c.log.Info().Array("leases", arr).Int64("takes", st.Takes).Int64("steals", st.Steals).
				Int64("losses", st.Losses).Msg("lease status")
		}
	}
}

// startTenure records a freshly taken lease and starts its shard goroutine.
func (c *Coordinator) startTenure(l Lease, takeStart time.Duration) {
	ctx, cancel := context.WithCancel(c.hard)
	t := &tenure{
		c: c, key: l.Key, id: c.nextID.Add(1), ctx: ctx, cancel: cancel,
		counter: l.Counter, cp: l.position(), parents: l.Parents, state: stateStarting,
		takenAt: time.Now(), done: make(chan struct{}),
	}
	t.lastRenew.Store(int64(takeStart))
	t.shown.Store(l.Counter)
	c.mu.Lock()
	c.held[l.Key] = t
	c.mu.Unlock()
	c.shardWG.Add(1)
	go func() {
		defer c.shardWG.Done()
		defer close(t.done)
		c.runShard(t)
	}()
}

// evictAll releases every held lease (condition leaseOwner = me).
func (c *Coordinator) evictAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range c.heldTenures() {
		wg.Go(func() { t.evict(ctx) })
	}
	wg.Wait()
}

// Status is a snapshot of a worker's leases and lease events.
type Status struct {
	WorkerID string
	Held     []LeaseStatus // sorted by shard id
	// Counters since New.
	Takes, Steals, Losses, Evictions int64
	// TakerPasses counts completed taker passes (tests wait on it).
	TakerPasses int64
}

// LeaseStatus is one held lease.
type LeaseStatus struct {
	ShardID     string
	Counter     int64
	Checkpoint  string
	SubSequence int64
	// State: starting, waiting-parents, reading, shard-end (finished,
	// kept until cleanup).
	State              string
	MillisBehindLatest int64
	TakenAt            time.Time
}

// Status returns what this worker holds now.
func (c *Coordinator) Status() Status {
	st := Status{
		WorkerID: c.id, Takes: c.takes.Load(), Steals: c.steals.Load(), Losses: c.losses.Load(),
		Evictions: c.evictions.Load(), TakerPasses: c.passes.Load(),
	}
	for _, t := range c.heldTenures() {
		st.Held = append(st.Held, t.status())
	}
	return st
}

// HeldShards returns the ids of the held shards, sorted.
func (s Status) HeldShards() []string {
	out := make([]string, len(s.Held))
	for i, l := range s.Held {
		out[i] = l.ShardID
	}
	return out
}

// backoff is a jittered exponential delay: base TaskBackoffTimeMillis (twice
// that for throttling), doubling per attempt up to 20x base, uniformly in
// [d/2, d].
func (c *Coordinator) backoff(attempt int, throttled bool) time.Duration {
	base := ms(c.cfg.TaskBackoffTimeMillis)
	if throttled {
		base *= 2
	}
	return backoff.Exp(attempt, base, 20*base)
}
