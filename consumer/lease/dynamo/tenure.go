package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
)

// Errors returned by Checkpointer methods. They are wrapped; test with
// errors.Is.
var (
	// ErrLeaseLost: this processor's tenure is over (lease renewed by
	// nobody for failoverTime, taken by another worker, or released); the
	// checkpoint was not written and must not be retried.
	ErrLeaseLost = errors.New("lease lost")
	// ErrInvalidCheckpoint: the record is not a sequence number, is behind
	// the stored checkpoint, or was never delivered to this processor.
	ErrInvalidCheckpoint = errors.New("invalid checkpoint")
	// ErrNotAtShardEnd: CheckpointShardEnd outside Shutdown(ShardEnd), or
	// with delivered records not checkpointed.
	ErrNotAtShardEnd = errors.New("not at shard end")
)

const (
	stateStarting = "starting"
	stateWaiting  = "waiting-parents"
	stateReading  = "reading"
	stateEnded    = "shard-end"
)

// tenure is one holding of one lease by this worker, from take to loss or
// release. Its id is the concurrency token: the checkpointer of a processor
// made for an older tenure compares unequal and can never write.
type tenure struct {
	c       *Coordinator
	key     string
	id      uint64
	ctx     context.Context // cancelled on loss, release, or the end of the shutdown grace
	cancel  context.CancelFunc
	parents []string
	takenAt time.Time

	// wmu serializes this lease's conditional writes (renew, checkpoint,
	// evict, delete) so each one conditions on the counter the previous
	// one wrote.
	wmu       sync.Mutex
	counter   int64        // leaseCounter I last wrote (wmu)
	shown     atomic.Int64 // copy of counter for Status, which must not wait for wmu
	uncertain bool         // a write timed out: it may have landed (wmu)

	lastRenew  atomic.Int64 // mono() at the start of the last successful write
	lost       atomic.Bool
	renewing   atomic.Bool
	processing atomic.Bool
	done       chan struct{}

	mu        sync.Mutex // fields below
	cp        position   // stored checkpoint
	delivered *position  // last record handed to the processor
	ended     bool       // the shard end was reached and every record delivered
	children  []string   // child shards known at the shard end
	state     string
	behind    int64
}

func (t *tenure) status() LeaseStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return LeaseStatus{
		ShardID: t.key, Counter: t.shown.Load(), Checkpoint: t.cp.seq, SubSequence: t.cp.sub,
		State: t.state, MillisBehindLatest: t.behind, TakenAt: t.takenAt,
	}
}

func (t *tenure) setState(s string) {
	t.mu.Lock()
	t.state = s
	t.mu.Unlock()
}

func (t *tenure) checkpointPos() position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cp
}

// lose ends the tenure: its context is cancelled (the processor's
// ProcessRecords sees it), it leaves the held set, and every later
// checkpoint through it fails with ErrLeaseLost.
func (t *tenure) lose(reason string, err error) {
	if !t.lost.CompareAndSwap(false, true) {
		return
	}
	t.cancel()
	c := t.c
	c.mu.Lock()
	if c.held[t.key] == t {
		delete(c.held, t.key)
	}
	c.mu.Unlock()
	c.losses.Add(1)
	c.log.Warn().Err(err).Str("shard", t.key).Str("reason", reason).Uint64("tenure", t.id).Msg("lease lost")
}

// release ends the tenure without a loss (evicted or deleted by me).
func (t *tenure) release() {
	t.lost.Store(true)
	t.cancel()
	c := t.c
	c.mu.Lock()
	if c.held[t.key] == t {
		delete(c.held, t.key)
	}
	c.mu.Unlock()
}

// expired reports whether the last successful write is older than
// failoverTime: peers may have taken the lease by now.
func (t *tenure) expired() bool {
	return t.c.mono()-time.Duration(t.lastRenew.Load()) > t.c.cfg.failover()
}

// checkExpiry loses the lease when it expired locally; true if lost.
func (t *tenure) checkExpiry() bool {
	if t.lost.Load() {
		return true
	}
	if t.expired() {
		t.lose("not renewed within failoverTimeMillis", nil)
		return true
	}
	return false
}

