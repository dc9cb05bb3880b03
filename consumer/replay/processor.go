package replay

import (
	"context"

	"github.com/siemstream/siemstream/consumer/lease"
)

// processor hands the inner processor only the records of the range.
type processor struct {
	inner lease.Processor
	r     *Replay
	shard *shard
	id    string
}

func (p *processor) Initialize(ctx context.Context, shardID string) {
	p.id = shardID
	p.shard = p.r.shards[shardID]
	p.inner.Initialize(ctx, shardID)
}

func (p *processor) ProcessRecords(ctx context.Context, records []lease.Record, cp lease.Checkpointer, millisBehind int64) {
	if p.shard == nil || len(records) == 0 {
		return // out of scope: read past, nothing loaded or checkpointed
	}
	end, ok := p.shard.waitEnd(ctx)
	if !ok || p.shard.isDone() {
		return
	}
	// [0,i) arrived before the range, [i,k) are in it, [k,n) after its end.
	from := p.r.cfg.Range.From
	i := 0
	for i < len(records) && records[i].ArrivalTime.Before(from) {
		i++
	}
	k := i
	for k < len(records) && end.Covers(records[k].SequenceNumber, records[k].SubSequence) {
		k++
	}
	if i == len(records) {
		// Only records before the range (a coordinator that cannot start
		// AT_TIMESTAMP): move the checkpoint past them so a restart does
		// not scan them again.
		for j := i - 1; j >= 0; j-- {
			if records[j].LastInAggregate {
				if err := cp.Checkpoint(ctx, &records[j]); err != nil {
					p.r.log.Debug().Err(err).Str("shard", p.id).Msg("checkpoint past records before the range failed")
				}
				break
			}
		}
		return
	}
	if k == i {
		return // past the end: the checkpoint shows whether the shard is finished
	}
	w := &checkpointer{next: cp}
	p.inner.ProcessRecords(ctx, records[i:k], w, millisBehind)
	var n, bytes int64
	for j := i; j < k; j++ {
		bytes += int64(len(records[j].Data))
		if records[j].LastInAggregate {
			n++
		}
	}
	p.shard.progress(n, bytes, records[i].ArrivalTime, records[k-1].ArrivalTime)
	if w.ok && end.Reached(lease.ShardCheckpoint{Checkpoint: w.last.seq, SubSequence: w.last.sub}) {
		p.r.finish(p.shard, "checkpoint reached the end")
	}
}

func (p *processor) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	w := &checkpointer{next: cp}
	p.inner.Shutdown(ctx, reason, w)
	if reason == lease.ShardEnd && w.shardEnd && p.shard != nil {
		p.r.finish(p.shard, "shard end")
	}
}

// checkpointer passes checkpoints through and remembers the last one that
// was stored.
type checkpointer struct {
	next lease.Checkpointer
	ok   bool
	last struct {
		seq string
		sub int64
	}
	shardEnd bool
}

func (c *checkpointer) Checkpoint(ctx context.Context, rec *lease.Record) error {
	err := c.next.Checkpoint(ctx, rec)
	if err == nil {
		c.ok = true
		c.last.seq, c.last.sub = rec.SequenceNumber, rec.SubSequence
	}
	return err
}

func (c *checkpointer) CheckpointShardEnd(ctx context.Context) error {
	err := c.next.CheckpointShardEnd(ctx)
	c.shardEnd = err == nil
	return err
}

// Compile-time checks.
var (
	_ lease.Processor    = (*processor)(nil)
	_ lease.Checkpointer = (*checkpointer)(nil)
)
