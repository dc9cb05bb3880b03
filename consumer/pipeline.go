package consumer

import (
	"context"
	"fmt"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/stages"
)

// A shard processor is a pipeline: the coordinator's goroutine unpacks a
// batch and runs the stages over it, hands it to a delivery goroutine, and
// goes on with the next batch while up to maxInflight batches are being
// written. The checkpoint is a watermark: the in-flight batches sit in a
// queue in record order, and the checkpoint only moves over the prefix of
// that queue whose batches are all acknowledged (delivered, excluded or
// dead-lettered), to the last record of that prefix (with its KPL
// sub-sequence number). A batch completing out of order waits for the ones
// before it; a batch that fails (its context ended) stops the watermark for
// good, so nothing after an unacknowledged record is ever checkpointed.
//
// Every checkpoint is written from the coordinator's goroutine, inside
// ProcessRecords or Shutdown, with the Checkpointer of that call: the
// coordinators (and replay's wrapper) need no other synchronisation.
// ProcessRecords drains before it returns, so batches overlap within one
// read (a GetRecords result carries many batches when a shard is behind),
// and the un-checkpointed window after a crash stays one read, as before.

// slot is one batch and everything it owns while in flight. Slots are
// reused; at most maxInflight exist per shard, which bounds the memory.
type slot struct {
	batch   stages.Batch
	unpack  Unpacker
	records []lease.Record // copies of the batch's records (Event.Unit indexes it)
	last    lease.Record   // checkpoint here once this slot and all before it are done
	docs    []sink.Doc
	docEvt  []int
	results []sink.Result
	dls     []sink.DeadLetter
	perType map[string]*obs.Counts

	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

// depth is how many batches a shard may have in flight.
func (p *processor) depth() int {
	if p.newUnpacker == nil || p.maxInflight < 1 {
		return 1
	}
	return p.maxInflight
}

// take returns an empty slot, first waiting for the oldest batch (and
// checkpointing) when the shard has depth() batches in flight.
func (p *processor) take(ctx context.Context, cp lease.Checkpointer) (*slot, error) {
	for len(p.queue) >= p.depth() {
		if err := p.advance(ctx, cp, true); err != nil {
			return nil, err
		}
	}
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s, nil
	}
	s := &slot{}
	if p.slots == 0 || p.newUnpacker == nil {
		s.unpack = p.unpack
	} else {
		s.unpack = p.newUnpacker()
	}
	p.slots++
	return s, nil
}

// launch runs the stages over s on this goroutine and starts its delivery.
func (p *processor) launch(ctx context.Context, s *slot) {
	dctx, cancel := context.WithCancel(ctx)
	s.cancel, s.done, s.err = cancel, make(chan struct{}), nil
	p.queue = append(p.queue, s)
	if err := p.prepare(ctx, s); err != nil {
		s.err = err
		close(s.done)
		return
	}
	p.observer().Delivering(p.shardID, len(s.batch.Events))
	go func() {
		defer close(s.done)
		s.err = p.deliver(dctx, s)
	}()
}

// advance pops the acknowledged prefix of the queue and checkpoints its
// last record. With wait it first waits for the oldest batch. It returns
// an error when a batch failed (then the watermark never moves again) or
// when the checkpoint failed because ctx ended.
func (p *processor) advance(ctx context.Context, cp lease.Checkpointer, wait bool) error {
	if p.failed != nil {
		return p.failed
	}
	for len(p.queue) > 0 {
		h := p.queue[0]
		if wait {
			<-h.done // deliveries end when their context does
			wait = false
		} else {
			select {
			case <-h.done:
			default:
				return p.checkpoint(ctx, cp)
			}
		}
		if h.err != nil {
			p.failed = fmt.Errorf("batch ending at %s/%d not acknowledged: %w", h.last.SequenceNumber, h.last.SubSequence, h.err)
			return p.failed
		}
		p.queue[0] = nil
		p.queue = p.queue[1:]
		rec := h.last
		p.ackd = &rec
		p.recycle(h)
	}
	return p.checkpoint(ctx, cp)
}

// checkpoint stores the acknowledged watermark if it moved. A failed write
// is kept and retried by the next advance (the next checkpoint covers it);
// only the end of ctx is an error.
func (p *processor) checkpoint(ctx context.Context, cp lease.Checkpointer) error {
	if p.ackd == nil {
		return nil
	}
	if err := cp.Checkpoint(ctx, p.ackd); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("checkpoint at %s/%d: %w", p.ackd.SequenceNumber, p.ackd.SubSequence, err)
		}
		p.log.Warn().Err(err).Str("error_kind", "checkpoint").Str("sequence", p.ackd.SequenceNumber).Msg("checkpoint failed; the next one covers it")
		return nil
	}
	p.ackd = nil
	p.observer().Checkpointed(p.shardID)
	return nil
}

// drain waits for every batch in flight and checkpoints.
func (p *processor) drain(ctx context.Context, cp lease.Checkpointer) error {
	for len(p.queue) > 0 {
		if err := p.advance(ctx, cp, true); err != nil {
			return err
		}
	}
	return p.checkpoint(ctx, cp)
}

// abandon cancels the batches in flight and waits for their goroutines:
// nothing after them is checkpointed (lease lost, or a batch failed).
func (p *processor) abandon() {
	for _, s := range p.queue {
		s.cancel()
	}
	for _, s := range p.queue {
		<-s.done
	}
}

// recycle makes an acknowledged slot reusable.
func (p *processor) recycle(s *slot) {
	s.cancel()
	s.batch.Reset()
	s.unpack.Release()
	clear(s.records)
	s.records = s.records[:0]
	clear(s.dls)
	s.dls = s.dls[:0]
	s.last = lease.Record{}
	p.free = append(p.free, s)
}
