package kcl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/siemstream/siemstream/consumer/lease"
)

// vmware-go-kcl-v2's lease table layout (clientlibrary/checkpoint): one row
// per shard, hash key ShardID.
const (
	attrShardID    = "ShardID"
	attrAssignedTo = "AssignedTo"
	attrCheckpoint = "Checkpoint"
	attrParent     = "ParentShardId"
)

// The library rewrites its rows whole (PutItem), which would erase an extra
// attribute, so a replay's end of shard S lives in a row of its own, keyed
// S + replayEndSuffix. The library ignores it: it only reads the rows of
// shards it lists and skips rows without AssignedTo and Checkpoint.
const (
	replayEndSuffix = "#replayEnd"
	attrEnd         = "ReplayEnd" // a map, as package dynamo writes it
)

// DynamoDBAPI is the part of the DynamoDB client Checkpoints uses.
type DynamoDBAPI interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ErrNotLeaseTable: the table has another key schema (e.g. the Java KCL's
// leaseKey).
var ErrNotLeaseTable = errors.New("not a vmware-go-kcl lease table")

// Checkpoints reads a vmware-go-kcl-v2 lease table: a
// lease.CheckpointReader and lease.ReplayEndStore. Checkpoints in this
// layout are whole aggregates (SubSequence -1) and carry no counter.
type Checkpoints struct {
	db    DynamoDBAPI
	table string
}

// NewCheckpoints opens the lease table named table (nothing is read yet).
func NewCheckpoints(db DynamoDBAPI, table string) *Checkpoints {
	return &Checkpoints{db: db, table: table}
}

// EnsureTable creates the lease table in the library's layout (hash key
// ShardID, on demand) unless it exists, and waits until it is active. A
// table with another key is ErrNotLeaseTable.
func (c *Checkpoints) EnsureTable(ctx context.Context) error {
	_, err := c.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &c.table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrShardID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrShardID), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create lease table %s: %w", c.table, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		out, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.table})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			if k := out.Table.KeySchema; len(k) != 1 || aws.ToString(k[0].AttributeName) != attrShardID {
				return fmt.Errorf("lease table %s: %w", c.table, ErrNotLeaseTable)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lease table %s not active: %v", c.table, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// ReadCheckpoints scans the table (consistent), sorted by shard id. A
// missing table is no rows; a table with another key is ErrNotLeaseTable.
func (c *Checkpoints) ReadCheckpoints(ctx context.Context) ([]lease.ShardCheckpoint, error) {
	d, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.table})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe lease table %s: %w", c.table, err)
	}
	if ks := d.Table.KeySchema; len(ks) != 1 || aws.ToString(ks[0].AttributeName) != attrShardID {
		return nil, fmt.Errorf("table %s: %w", c.table, ErrNotLeaseTable)
	}
	rows := map[string]*lease.ShardCheckpoint{}
	get := func(id string) *lease.ShardCheckpoint {
		r := rows[id]
		if r == nil {
			r = &lease.ShardCheckpoint{ShardID: id, SubSequence: -1}
			rows[id] = r
		}
		return r
	}
	in := &dynamodb.ScanInput{TableName: &c.table, ConsistentRead: aws.Bool(true)}
	for {
		page, err := c.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan lease table %s: %w", c.table, err)
		}
		for _, it := range page.Items {
			id := str(it[attrShardID])
			if shard, ok := strings.CutSuffix(id, replayEndSuffix); ok {
				m, _ := it[attrEnd].(*types.AttributeValueMemberM)
				if m == nil {
					continue
				}
				e, err := decodeEnd(m.Value)
				if err != nil {
					return nil, fmt.Errorf("lease table %s: %s: %w", c.table, id, err)
				}
				get(shard).ReplayEnd = &e
				continue
			}
			if id == "" {
				continue
			}
			r := get(id)
			r.Owner, r.Checkpoint = str(it[attrAssignedTo]), str(it[attrCheckpoint])
			if p := str(it[attrParent]); p != "" {
				r.Parents = []string{p}
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	out := make([]lease.ShardCheckpoint, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b lease.ShardCheckpoint) int {
		if len(a.ShardID) != len(b.ShardID) {
			return len(a.ShardID) - len(b.ShardID)
		}
		return strings.Compare(a.ShardID, b.ShardID)
	})
	return out, nil
}

// PutReplayEnd writes the end row of shardID unless it exists
// (attribute_not_exists(ShardID)) and returns the end stored.
func (c *Checkpoints) PutReplayEnd(ctx context.Context, shardID string, end lease.ReplayEnd) (lease.ReplayEnd, error) {
	k := shardID + replayEndSuffix
	_, err := c.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &c.table,
		Item: map[string]types.AttributeValue{
			attrShardID: &types.AttributeValueMemberS{Value: k},
			attrEnd:     &types.AttributeValueMemberM{Value: encodeEnd(end)},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": attrShardID},
	})
	if err == nil {
		return end, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return lease.ReplayEnd{}, fmt.Errorf("put replay end of %s: %w", shardID, err)
	}
	o, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &c.table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{attrShardID: &types.AttributeValueMemberS{Value: k}}})
	if err != nil {
		return lease.ReplayEnd{}, fmt.Errorf("get replay end of %s: %w", shardID, err)
	}
	m, ok := o.Item[attrEnd].(*types.AttributeValueMemberM)
	if !ok {
		return lease.ReplayEnd{}, fmt.Errorf("replay end row of %s has no %s", shardID, attrEnd)
	}
	return decodeEnd(m.Value)
}

func str(v types.AttributeValue) string {
	if v, ok := v.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func encodeEnd(e lease.ReplayEnd) map[string]types.AttributeValue {
	ts := func(t time.Time) types.AttributeValue {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
	}
	m := map[string]types.AttributeValue{
		"empty": &types.AttributeValueMemberBOOL{Value: e.Empty}, "from": ts(e.From), "to": ts(e.To),
	}
	if !e.Empty {
		m["sequenceNumber"] = &types.AttributeValueMemberS{Value: e.SequenceNumber}
		m["lastSubSequenceNumber"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.LastSubSequence, 10)}
		m["firstArrival"], m["lastArrival"] = ts(e.FirstArrival), ts(e.LastArrival)
	}
	return m
}

func decodeEnd(m map[string]types.AttributeValue) (lease.ReplayEnd, error) {
	var e lease.ReplayEnd
	if b, ok := m["empty"].(*types.AttributeValueMemberBOOL); ok {
		e.Empty = b.Value
	}
	e.SequenceNumber = str(m["sequenceNumber"])
	if v, ok := m["lastSubSequenceNumber"].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return e, fmt.Errorf("lastSubSequenceNumber: %w", err)
		}
		e.LastSubSequence = n
	}
	for name, dst := range map[string]*time.Time{"firstArrival": &e.FirstArrival, "lastArrival": &e.LastArrival, "from": &e.From, "to": &e.To} {
		if v := str(m[name]); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return e, fmt.Errorf("%s: %w", name, err)
			}
			*dst = t
		}
	}
	if !e.Empty && !lease.IsSequenceNumber(e.SequenceNumber) {
		return e, fmt.Errorf("sequenceNumber %q is not a sequence number", e.SequenceNumber)
	}
	return e, nil
}

var _ lease.ReplayEndStore = (*Checkpoints)(nil)
