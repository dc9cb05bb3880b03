package dynamo

import (
	"cmp"

	"github.com/aws/aws-sdk-go-v2/aws"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/wire"
)

// position is an extended sequence number: what a lease's checkpoint and
// checkpointSubSequenceNumber hold. seq is a decimal sequence number or a
// sentinel (TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END).
type position struct {
	seq string
	sub int64
}

func isSentinel(s string) bool {
	switch s {
	case TrimHorizon, Latest, AtTimestamp, ShardEnd:
		return true
	}
	return false
}

// isInitial reports whether a checkpoint is one a lease starts with (no
// record of it has been checkpointed yet).
func isInitial(s string) bool { return s == TrimHorizon || s == Latest || s == AtTimestamp }

// validSeq and compareSeq are the lease package's rules (one definition for
// every coordinator and for replay).
func validSeq(s string) bool { return lease.IsSequenceNumber(s) }

func compareSeq(a, b string) int { return lease.CompareSequenceNumbers(a, b) }

// comparePos orders two positions whose seq fields are both valid sequence
// numbers.
func comparePos(a, b position) int {
	if c := compareSeq(a.seq, b.seq); c != 0 {
		return c
	}
	return cmp.Compare(a.sub, b.sub)
}

// userRecords converts one GetRecords page to lease.Records, appending to
// dst: a KPL aggregate becomes its user records, each with the outer
// sequence number, its index as SubSequence and LastInAggregate on the last
// one; a plain record is one record with SubSequence 0. A record that starts
// with the KPL magic but fails the digest or protobuf checks is delivered as
// one plain record (as the Java KCL does) and counted in bad, so the
// processor dead-letters it instead of losing it silently. Unlike KCL 2.x,
// sub-records are never dropped for hashing outside the shard's range.
//
// When skip is not nil, every user record at or before *skip is dropped
// (resume after a checkpoint inside or at the end of an aggregate); skip is
// set to nil once a later record is seen. scratch is reused between calls.
func userRecords(dst []lease.Record, in []ktypes.Record, skip **position, scratch [][]byte) (out []lease.Record, scratchOut [][]byte, bad int) {
	for i := range in {
		r := &in[i]
		seq := aws.ToString(r.SequenceNumber)
		var arrival = aws.ToTime(r.ApproximateArrivalTimestamp)
		pk := aws.ToString(r.PartitionKey)
		var err error
		scratch, _, err = wire.AppendUserRecords(scratch[:0], r.Data)
		if err != nil {
			bad++
			scratch = append(scratch[:0], r.Data)
		}
		for j, data := range scratch {
			if *skip != nil {
				if validSeq(seq) && comparePos(position{seq, int64(j)}, **skip) <= 0 {
					continue
				}
				*skip = nil
			}
			dst = append(dst, lease.Record{
				Data: data, PartitionKey: pk, SequenceNumber: seq, SubSequence: int64(j),
				LastInAggregate: j == len(scratch)-1, ArrivalTime: arrival,
			})
		}
	}
	return dst, scratch, bad
}
