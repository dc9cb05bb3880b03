// Package replay re-reads a time range of a Kinesis stream through the
// consumer's processors, beside the live consumers and without touching
// them: a replay is a consumer fleet of its own (its own application name,
// so its own lease table and checkpoints), starting every shard
// AT_TIMESTAMP its range's start.
//
// Completion does not depend on traffic after the range. At start each
// shard's end position is fixed (FindEnd: the last record that arrived at
// or before the range's end, and its last KPL sub-record; or "empty") and
// stored once on the replay's lease table (lease.ReplayEndStore, a
// conditional write: every worker of the replay uses the first worker's
// ends). Only records up to that position are loaded. A shard is finished
// when its checkpoint in the replay's lease table reaches the end (the
// sub-sequence number included, so a checkpoint inside the last aggregate
// is not enough), when it is at SHARD_END, or at once when its range is
// empty. The lease table is read every ProbeEvery (lease.CheckpointReader),
// which finishes shards loaded by other workers and by an earlier run of a
// killed replay; this worker's own shards finish as soon as their last
// batch is checkpointed. When every shard in scope is finished the
// coordinator is stopped and Err returns nil.
package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/internal/obs"
)

// Config configures a replay (the coordinator, stage chain and sink are
// the consumer's).
type Config struct {
	Stream string
	Range  Range
	// Scope is the shard ids to replay (see Scope); shards the coordinator
	// offers outside it are read past without loading anything.
	Scope []string
	// Ends is the replay's lease table: checkpoints and end positions.
	Ends lease.ReplayEndStore
	// Kinesis reads the shards to fix the end positions.
	Kinesis KinesisReader
	// CallTimeout bounds each of those Kinesis calls (0 =
	// DefaultCallTimeout, 30s); one not answered in time is retried.
	CallTimeout time.Duration
	// Counts are the consumer's counters (events, delivered, ...), for the
	// progress lines and the summary.
	Counts *obs.Registry
	// ProbeEvery is how often the lease table is read (default 2s).
	ProbeEvery time.Duration
	// ProgressEvery is how often progress is logged (default 10s; < 0
	// never).
	ProgressEvery time.Duration
	// Resume is appended to the error of an unfinished replay (how to run
	// it again).
	Resume string
	Log    zerolog.Logger
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("stream is required"))
	}
	if !c.Range.From.Before(c.Range.To) {
		errs = append(errs, errors.New("range: from must be before to"))
	}
	if len(c.Scope) == 0 {
		errs = append(errs, errors.New("no shard in scope"))
	}
	if c.Ends == nil || c.Kinesis == nil {
		errs = append(errs, errors.New("ends store and kinesis client are required"))
	}
	if c.ProbeEvery < 0 {
		errs = append(errs, errors.New("probe interval must be > 0"))
	}
	if c.CallTimeout < 0 || (c.CallTimeout > 0 && c.CallTimeout < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("call timeout %s: must be 0 (default 30s) or >= 100ms", c.CallTimeout))
	}
	return errors.Join(errs...)
}

// Replay tracks the shards of one replay run.
type Replay struct {
	cfg     Config
	started time.Time
	shards  map[string]*shard
	log     zerolog.Logger

	mu     sync.Mutex
	stop   context.CancelFunc
	all    bool  // every shard finished
	failed error // why the replay gave up
}

// maxEndAttempts bounds the attempts to find or store a shard's end
// (≈ 3 minutes of backoff); then the replay stops with the error.
const maxEndAttempts = 10

// fail stops the replay with err (the first one is kept).
func (r *Replay) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == nil {
		r.failed = err
	}
	r.log.Error().Err(err).Msg("replay cannot go on; stopping")
	if r.stop != nil {
		r.stop()
	}
}

// New checks cfg; nothing starts until the coordinator from Coordinator
// runs.
func New(cfg Config) (*Replay, error) {
	if cfg.ProbeEvery == 0 {
		cfg.ProbeEvery = 2 * time.Second
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 10 * time.Second
	}
	if cfg.Counts == nil {
		cfg.Counts = obs.NewRegistry()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("replay config: %w", err)
	}
	cfg.Scope = slices.Clone(cfg.Scope)
	r := &Replay{cfg: cfg, started: time.Now(), shards: map[string]*shard{}, log: cfg.Log}
	for _, id := range cfg.Scope {
		r.shards[id] = &shard{id: id, known: make(chan struct{})}
	}
	return r, nil
}

