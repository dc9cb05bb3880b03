package consumer

import (
	"context"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/stages"
)

// Observer is told what the shard processors do, for metrics and health
// checks (internal/metrics implements it). Calls come once per batch or
// per lease event, never per event; an implementation must be safe for
// concurrent use by every shard and must not keep b after BatchDone returns.
type Observer interface {
	// ShardStarted and ShardStopped bracket a processor's life.
	ShardStarted(shard string)
	ShardStopped(shard string, reason lease.ShutdownReason)
	// RecordsRead: a batch of n Kinesis user records arrived.
	RecordsRead(shard string, n int, millisBehind int64)
	// Checkpointed: the shard's checkpoint moved.
	Checkpointed(shard string)
	// Delivering: events unpacked and run through the stages, about to be
	// written (they are in flight until BatchDone).
	Delivering(shard string, events int)
	// BatchDone: every event of b is delivered, excluded or dead-lettered
	// (or, with err, not acknowledged and to be read again). deliver is the
	// time Deliver took.
	BatchDone(shard string, b *stages.Batch, st sink.Stats, deliver time.Duration, err error)
}

// nopObserver is the default: no metrics.
type nopObserver struct{}

func (nopObserver) ShardStarted(string)                                               {}
func (nopObserver) ShardStopped(string, lease.ShutdownReason)                         {}
func (nopObserver) RecordsRead(string, int, int64)                                    {}
func (nopObserver) Checkpointed(string)                                               {}
func (nopObserver) Delivering(string, int)                                            {}
func (nopObserver) BatchDone(string, *stages.Batch, sink.Stats, time.Duration, error) {}

// DeadLetterObserver is implemented by observers that count dead letters.
type DeadLetterObserver interface {
	DeadLettered(n int, err error)
}

// BulkLimitObserver is implemented by observers that follow the process's
// adaptive bulk concurrency limit (--bulk-concurrency): BulkLimit is
// called with the starting limit (cause "") and after every change, with
// why it changed (Cause429, CauseFailure, CauseLatency: halved;
// CauseRecovered: grown by one). Calls are serialised by the limiter and
// must not block.
type BulkLimitObserver interface {
	BulkLimit(limit int, cause string)
}

// observeDeadLetters tells o (when it counts dead letters) how each Put went.
func observeDeadLetters(o Observer, dl sink.DeadLetters) sink.DeadLetters {
	if d, ok := o.(DeadLetterObserver); ok {
		return observedDeadLetters{dl, d}
	}
	return dl
}

type observedDeadLetters struct {
	sink.DeadLetters
	o DeadLetterObserver
}

func (d observedDeadLetters) Put(ctx context.Context, dls []sink.DeadLetter) error {
	err := d.DeadLetters.Put(ctx, dls)
	if len(dls) > 0 {
		d.o.DeadLettered(len(dls), err)
	}
	return err
}
