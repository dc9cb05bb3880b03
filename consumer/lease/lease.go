// Package lease is the consumer's view of a Kinesis stream shared by a fleet:
// a Coordinator holds leases on shards and drives one Processor per held
// shard; the Processor acknowledges progress through a Checkpointer. The
// coordinator implementation (vmware-go-kcl-v2 today, see package kcl) stays
// behind these interfaces so it can be hardened or replaced without touching
// stages or sinks.
package lease

import (
	"context"
	"time"
)

// Record is one Kinesis user record, already de-aggregated from a KPL
// aggregate when it was one.
type Record struct {
	Data           []byte
	PartitionKey   string
	SequenceNumber string
	// SubSequence is the index of this user record inside its KPL aggregate
	// (0 for a plain record).
	SubSequence int64
	// LastInAggregate is true for the last user record of its aggregate (and
	// for every plain record). A checkpoint taken at a record for which this
	// is false may only be stored by coordinators that persist sub-sequence
	// numbers.
	LastInAggregate bool
	ArrivalTime     time.Time
}

// ShutdownReason says why a processor is being stopped.
type ShutdownReason int

const (
	// Requested: the worker is stopping; the processor may checkpoint.
	Requested ShutdownReason = iota + 1
	// ShardEnd: the shard is closed and fully read; the processor must
	// checkpoint so child shards can start.
	ShardEnd
	// LeaseLost: another worker owns the shard now; the processor must not
	// checkpoint.
	LeaseLost
)

func (r ShutdownReason) String() string {
	switch r {
	case Requested:
		return "requested"
	case ShardEnd:
		return "shard_end"
	case LeaseLost:
		return "lease_lost"
	}
	return "unknown"
}

// Checkpointer stores how far a shard has been durably processed.
type Checkpointer interface {
	// Checkpoint records that every record up to and including rec is done.
	Checkpoint(ctx context.Context, rec *Record) error
	// CheckpointShardEnd records that the whole (closed) shard is done.
	CheckpointShardEnd(ctx context.Context) error
}

// Processor handles the records of one shard. Calls for one shard are
// serial; different shards run concurrently on different Processors.
type Processor interface {
	Initialize(ctx context.Context, shardID string)
	// ProcessRecords must return only after the records it acknowledges
	// through cp are durable downstream.
	ProcessRecords(ctx context.Context, records []Record, cp Checkpointer, millisBehind int64)
	Shutdown(ctx context.Context, reason ShutdownReason, cp Checkpointer)
}

// ProcessorFactory makes one Processor per shard lease.
type ProcessorFactory func() Processor

// Coordinator runs Processors for the shards this worker holds until ctx is
// cancelled; then it lets in-flight batches finish, checkpoints and releases
// its leases before returning.
type Coordinator interface {
	Run(ctx context.Context, factory ProcessorFactory) error
}
