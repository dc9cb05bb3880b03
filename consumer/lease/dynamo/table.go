package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the coordinator uses.
type DynamoDBAPI interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Attribute names of the Java KCL lease table (DynamoDBLeaseSerializer).
const (
	attrLeaseKey          = "leaseKey"
	attrLeaseOwner        = "leaseOwner"
	attrLeaseCounter      = "leaseCounter"
	attrCheckpoint        = "checkpoint"
	attrCheckpointSubSeq  = "checkpointSubSequenceNumber"
	attrOwnerSwitches     = "ownerSwitchesSinceCheckpoint"
	attrParentShardID     = "parentShardId"
	attrChildShardIDs     = "childShardIds"
	attrStartingHashKey   = "startingHashKey"
	attrEndingHashKey     = "endingHashKey"
	attrPendingCheckpoint = "pendingCheckpoint"
	attrPendingSubSeq     = "pendingCheckpointSubSequenceNumber"
	attrPendingState      = "pendingCheckpointState"
	attrCheckpointOwner   = "checkpointOwner"
)

// Lease is one row of the lease table, in the Java KCL schema.
type Lease struct {
	Key                            string   // leaseKey: the shard id
	Owner                          string   // leaseOwner: "" = unowned
	Counter                        int64    // leaseCounter
	Checkpoint                     string   // checkpoint: sequence number or sentinel
	SubSequence                    int64    // checkpointSubSequenceNumber
	OwnerSwitches                  int64    // ownerSwitchesSinceCheckpoint
	Parents                        []string // parentShardId (SS)
	Children                       []string // childShardIds (SS)
	StartingHashKey, EndingHashKey string
	// PendingCheckpoint (two-phase checkpoint of the Java KCL) and
	// CheckpointOwner (KCL 3.x graceful handoff) are read, never written
	// except that a checkpoint removes pendingCheckpoint* as the KCL does.
	PendingCheckpoint string
	CheckpointOwner   string
}

func (l Lease) position() position { return position{seq: l.Checkpoint, sub: l.SubSequence} }

// ErrNotLeaseTable: the table exists with another key schema (for example
// a vmware-go-kcl table); Run refuses to use it.
var ErrNotLeaseTable = errors.New("not a Java KCL lease table")

// errConditionFailed is a conditional write that DynamoDB refused.
var errConditionFailed = errors.New("conditional check failed")

// leaseTable does the conditional reads and writes on one lease table.
type leaseTable struct {
	db   DynamoDBAPI
	name string
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrLeaseKey: s(k)}
}

// wrapCond turns DynamoDB's ConditionalCheckFailedException into
// errConditionFailed and wraps everything with the operation.
func wrapCond(op, k string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s lease %s: %w", op, k, errConditionFailed)
	}
	return fmt.Errorf("%s lease %s: %w", op, k, err)
}

// ensure creates the table (PAY_PER_REQUEST, hash key leaseKey) if it does
// not exist and waits until it is ACTIVE. A table with another key schema
// (e.g. vmware-go-kcl's ShardID) is an error: the schemas must not mix.
func (t *leaseTable) ensure(ctx context.Context) error {
	d, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &t.name})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		_, err = t.db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            &t.name,
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrLeaseKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrLeaseKey), KeyType: types.KeyTypeHash}},
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create lease table %s: %w", t.name, err)
		}
	case err != nil:
		return fmt.Errorf("describe lease table %s: %w", t.name, err)
	default:
		if err := checkKeySchema(t.name, d.Table.KeySchema); err != nil {
			return err
		}
	}
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		d, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &t.name})
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("describe lease table %s: %w", t.name, err)
		}
		if err == nil && d.Table.TableStatus == types.TableStatusActive {
			return checkKeySchema(t.name, d.Table.KeySchema)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lease table %s: %w", t.name, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func checkKeySchema(table string, ks []types.KeySchemaElement) error {
	if len(ks) == 1 && aws.ToString(ks[0].AttributeName) == attrLeaseKey && ks[0].KeyType == types.KeyTypeHash {
		return nil
	}
	names := make([]string, len(ks))
	for i := range ks {
		names[i] = aws.ToString(ks[i].AttributeName)
	}
	return fmt.Errorf("table %s has key %v, not %s: %w (a vmware-go-kcl table uses ShardID); use another applicationName or tableName", table, names, attrLeaseKey, ErrNotLeaseTable)
}