// renew bumps the counter. A checkpoint being written renews too, so a
// busy write lock means there is nothing to do.
func (t *tenure) renew(ctx context.Context) {
	if !t.wmu.TryLock() {
		return
	}
	defer t.wmu.Unlock()
	if t.lost.Load() {
		return
	}
	c := t.c
	start := c.mono()
	wctx, cancel := context.WithTimeout(ctx, c.cfg.writeTimeout())
	defer cancel()
	if h := c.hooks.leaseWrite; h != nil {
		if err := h(wctx, "renew", t.key); err != nil {
			c.log.Debug().Err(err).Str("shard", t.key).Msg("renewal blocked by hook")
			return
		}
	}
	err := c.table.renew(wctx, t.key, c.id, t.counter)
	// The write after a reconcile can itself land with its response lost
	// (the SDK's retry then fails the condition): reconcile again while
	// the row is still mine (reconcile refuses otherwise).
	for i := 0; errors.Is(err, errConditionFailed) && i < maxReconciles; i++ {
		if err = t.reconcile(wctx, err); err == nil {
			err = c.table.renew(wctx, t.key, c.id, t.counter)
		}
	}
	switch {
	case err == nil:
		t.counter++
		t.shown.Store(t.counter)
		t.uncertain = false
		t.lastRenew.Store(int64(start))
	case errors.Is(err, errConditionFailed):
		t.lose("renewal refused: the lease counter moved", err)
	default:
		// Unknown outcome (timeout, throttling): keep trying until the
		// lease expires locally.
		t.uncertain = true
		if ctx.Err() == nil {
			c.log.Warn().Err(err).Str("shard", t.key).Msg("lease renewal failed")
		}
	}
}

// maxReconciles bounds the reconcile-and-retry rounds of one write: each
// round needs a write of mine that landed with its response lost, so more
// than a few in a row means something else is wrong.
const maxReconciles = 3

// reconcile runs after a conditional failure, which may be caused by my own
// write whose response was lost (a timeout, or the SDK retrying an attempt
// that landed and then failing the retry's condition): if the row is still
// mine, adopt its counter and checkpoint (only this tenure's writes change
// a row whose owner is me while the tenure is held; worker ids must be
// unique per process). Caller holds wmu.
func (t *tenure) reconcile(ctx context.Context, condErr error) error {
	l, ok, err := t.c.table.get(ctx, t.key)
	if err != nil {
		return err
	}
	if !ok || l.Owner != t.c.id || l.Counter < t.counter {
		return condErr
	}
	if l.Counter != t.counter {
		t.c.log.Info().Str("shard", t.key).Int64("held", t.counter).Int64("stored", l.Counter).Msg("adopting lease counter after an uncertain write")
	}
	t.counter = l.Counter
	t.shown.Store(t.counter)
	t.uncertain = false
	t.mu.Lock()
	t.cp = l.position()
	t.mu.Unlock()
	return nil
}

// refreshIfUncertain re-reads the row after a write whose outcome is
// unknown, so a checkpoint that landed without a response counts.
func (t *tenure) refreshIfUncertain(ctx context.Context) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.uncertain {
		_ = t.reconcile(ctx, nil)
	}
}

// writeCheckpoint stores p (and children at SHARD_END), conditioned on the
// counter I hold. A refusal loses the lease.
func (t *tenure) writeCheckpoint(ctx context.Context, p position, children []string) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	c := t.c
	if !c.hooks.noLocalFence && t.lost.Load() {
		return fmt.Errorf("checkpoint %s: %w", t.key, ErrLeaseLost)
	}
	start := c.mono()
	wctx, cancel := context.WithTimeout(ctx, max(c.cfg.writeTimeout(), 2*time.Second))
	defer cancel()
	err := c.table.checkpoint(wctx, t.key, c.id, t.counter, p, children)
	for i := 0; errors.Is(err, errConditionFailed) && i < maxReconciles; i++ {
		if err = t.reconcile(wctx, err); err == nil {
			err = c.table.checkpoint(wctx, t.key, c.id, t.counter, p, children)
		}
	}
	switch {
	case err == nil:
		t.counter++
		t.shown.Store(t.counter)
		t.uncertain = false
		t.lastRenew.Store(int64(start))
		t.mu.Lock()
		t.cp = p
		t.mu.Unlock()
		return nil
	case errors.Is(err, errConditionFailed):
		t.lose("checkpoint refused: the lease counter moved", err)
		return fmt.Errorf("checkpoint %s at %s/%d: %w (%w)", t.key, p.seq, p.sub, ErrLeaseLost, err)
	default:
		t.uncertain = true
		return fmt.Errorf("checkpoint %s at %s/%d: %w", t.key, p.seq, p.sub, err)
	}
}