// shard is one shard in scope. Records and bytes count what this process
// loaded.
type shard struct {
	id    string
	known chan struct{} // closed once end is set

	mu       sync.Mutex
	end      lease.ReplayEnd
	done     bool
	why      string
	records  int64 // Kinesis records loaded here
	bytes    int64 // their user records' bytes
	reached  time.Time
	firstAt  time.Time // when this process loaded its first batch
	pct0     float64   // the shard's position then
	reported bool      // finished and logged in a progress round
}

func (s *shard) setEnd(e lease.ReplayEnd) {
	s.mu.Lock()
	s.end = e
	s.mu.Unlock()
	close(s.known)
}

// waitEnd blocks until the shard's end is fixed; false when ctx ends first.
func (s *shard) waitEnd(ctx context.Context) (lease.ReplayEnd, bool) {
	select {
	case <-s.known:
	case <-ctx.Done():
		return lease.ReplayEnd{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end, true
}

func (s *shard) endKnown() bool {
	select {
	case <-s.known:
		return true
	default:
		return false
	}
}

func (s *shard) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Err is nil when every shard in scope is finished, else why not and how to
// resume.
func (r *Replay) Err() error {
	c := r.Counters()
	if c.Finish {
		return nil
	}
	r.mu.Lock()
	failed := r.failed
	r.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("replay stopped with %d of %d shards finished: %w", c.ShardsDone, c.Shards, failed)
	}
	var open []string
	for _, p := range c.Shard {
		if !p.Done {
			open = append(open, p.ShardID)
		}
	}
	return fmt.Errorf("replay interrupted with %d of %d shards finished (open: %v): %s", c.ShardsDone, c.Shards, open, r.cfg.Resume)
}

// LogSummary logs the final line: info when finished, warn otherwise.
func (r *Replay) LogSummary() {
	if r.cfg.ProgressEvery >= 0 {
		r.reportProgress()
	}
	c := r.Counters()
	ev, msg := r.log.Info(), "replay finished"
	if !c.Finish {
		ev, msg = r.log.Warn(), "replay stopped before every shard was finished"
	}
	ev.Int("shards_done", c.ShardsDone).Int("shards", c.Shards).Int64("records", c.Records).Int64("bytes", c.Bytes).
		Int64("events", c.Events).Int64("delivered", c.Delivered).Int64("excluded", c.Excluded).Int64("failed", c.Failed).
		Int64("rejected", c.Rejected).Int64("overwritten", c.Overwritten).Float64("seconds", c.Elapsed.Seconds()).Msg(msg)
}

// finish marks s finished (once) and stops the coordinator when it was the
// last one.
func (r *Replay) finish(s *shard, why string) {
	s.mu.Lock()
	was := s.done
	s.done, s.why = true, why
	records, bytes, reached := s.records, s.bytes, s.reached
	s.mu.Unlock()
	if was {
		return
	}
	ev := r.log.Info().Str("shard", s.id).Str("why", why).Int64("records", records).Int64("bytes", bytes)
	if !reached.IsZero() {
		ev = ev.Time("reached", reached)
	}
	ev.Msg("replay shard finished")
	for _, sh := range r.shards {
		if !sh.isDone() {
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.all {
		return
	}
	r.all = true
	r.log.Info().Int("shards", len(r.shards)).Msg("every shard in scope is finished; stopping")
	if r.stop != nil {
		r.stop()
	}
}

// Coordinator wraps the consumer's coordinator: its processors load only
// the range, and it stops once every shard in scope is finished.
func (r *Replay) Coordinator(inner lease.Coordinator) lease.Coordinator {
	return &coordinator{r: r, inner: inner}
}

type coordinator struct {
	r     *Replay
	inner lease.Coordinator
}

func (c *coordinator) Run(ctx context.Context, factory lease.ProcessorFactory) error {
	r := c.r
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.stop = cancel
	all := r.all
	r.mu.Unlock()
	if all {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.fixEnds(runCtx) })
	wg.Go(func() { r.watch(runCtx) })
	wg.Go(func() { r.logProgress(runCtx) })
	err := c.inner.Run(runCtx, func() lease.Processor { return &processor{inner: factory(), r: r} })
	cancel()
	wg.Wait()
	return err
}

// fixEnds fixes every shard's end: the one stored on the lease table, or
// FindEnd's, stored unless another worker stored one first.
func (r *Replay) fixEnds(ctx context.Context) {
	stored := map[string]lease.ReplayEnd{}
	if cps, err := r.cfg.Ends.ReadCheckpoints(ctx); err != nil {
		r.log.Debug().Err(err).Msg("cannot read the replay's lease table yet")
	} else {
		for _, cp := range cps {
			if cp.ReplayEnd != nil {
				stored[cp.ShardID] = *cp.ReplayEnd
			}
		}
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, id := range r.cfg.Scope {
		s := r.shards[id]
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			r.fixEnd(ctx, s, stored)
		})
	}
	wg.Wait()
}

func (r *Replay) fixEnd(ctx context.Context, s *shard, stored map[string]lease.ReplayEnd) {
	log := r.log.With().Str("shard", s.id).Logger()
	end, ok := stored[s.id]
	if !ok {
		for attempt := 0; ; attempt++ {
			t0 := time.Now()
			e, err := FindEnd(ctx, r.cfg.Kinesis, r.cfg.Stream, s.id, r.cfg.Range, r.cfg.CallTimeout)
			if err == nil {
				end = e
				log.Debug().Dur("took", time.Since(t0)).Msg("end position found")
				break
			}
			if ctx.Err() != nil {
				return
			}
			if attempt+1 >= maxEndAttempts {
				r.fail(fmt.Errorf("shard %s: cannot find its end position: %w", s.id, err))
				return
			}
			log.Warn().Err(err).Msg("cannot find the shard's end position yet; retrying")
			if !backoff.Sleep(ctx, backoff.Exp(attempt, time.Second, 30*time.Second)) {
				return
			}
		}
		for attempt := 0; ; attempt++ {
			got, err := r.cfg.Ends.PutReplayEnd(ctx, s.id, end)
			if err == nil {
				end = got
				break
			}
			if ctx.Err() != nil {
				return
			}
			wait := backoff.Exp(attempt, time.Second, 30*time.Second)
			if errors.Is(err, lease.ErrNoLease) {
				// The coordinator creates the lease at its first shard sync.
				wait = 200 * time.Millisecond
				if attempt >= 1500 {
					r.fail(fmt.Errorf("shard %s: no lease row to store its end position on after 5 minutes (is the shard leased by this replay's coordinator?)", s.id))
					return
				}
				if attempt > 0 && attempt%50 == 0 {
					log.Warn().Msg("still no lease row to store the shard's end position on")
				}
			} else {
				if attempt+1 >= maxEndAttempts {
					r.fail(fmt.Errorf("shard %s: cannot store its end position: %w", s.id, err))
					return
				}
				log.Warn().Err(err).Msg("cannot store the shard's end position; retrying")
			}
			if !backoff.Sleep(ctx, wait) {
				return
			}
		}
	}
	if !end.From.Equal(r.cfg.Range.From) || !end.To.Equal(r.cfg.Range.To) {
		log.Warn().Time("stored_from", end.From).Time("stored_to", end.To).
			Msg("this replay's lease table holds an end position fixed for another range: using it (workers of one replay must be given the same --from and --to)")
	}
	s.setEnd(end)
	ev := log.Info().Bool("empty", end.Empty)
	if !end.Empty {
		ev = ev.Str("sequence_number", end.SequenceNumber).Int64("last_sub_sequence", end.LastSubSequence).
			Time("first_arrival", end.FirstArrival).Time("last_arrival", end.LastArrival)
	}
	ev.Msg("replay shard end fixed")
	if end.Empty {
		r.finish(s, "nothing in range")
	}
}

// watch reads the replay's lease table every ProbeEvery and finishes the
// shards whose checkpoint reached their end, whoever loaded them.
func (r *Replay) watch(ctx context.Context) {
	t := time.NewTicker(r.cfg.ProbeEvery)
	defer t.Stop()
	for {
		cps, err := r.cfg.Ends.ReadCheckpoints(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Debug().Err(err).Msg("cannot read the replay's lease table; will retry")
		}
		for _, cp := range cps {
			s := r.shards[cp.ShardID]
			if s == nil || !s.endKnown() || s.isDone() {
				continue
			}
			s.mu.Lock()
			end := s.end
			s.mu.Unlock()
			if end.Reached(cp) {
				why := "checkpoint reached the end"
				switch {
				case end.Empty:
					// fixEnd finishes an empty shard right after setEnd;
					// this probe can come in between: same reason.
					why = "nothing in range"
				case cp.Checkpoint == lease.CheckpointShardEnd:
					why = "shard end"
				}
				r.finish(s, why)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Compile-time checks.
var _ lease.Coordinator = (*coordinator)(nil)
