// Package lease is the consumer's view of a Kinesis stream shared by a fleet:
// a Coordinator holds leases on shards and drives one Processor per held
// shard; the Processor acknowledges progress through a Checkpointer. The
// coordinators (package dynamo, ours on the Java KCL lease schema, and
// package kcl, the vmware-go-kcl-v2 adapter) stay behind these interfaces,
// and so does their lease-table layout: a CheckpointReader reads any
// coordinator's rows, a ReplayEndStore keeps a replay's end positions with
// its leases.
package lease

import (
	"cmp"
	"context"
	"errors"
	"strings"
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

// Checkpoint sentinels: the values every coordinator's layout stores in
// place of a sequence number (the Java KCL's SentinelCheckpoint names).
const (
	CheckpointTrimHorizon = "TRIM_HORIZON"
	CheckpointLatest      = "LATEST"
	CheckpointAtTimestamp = "AT_TIMESTAMP"
	CheckpointShardEnd    = "SHARD_END"
)

// ShardCheckpoint is one shard's row of a lease table, whatever the
// coordinator's layout: what a replay, an operator or a test needs to know
// without reading attributes by name.
type ShardCheckpoint struct {
	ShardID string
	Owner   string // "" = unowned
	// Checkpoint is a sequence number, a sentinel (TRIM_HORIZON, LATEST,
	// AT_TIMESTAMP, SHARD_END) or "" when nothing was stored yet.
	Checkpoint string
	// SubSequence: user records 0..SubSequence of the aggregate at
	// Checkpoint are done. -1 means the whole aggregate (layouts that
	// checkpoint only whole aggregates).
	SubSequence int64
	// Counter is the fencing counter (leaseCounter); 0 when the layout has
	// none.
	Counter int64
	Parents []string // sorted
	// ReplayEnd is the end position a replay fixed for this shard, or nil.
	ReplayEnd *ReplayEnd
}

// CheckpointReader reads a lease table's rows (strongly consistent).
type CheckpointReader interface {
	// ReadCheckpoints returns every shard's row, sorted by shard id.
	ReadCheckpoints(ctx context.Context) ([]ShardCheckpoint, error)
}

// ReplayEnd is where a replay of a time range stops on one shard, fixed
// once at the start and shared by every worker of that replay.
type ReplayEnd struct {
	// Empty: no record of the shard arrived in the range.
	Empty bool
	// SequenceNumber and LastSubSequence locate the last user record in the
	// range: the last Kinesis record that arrived at or before To, and the
	// index of its last user record (0 for a plain record).
	SequenceNumber  string
	LastSubSequence int64
	// FirstArrival and LastArrival are the arrival times of the first and
	// the last record in the range (progress and ETA).
	FirstArrival, LastArrival time.Time
	// From and To are the range this end was computed for.
	From, To time.Time
}

// ReplayEndStore keeps replay end positions with a replay's leases.
type ReplayEndStore interface {
	CheckpointReader
	// PutReplayEnd stores end for shardID unless an end is stored already
	// (a conditional write: the first worker's end wins), and returns the
	// stored end. It returns ErrNoLease when the layout keeps ends on lease
	// rows and the shard has none yet.
	PutReplayEnd(ctx context.Context, shardID string, end ReplayEnd) (ReplayEnd, error)
}

// ErrNoLease: the shard has no lease row (yet).
var ErrNoLease = errors.New("no lease row for the shard")

// Reached reports whether checkpoint c covers the last record of the range
// ended by e: the shard is at SHARD_END, past the end's sequence number, or
// at it with the end's last sub-sequence (or a whole-aggregate checkpoint,
// SubSequence -1). An empty range is reached by any checkpoint.
func (e ReplayEnd) Reached(c ShardCheckpoint) bool {
	if e.Empty || c.Checkpoint == CheckpointShardEnd {
		return true
	}
	if !IsSequenceNumber(c.Checkpoint) || !IsSequenceNumber(e.SequenceNumber) {
		return false
	}
	switch CompareSequenceNumbers(c.Checkpoint, e.SequenceNumber) {
	case 1:
		return true
	case 0:
		return c.SubSequence < 0 || c.SubSequence >= e.LastSubSequence
	}
	return false
}

// Covers reports whether the record at (seq, sub) is inside the range
// ended by e (at or before its last user record).
func (e ReplayEnd) Covers(seq string, sub int64) bool {
	if e.Empty {
		return false
	}
	if !IsSequenceNumber(seq) || !IsSequenceNumber(e.SequenceNumber) {
		return false
	}
	switch CompareSequenceNumbers(seq, e.SequenceNumber) {
	case -1:
		return true
	case 0:
		return sub <= e.LastSubSequence
	}
	return false
}

// IsSequenceNumber reports whether s is a Kinesis sequence number: decimal
// digits only (real Kinesis uses 56 digits, emulators "1", "2", ...).
func IsSequenceNumber(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CompareSequenceNumbers compares two sequence numbers as unsigned integers
// of any size.
func CompareSequenceNumbers(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