// evict releases the lease at shutdown.
func (t *tenure) evict(ctx context.Context) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	c := t.c
	if t.lost.Load() {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, max(c.cfg.writeTimeout(), 2*time.Second))
	defer cancel()
	err := c.table.evict(wctx, t.key, c.id)
	t.release()
	switch {
	case err == nil:
		c.evictions.Add(1)
		c.log.Info().Str("shard", t.key).Msg("lease evicted")
	case errors.Is(err, errConditionFailed):
		c.log.Info().Str("shard", t.key).Msg("lease already owned by another worker at eviction")
	default:
		c.log.Warn().Err(err).Str("shard", t.key).Msg("lease eviction failed; peers take it after failoverTimeMillis")
	}
}

// deleteFinished deletes a SHARD_END lease (cleanup) and ends the tenure.
func (t *tenure) deleteFinished(ctx context.Context) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.lost.Load() {
		return nil
	}
	if err := t.c.table.deleteFinished(ctx, t.key, t.c.id); err != nil {
		return err
	}
	t.release()
	return nil
}

// checkpointer is the lease.Checkpointer of one tenure's processor.
type checkpointer struct{ t *tenure }

var _ lease.Checkpointer = checkpointer{}

// fence refuses writes from a tenure that is over or expired locally.
func (cp checkpointer) fence() error {
	t := cp.t
	if t.c.hooks.noLocalFence {
		return nil
	}
	if t.lost.Load() || !t.c.holds(t) {
		return fmt.Errorf("checkpoint %s: %w", t.key, ErrLeaseLost)
	}
	if t.checkExpiry() {
		return fmt.Errorf("checkpoint %s: not renewed within failoverTimeMillis: %w", t.key, ErrLeaseLost)
	}
	return nil
}

// Checkpoint stores (rec.SequenceNumber, rec.SubSequence): everything up to
// and including rec is done. Mid-aggregate positions are stored as they
// are; a restart skips the sub-records up to them.
func (cp checkpointer) Checkpoint(ctx context.Context, rec *lease.Record) error {
	t := cp.t
	if err := cp.fence(); err != nil {
		return err
	}
	p := position{seq: rec.SequenceNumber, sub: rec.SubSequence}
	if !validSeq(p.seq) || p.sub < 0 {
		return fmt.Errorf("checkpoint %s at %q/%d: %w: not a sequence number", t.key, p.seq, p.sub, ErrInvalidCheckpoint)
	}
	t.mu.Lock()
	cur, delivered := t.cp, t.delivered
	t.mu.Unlock()
	if delivered == nil || comparePos(p, *delivered) > 0 {
		return fmt.Errorf("checkpoint %s at %s/%d: %w: beyond the records delivered", t.key, p.seq, p.sub, ErrInvalidCheckpoint)
	}
	if validSeq(cur.seq) {
		switch c := comparePos(p, cur); {
		case c == 0:
			return nil
		case c < 0:
			return fmt.Errorf("checkpoint %s at %s/%d: %w: behind the stored %s/%d", t.key, p.seq, p.sub, ErrInvalidCheckpoint, cur.seq, cur.sub)
		}
	}
	return t.writeCheckpoint(ctx, p, nil)
}

// CheckpointShardEnd stores SHARD_END (and childShardIds) so the child
// shards may start. Only valid in Shutdown(ShardEnd), after every delivered
// record was checkpointed.
func (cp checkpointer) CheckpointShardEnd(ctx context.Context) error {
	t := cp.t
	if err := cp.fence(); err != nil {
		return err
	}
	t.refreshIfUncertain(ctx)
	t.mu.Lock()
	ended, cur, delivered, children := t.ended, t.cp, t.delivered, t.children
	t.mu.Unlock()
	if !ended {
		return fmt.Errorf("checkpoint %s at SHARD_END: %w", t.key, ErrNotAtShardEnd)
	}
	if cur.seq == ShardEnd {
		return nil
	}
	if delivered != nil && (!validSeq(cur.seq) || comparePos(cur, *delivered) != 0) {
		return fmt.Errorf("checkpoint %s at SHARD_END: %w: records up to %s/%d delivered but only %s/%d checkpointed",
			t.key, ErrNotAtShardEnd, delivered.seq, delivered.sub, cur.seq, cur.sub)
	}
	if err := t.writeCheckpoint(ctx, position{seq: ShardEnd}, children); err != nil {
		return err
	}
	t.c.log.Info().Str("shard", t.key).Strs("children", children).Msg("shard end checkpointed")
	t.c.signalEnded()
	return nil
}
