package e2e

import (
	"context"
	"errors"

	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
)

// Leases reads a lease table through the coordinators' own readers
// (lease.CheckpointReader), whichever layout it has: the Java KCL schema of
// consumer/lease/dynamo or vmware-go-kcl-v2's of consumer/lease/kcl. Rows
// are sorted by shard; a missing table has none.
func (s *Stack) Leases(ctx context.Context, table string) ([]LeaseRow, error) {
	cps, err := dynamo.NewCheckpoints(s.DynamoDB, table).ReadCheckpoints(ctx)
	if errors.Is(err, dynamo.ErrNotLeaseTable) {
		cps, err = kcl.NewCheckpoints(s.DynamoDB, table).ReadCheckpoints(ctx)
	}
	if err != nil {
		return nil, err
	}
	rows := make([]LeaseRow, 0, len(cps))
	for _, c := range cps {
		r := LeaseRow{Shard: c.ShardID, Owner: c.Owner, Checkpoint: c.Checkpoint, SubSequence: max(c.SubSequence, 0),
			Counter: c.Counter, Parents: c.Parents, ReplayEnd: c.ReplayEnd}
		rows = append(rows, r)
	}
	return rows, nil
}
