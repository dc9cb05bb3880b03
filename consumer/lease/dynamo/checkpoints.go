package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/siemstream/siemstream/consumer/lease"
)

// attrReplayEnd is the map a replay writes once on each of its lease rows:
// where the replay stops on that shard (lease.ReplayEnd). The Java KCL
// ignores attributes it does not know, and every write of ours is an
// UpdateItem, so it stays.
const attrReplayEnd = "replayEnd"

// Checkpoints reads and annotates a lease table of this layout: a
// lease.CheckpointReader and lease.ReplayEndStore.
type Checkpoints struct {
	t *leaseTable
}

// NewCheckpoints opens the lease table named table (nothing is read yet).
func NewCheckpoints(db DynamoDBAPI, table string) *Checkpoints {
	return &Checkpoints{t: &leaseTable{db: db, name: table}}
}

// Checkpoints is the coordinator's lease table as a lease.ReplayEndStore.
func (c *Coordinator) Checkpoints() *Checkpoints { return &Checkpoints{t: c.table} }

// ReadCheckpoints scans the table (consistent). A table with another key
// schema is ErrNotLeaseTable; a missing table is no rows.
func (s *Checkpoints) ReadCheckpoints(ctx context.Context) ([]lease.ShardCheckpoint, error) {
	d, err := s.t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.t.name})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe lease table %s: %w", s.t.name, err)
	}
	if err := checkKeySchema(s.t.name, d.Table.KeySchema); err != nil {
		return nil, err
	}
	var out []lease.ShardCheckpoint
	in := &dynamodb.ScanInput{TableName: &s.t.name, ConsistentRead: aws.Bool(true)}
	for {
		page, err := s.t.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan lease table %s: %w", s.t.name, err)
		}
		for _, it := range page.Items {
			l, err := decodeLease(it)
			if err != nil {
				return nil, fmt.Errorf("lease table %s: %w", s.t.name, err)
			}
			sc := lease.ShardCheckpoint{
				ShardID: l.Key, Owner: l.Owner, Checkpoint: l.Checkpoint, SubSequence: l.SubSequence,
				Counter: l.Counter, Parents: l.Parents,
			}
			if m, ok := it[attrReplayEnd].(*types.AttributeValueMemberM); ok {
				e, err := decodeReplayEnd(m.Value)
				if err != nil {
					return nil, fmt.Errorf("lease %s: %s: %w", l.Key, attrReplayEnd, err)
				}
				sc.ReplayEnd = &e
			}
			out = append(out, sc)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sortCheckpoints(out)
	return out, nil
}

func sortCheckpoints(cs []lease.ShardCheckpoint) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && compareShardIDs(cs[j].ShardID, cs[j-1].ShardID) < 0; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// PutReplayEnd writes end on the shard's lease row unless the row has one:
// condition attribute_exists(leaseKey) AND attribute_not_exists(replayEnd),
// so the row is never created here (the coordinator creates leases) and the
// first worker's end wins. It returns the end stored.
func (s *Checkpoints) PutReplayEnd(ctx context.Context, shardID string, end lease.ReplayEnd) (lease.ReplayEnd, error) {
	_, err := s.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.t.name, Key: key(shardID),
		UpdateExpression:          aws.String("SET #e = :e"),
		ConditionExpression:       aws.String("attribute_exists(#k) AND attribute_not_exists(#e)"),
		ExpressionAttributeNames:  map[string]string{"#e": attrReplayEnd, "#k": attrLeaseKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberM{Value: encodeReplayEnd(end)}},
	})
	if err == nil {
		return end, nil
	}
	if err = wrapCond("set replay end of", shardID, err); !errors.Is(err, errConditionFailed) {
		return lease.ReplayEnd{}, err
	}
	o, gerr := s.t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.t.name, Key: key(shardID), ConsistentRead: aws.Bool(true)})
	if gerr != nil {
		return lease.ReplayEnd{}, fmt.Errorf("get lease %s: %w", shardID, gerr)
	}
	if len(o.Item) == 0 {
		return lease.ReplayEnd{}, fmt.Errorf("lease %s: %w", shardID, lease.ErrNoLease)
	}
	m, ok := o.Item[attrReplayEnd].(*types.AttributeValueMemberM)
	if !ok {
		return lease.ReplayEnd{}, fmt.Errorf("lease %s: %w", shardID, err)
	}
	return decodeReplayEnd(m.Value)
}

func encodeReplayEnd(e lease.ReplayEnd) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		"empty": &types.AttributeValueMemberBOOL{Value: e.Empty},
		"from":  s(e.From.UTC().Format(time.RFC3339Nano)),
		"to":    s(e.To.UTC().Format(time.RFC3339Nano)),
	}
	if !e.Empty {
		m["sequenceNumber"] = s(e.SequenceNumber)
		m["lastSubSequenceNumber"] = n(e.LastSubSequence)
		m["firstArrival"] = s(e.FirstArrival.UTC().Format(time.RFC3339Nano))
		m["lastArrival"] = s(e.LastArrival.UTC().Format(time.RFC3339Nano))
	}
	return m
}

func decodeReplayEnd(m map[string]types.AttributeValue) (lease.ReplayEnd, error) {
	var e lease.ReplayEnd
	if b, ok := m["empty"].(*types.AttributeValueMemberBOOL); ok {
		e.Empty = b.Value
	}
	e.SequenceNumber = str(m["sequenceNumber"])
	var err error
	if v, ok := m["lastSubSequenceNumber"].(*types.AttributeValueMemberN); ok {
		if e.LastSubSequence, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return e, fmt.Errorf("lastSubSequenceNumber: %w", err)
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"firstArrival", &e.FirstArrival}, {"lastArrival", &e.LastArrival}, {"from", &e.From}, {"to", &e.To}} {
		if v := str(m[f.name]); v != "" {
			if *f.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return e, fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	if !e.Empty && !lease.IsSequenceNumber(e.SequenceNumber) {
		return e, fmt.Errorf("sequenceNumber %q is not a sequence number", e.SequenceNumber)
	}
	return e, nil
}

var (
	_ lease.ReplayEndStore = (*Checkpoints)(nil)
)