// scan reads every lease with strongly consistent reads.
func (t *leaseTable) scan(ctx context.Context) ([]Lease, error) {
	var out []Lease
	in := &dynamodb.ScanInput{TableName: &t.name, ConsistentRead: aws.Bool(true)}
	for {
		page, err := t.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan lease table %s: %w", t.name, err)
		}
		for _, it := range page.Items {
			l, err := decodeLease(it)
			if err != nil {
				return nil, fmt.Errorf("lease table %s: %w", t.name, err)
			}
			out = append(out, l)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// get reads one lease (consistent); ok is false when it does not exist.
func (t *leaseTable) get(ctx context.Context, k string) (Lease, bool, error) {
	o, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.name, Key: key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Lease{}, false, fmt.Errorf("get lease %s: %w", k, err)
	}
	if len(o.Item) == 0 {
		return Lease{}, false, nil
	}
	l, err := decodeLease(o.Item)
	return l, err == nil, err
}

// create writes a new unowned lease unless one exists (the only whole-item
// write); created is false when it existed.
func (t *leaseTable) create(ctx context.Context, l Lease) (created bool, err error) {
	item := map[string]types.AttributeValue{
		attrLeaseKey:         s(l.Key),
		attrLeaseCounter:     n(0),
		attrCheckpoint:       s(l.Checkpoint),
		attrCheckpointSubSeq: n(l.SubSequence),
		attrOwnerSwitches:    n(0),
	}
	if len(l.Parents) > 0 {
		item[attrParentShardID] = &types.AttributeValueMemberSS{Value: l.Parents}
	}
	if l.StartingHashKey != "" {
		item[attrStartingHashKey] = s(l.StartingHashKey)
	}
	if l.EndingHashKey != "" {
		item[attrEndingHashKey] = s(l.EndingHashKey)
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &t.name, Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": attrLeaseKey},
	})
	if err != nil {
		err = wrapCond("create", l.Key, err)
		if errors.Is(err, errConditionFailed) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// renew bumps the counter of a lease I hold: condition leaseCounter = held
// and leaseOwner = me.
func (t *leaseTable) renew(ctx context.Context, k, me string, held int64) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &t.name, Key: key(k),
		UpdateExpression:         aws.String("SET #c = :new"),
		ConditionExpression:      aws.String("#c = :held AND #o = :me"),
		ExpressionAttributeNames: map[string]string{"#c": attrLeaseCounter, "#o": attrLeaseOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": n(held + 1), ":held": n(held), ":me": s(me),
		},
	})
	if err != nil {
		return wrapCond("renew", k, err)
	}
	return nil
}

// take makes me the owner of a lease last seen as seen (expired, unowned or
// stolen): condition leaseCounter = seen.Counter. It returns the lease as
// written.
func (t *leaseTable) take(ctx context.Context, seen Lease, me string) (Lease, error) {
	upd := "SET #c = :new, #o = :me"
	vals := map[string]types.AttributeValue{":new": n(seen.Counter + 1), ":seen": n(seen.Counter), ":me": s(me)}
	names := map[string]string{"#c": attrLeaseCounter, "#o": attrLeaseOwner}
	if seen.Owner != "" && seen.Owner != me {
		upd += " ADD #sw :one"
		vals[":one"] = n(1)
		names["#sw"] = attrOwnerSwitches
	}
	o, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &t.name, Key: key(seen.Key),
		UpdateExpression:          &upd,
		ConditionExpression:       aws.String("#c = :seen"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return Lease{}, wrapCond("take", seen.Key, err)
	}
	return decodeLease(o.Attributes)
}

// evict releases a lease I own: condition leaseOwner = me; remove
// leaseOwner, counter + 1, so peers may take it at once.
func (t *leaseTable) evict(ctx context.Context, k, me string) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &t.name, Key: key(k),
		UpdateExpression:          aws.String("REMOVE #o ADD #c :one"),
		ConditionExpression:       aws.String("#o = :me"),
		ExpressionAttributeNames:  map[string]string{"#c": attrLeaseCounter, "#o": attrLeaseOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":me": s(me)},
	})
	if err != nil {
		return wrapCond("evict", k, err)
	}
	return nil
}

