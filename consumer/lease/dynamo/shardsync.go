package dynamo

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// shardInfo is what shard sync needs of one shard from ListShards.
type shardInfo struct {
	ID              string
	Parents         []string // ParentShardId, AdjacentParentShardId (non-empty ones)
	StartingHashKey string
	EndingHashKey   string
	Closed          bool // has an EndingSequenceNumber
}

func toShardInfo(sh ktypes.Shard) shardInfo {
	si := shardInfo{ID: aws.ToString(sh.ShardId)}
	for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
		if aws.ToString(p) != "" {
			si.Parents = append(si.Parents, aws.ToString(p))
		}
	}
	slices.Sort(si.Parents)
	if sh.HashKeyRange != nil {
		si.StartingHashKey = aws.ToString(sh.HashKeyRange.StartingHashKey)
		si.EndingHashKey = aws.ToString(sh.HashKeyRange.EndingHashKey)
	}
	si.Closed = sh.SequenceNumberRange != nil && aws.ToString(sh.SequenceNumberRange.EndingSequenceNumber) != ""
	return si
}

// planLeases is the hierarchical shard sync (Java HierarchicalShardSyncer,
// simplified): it returns the leases to create for listed shards that have
// none, parents before children.
//
//   - a shard with a descendant that has (or gets) a lease gets none: its
//     data was consumed before the lease was cleaned up, or skipped on
//     purpose by an initial position of LATEST;
//   - a shard with a parent that has (or gets) a lease starts at
//     TRIM_HORIZON, so nothing between the parent's end and its start is
//     missed (the consumer waits for the parents' SHARD_END);
//   - any other shard starts at initial, except that with LATEST a closed
//     shard gets no lease (nothing new will ever arrive in it).
//
// filter, when not nil, limits the shards considered.
func planLeases(shards []shardInfo, existing map[string]bool, initial string, filter map[string]bool) []Lease {
	byID := make(map[string]*shardInfo, len(shards))
	children := map[string][]string{}
	for i := range shards {
		sh := &shards[i]
		if filter != nil && !filter[sh.ID] {
			continue
		}
		byID[sh.ID] = sh
		for _, p := range sh.Parents {
			children[p] = append(children[p], sh.ID)
		}
	}
	// descLease: some descendant already has a lease.
	descMemo := map[string]bool{}
	var descLease func(id string) bool
	descLease = func(id string) bool {
		if v, ok := descMemo[id]; ok {
			return v
		}
		descMemo[id] = false // cycles cannot happen; guards anyway
		for _, c := range children[id] {
			if existing[c] || descLease(c) {
				descMemo[id] = true
				return true
			}
		}
		return false
	}
	// consumed: has a lease, or gets one in this plan.
	state := map[string]int{} // 0 unknown, 1 visiting, 2 consumed, 3 not consumed
	var out []Lease
	var visit func(id string) bool
	visit = func(id string) bool {
		if existing[id] {
			return true
		}
		sh, listed := byID[id]
		if !listed {
			return false
		}
		switch state[id] {
		case 1, 3:
			return false
		case 2:
			return true
		}
		state[id] = 1
		parentConsumed := false
		for _, p := range sh.Parents {
			if visit(p) {
				parentConsumed = true
			}
		}
		var cp string
		switch {
		case descLease(id):
		case parentConsumed:
			cp = TrimHorizon
		case initial == Latest && sh.Closed:
		default:
			cp = initial
		}
		if cp == "" {
			state[id] = 3
			return false
		}
		state[id] = 2
		out = append(out, Lease{
			Key: id, Checkpoint: cp, Parents: sh.Parents,
			StartingHashKey: sh.StartingHashKey, EndingHashKey: sh.EndingHashKey,
		})
		return true
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		visit(id)
	}
	return out
}

// listShards pages through ListShards (StreamName on the first call only,
// then NextToken alone, as the API requires).
func (c *Coordinator) listShards(ctx context.Context) ([]shardInfo, error) {
	var out []shardInfo
	in := &kinesis.ListShardsInput{StreamName: aws.String(c.cfg.StreamName)}
	for {
		o, err := bounded(ctx, c.cfg.callTimeout(), func(ctx context.Context) (*kinesis.ListShardsOutput, error) {
			return c.kin.ListShards(ctx, in)
		})
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", c.cfg.StreamName, err)
		}
		for _, sh := range o.Shards {
			out = append(out, toShardInfo(sh))
		}
		if aws.ToString(o.NextToken) == "" {
			return out, nil
		}
		in = &kinesis.ListShardsInput{NextToken: o.NextToken}
	}
}

// syncShards lists the shards, creates the missing leases and cleans up
// finished ones this worker holds.
func (c *Coordinator) syncShards(ctx context.Context) error {
	shards, err := c.listShards(ctx)
	if err != nil {
		return err
	}
	leases, err := c.table.scan(ctx)
	if err != nil {
		return err
	}
	existing := make(map[string]bool, len(leases))
	byKey := make(map[string]Lease, len(leases))
	for _, l := range leases {
		existing[l.Key] = true
		byKey[l.Key] = l
	}
	created := 0
	for _, l := range planLeases(shards, existing, c.cfg.InitialPositionInStream, c.filter) {
		ok, err := c.table.create(ctx, l)
		if err != nil {
			return err
		}
		if ok {
			created++
			c.log.Info().Str("shard", l.Key).Str("checkpoint", l.Checkpoint).Strs("parents", l.Parents).Msg("lease created")
		}
	}
	if created > 0 {
		c.kick(c.kickTaker)
	}
	if c.cfg.CleanupLeasesUponShardCompletion {
		c.cleanup(ctx, byKey)
	}
	return nil
}

// cleanup deletes SHARD_END leases this worker holds once every child has a
// lease that progressed past its initial position (the Java
// LeaseCleanupManager rule): until then the lease keeps guarding the
// children's parent gating and shard sync's lineage.
func (c *Coordinator) cleanup(ctx context.Context, byKey map[string]Lease) {
	for _, t := range c.heldTenures() {
		l, ok := byKey[t.key]
		if !ok || l.Checkpoint != ShardEnd || l.Owner != c.id || len(l.Children) == 0 {
			continue
		}
		done := true
		for _, ch := range l.Children {
			cl, ok := byKey[ch]
			if !ok || isInitial(cl.Checkpoint) {
				done = false
				break
			}
		}
		if !done {
			continue
		}
		if err := t.deleteFinished(ctx); err != nil {
			c.log.Warn().Err(err).Str("shard", t.key).Msg("lease cleanup failed")
			continue
		}
		c.log.Info().Str("shard", t.key).Strs("children", l.Children).Msg("finished lease deleted")
	}
}

// childShards returns the listed children of a shard (ListShards
// fallback for emulators that send no ChildShards at shard end).
func (c *Coordinator) childShards(ctx context.Context, shardID string) ([]string, error) {
	shards, err := c.listShards(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sh := range shards {
		if slices.Contains(sh.Parents, shardID) {
			out = append(out, sh.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}