// checkpoint stores a position for a lease I hold: condition leaseCounter =
// held and leaseOwner = me; counter + 1, ownerSwitchesSinceCheckpoint = 0,
// pendingCheckpoint* removed, childShardIds set when given (SHARD_END).
func (t *leaseTable) checkpoint(ctx context.Context, k, me string, held int64, p position, children []string) error {
	upd := "SET #c = :new, #cp = :cp, #sub = :sub, #sw = :zero"
	names := map[string]string{
		"#c": attrLeaseCounter, "#o": attrLeaseOwner, "#cp": attrCheckpoint, "#sub": attrCheckpointSubSeq,
		"#sw": attrOwnerSwitches, "#pc": attrPendingCheckpoint, "#pcs": attrPendingSubSeq, "#pst": attrPendingState,
	}
	vals := map[string]types.AttributeValue{
		":new": n(held + 1), ":held": n(held), ":me": s(me), ":cp": s(p.seq), ":sub": n(p.sub), ":zero": n(0),
	}
	if len(children) > 0 {
		upd += ", #ch = :ch"
		names["#ch"] = attrChildShardIDs
		vals[":ch"] = &types.AttributeValueMemberSS{Value: children}
	}
	upd += " REMOVE #pc, #pcs, #pst"
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &t.name, Key: key(k),
		UpdateExpression:          &upd,
		ConditionExpression:       aws.String("#c = :held AND #o = :me"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return wrapCond("checkpoint", k, err)
	}
	return nil
}

// deleteFinished deletes a SHARD_END lease I own (lease cleanup).
func (t *leaseTable) deleteFinished(ctx context.Context, k, me string) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &t.name, Key: key(k),
		ConditionExpression:       aws.String("#o = :me AND #cp = :end"),
		ExpressionAttributeNames:  map[string]string{"#o": attrLeaseOwner, "#cp": attrCheckpoint},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": s(me), ":end": s(ShardEnd)},
	})
	if err != nil {
		return wrapCond("delete", k, err)
	}
	return nil
}

// decodeLease reads a lease item. Unknown attributes (KCL 3.x's
// throughputKBps, entityType, ...) are ignored and, since every write is an
// UpdateItem, preserved.
func decodeLease(it map[string]types.AttributeValue) (Lease, error) {
	var l Lease
	var err error
	l.Key = str(it[attrLeaseKey])
	if l.Key == "" {
		return l, errors.New("lease item without leaseKey")
	}
	l.Owner = str(it[attrLeaseOwner])
	l.Checkpoint = str(it[attrCheckpoint])
	l.StartingHashKey = str(it[attrStartingHashKey])
	l.EndingHashKey = str(it[attrEndingHashKey])
	l.PendingCheckpoint = str(it[attrPendingCheckpoint])
	l.CheckpointOwner = str(it[attrCheckpointOwner])
	l.Parents = strSet(it[attrParentShardID])
	l.Children = strSet(it[attrChildShardIDs])
	for _, f := range []struct {
		name string
		dst  *int64
	}{{attrLeaseCounter, &l.Counter}, {attrCheckpointSubSeq, &l.SubSequence}, {attrOwnerSwitches, &l.OwnerSwitches}} {
		if *f.dst, err = num(it[f.name]); err != nil {
			return l, fmt.Errorf("lease %s: %s: %w", l.Key, f.name, err)
		}
	}
	return l, nil
}

func str(v types.AttributeValue) string {
	if v, ok := v.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// strSet reads an SS (the Java type); a plain S (written by other tools)
// is accepted as a one-element set.
func strSet(v types.AttributeValue) []string {
	switch v := v.(type) {
	case *types.AttributeValueMemberSS:
		out := slices.Clone(v.Value)
		slices.Sort(out)
		return out
	case *types.AttributeValueMemberS:
		if v.Value != "" {
			return []string{v.Value}
		}
	}
	return nil
}

func num(v types.AttributeValue) (int64, error) {
	nv, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(nv.Value, 10, 64)
}

// ScanLeases reads every lease of a table (consistent), for operators and
// tests.
func ScanLeases(ctx context.Context, db DynamoDBAPI, table string) ([]Lease, error) {
	return (&leaseTable{db: db, name: table}).scan(ctx)
}
