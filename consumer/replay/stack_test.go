package replay

// Integration tests on the local stack (kinesalite, moto): FindEnd on
// real shards, and both coordinators' end stores. They skip when the stack
// is not started, and take a few seconds.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/wire"
)

type stack struct {
	kin *kinesis.Client
	db  *dynamodb.Client
}

func needStack(t *testing.T) *stack {
	t.Helper()
	e := e2e.AWSOrSkip(t)
	return &stack{kin: e.Kinesis, db: e.DynamoDB}
}

func (s *stack) createStream(t *testing.T, shards int) string {
	t.Helper()
	name := e2e.NewName("replay-end")
	e2e.TestStream(t, s.kin, name, shards)
	return name
}

func (s *stack) shards(t *testing.T, stream string) []ktypes.Shard {
	t.Helper()
	sh, err := ListShards(t.Context(), s.kin, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// put writes one record to the shard: an aggregate of n user records (a
// plain record when n is 0) and returns its sequence number and arrival.
func (s *stack) put(t *testing.T, stream string, sh ktypes.Shard, n int) (string, time.Time) {
	t.Helper()
	ehk := aws.ToString(sh.HashKeyRange.StartingHashKey)
	data := []byte("plain")
	if n > 0 {
		var users [][]byte
		for i := range n {
			users = append(users, fmt.Appendf(nil, "u%d", i))
		}
		data = wire.AppendAggregate(nil, "pk", ehk, users)
	}
	o, err := s.kin.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: &stream, Data: data, PartitionKey: aws.String("pk"), ExplicitHashKey: &ehk})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(o.ShardId) != aws.ToString(sh.ShardId) {
		t.Fatalf("record went to %s, not %s", aws.ToString(o.ShardId), aws.ToString(sh.ShardId))
	}
	seq := aws.ToString(o.SequenceNumber)
	it, err := s.kin.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId,
		ShardIteratorType: ktypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: &seq})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.kin.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
	if err != nil || len(g.Records) != 1 {
		t.Fatalf("read back %s: %v", seq, err)
	}
	return seq, aws.ToTime(g.Records[0].ApproximateArrivalTimestamp)
}

// clockPast waits until the local clock is past t (arrival times are the
// emulator's clock, the same machine's).
func clockPast(t *testing.T, at time.Time) {
	t.Helper()
	if err := e2e.WaitFor(t.Context(), 10*time.Second, func() (bool, error) { return time.Now().After(at), nil }); err != nil {
		t.Fatal(err)
	}
}

func findEnd(t *testing.T, s *stack, stream, shard string, from, to time.Time) lease.ReplayEnd {
	t.Helper()
	e, err := FindEnd(t.Context(), s.kin, stream, shard, Range{From: from, To: to}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFindEnd: the end of a range on real shards: a quiet shard (nothing
// after --to), a shard with records after --to, an empty shard, a range
// whose last record is an aggregate, a gap of seconds before --to (the
// backward search), a range before everything, a closed parent and its
// children after a split.
func TestFindEnd(t *testing.T) {
	s := needStack(t)
	stream := s.createStream(t, 2)
	sh := s.shards(t, stream)
	s0, s1 := sh[0], sh[1]
	id0, id1 := aws.ToString(s0.ShardId), aws.ToString(s1.ShardId)
	t0 := time.Now().Add(-time.Second)

	s.put(t, stream, s0, 0)
	s.put(t, stream, s0, 0)
	aggSeq, aggAt := s.put(t, stream, s0, 3) // the window ends in this aggregate
	clockPast(t, aggAt.Add(2500*time.Millisecond))
	t1 := time.Now() // 2.5 s after the last record: the backward search

	e := findEnd(t, s, stream, id0, t0, t1)
	if e.Empty || e.SequenceNumber != aggSeq || e.LastSubSequence != 2 || !e.LastArrival.Equal(aggAt) {
		t.Errorf("quiet shard: %+v, want %s/2 at %s", e, aggSeq, aggAt)
	}
	if e := findEnd(t, s, stream, id1, t0, t1); !e.Empty {
		t.Errorf("shard without records: %+v, want empty", e)
	}
	if e := findEnd(t, s, stream, id0, t0.Add(-time.Hour), t0.Add(-time.Minute)); !e.Empty {
		t.Errorf("range before every record: %+v, want empty", e)
	}

	// Records after --to: the end stays the aggregate.
	afterSeq, afterAt := s.put(t, stream, s0, 0)
	if e := findEnd(t, s, stream, id0, t0, t1); e.SequenceNumber != aggSeq || e.LastSubSequence != 2 {
		t.Errorf("records after --to: %+v, want %s/2", e, aggSeq)
	}
	// --to exactly at a record's arrival includes it.
	if e := findEnd(t, s, stream, id0, t0, afterAt); e.SequenceNumber != afterSeq || e.LastSubSequence != 0 {
		t.Errorf("--to at a record's arrival: %+v, want %s/0", e, afterSeq)
	}

	// Split shard 0: the parent is closed, its end is its last record; a
	// child has nothing until a record is put into it.
	if _, err := s.kin.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: s0.ShardId,
		NewStartingHashKey: aws.String(e2e.MidHashKey(s0))}); err != nil {
		t.Fatalf("split: %v", err)
	}
	e2e.WaitActive(t, s.kin, stream)
	var child ktypes.Shard
	for _, x := range s.shards(t, stream) {
		if aws.ToString(x.ParentShardId) == id0 {
			child = x
			break
		}
	}
	if child.ShardId == nil {
		t.Fatal("no child shard after the split")
	}
	now := time.Now()
	if e := findEnd(t, s, stream, id0, t0, now); e.SequenceNumber != afterSeq {
		t.Errorf("closed parent: %+v, want its last record %s", e, afterSeq)
	}
	if e := findEnd(t, s, stream, aws.ToString(child.ShardId), t0, now); !e.Empty {
		t.Errorf("child without records: %+v, want empty", e)
	}
	cseq, cat := s.put(t, stream, child, 2)
	clockPast(t, cat)
	if e := findEnd(t, s, stream, aws.ToString(child.ShardId), t0, time.Now()); e.SequenceNumber != cseq || e.LastSubSequence != 1 {
		t.Errorf("child: %+v, want %s/1", e, cseq)
	}
	// A child created after --to has nothing in range.
	if e := findEnd(t, s, stream, aws.ToString(child.ShardId), t0, t1); !e.Empty {
		t.Errorf("child created after --to: %+v, want empty", e)
	}
}

// TestEndStores: both coordinators' layouts store an end once (the first
// writer wins) and give it back with the checkpoints; the dynamo layout
// refuses a shard without a lease row instead of creating one.
func TestEndStores(t *testing.T) {
	s := needStack(t)
	e1 := lease.ReplayEnd{SequenceNumber: "49600000000000000000000000000000000000000000000000000001", LastSubSequence: 4,
		FirstArrival: time.Unix(100, 5e6).UTC(), LastArrival: time.Unix(200, 0).UTC(), From: time.Unix(50, 0).UTC(), To: time.Unix(300, 0).UTC()}
	e2 := e1
	e2.SequenceNumber, e2.LastSubSequence = "7", 0
	empty := lease.ReplayEnd{Empty: true, From: e1.From, To: e1.To}

	t.Run("dynamo", func(t *testing.T) {
		table := e2e.NewName("replay-ends")
		t.Cleanup(func() { _, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
		createTable(t, s.db, table, "leaseKey")
		st := dynamo.NewCheckpoints(s.db, table)
		if _, err := st.PutReplayEnd(t.Context(), "shardId-000000000000", e1); !errors.Is(err, lease.ErrNoLease) {
			t.Fatalf("no lease row: %v, want ErrNoLease", err)
		}
		for _, id := range []string{"shardId-000000000000", "shardId-000000000001"} {
			_, err := s.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: map[string]dtypes.AttributeValue{
				"leaseKey": &dtypes.AttributeValueMemberS{Value: id}, "checkpoint": &dtypes.AttributeValueMemberS{Value: "AT_TIMESTAMP"},
				"checkpointSubSequenceNumber": &dtypes.AttributeValueMemberN{Value: "0"}, "leaseCounter": &dtypes.AttributeValueMemberN{Value: "3"}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		checkStore(t, st, e1, e2, empty, 0)
	})
	t.Run("kcl", func(t *testing.T) {
		table := e2e.NewName("replay-ends-kcl")
		t.Cleanup(func() { _, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
		st := kcl.NewCheckpoints(s.db, table)
		if err := st.EnsureTable(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, err := s.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: map[string]dtypes.AttributeValue{
			"ShardID": &dtypes.AttributeValueMemberS{Value: "shardId-000000000000"}, "Checkpoint": &dtypes.AttributeValueMemberS{Value: "123"},
			"AssignedTo": &dtypes.AttributeValueMemberS{Value: "w1"}}})
		if err != nil {
			t.Fatal(err)
		}
		checkStore(t, st, e1, e2, empty, -1)
	})
}

func checkStore(t *testing.T, st lease.ReplayEndStore, e1, e2, empty lease.ReplayEnd, wantSub int64) {
	t.Helper()
	ctx := t.Context()
	got, err := st.PutReplayEnd(ctx, "shardId-000000000000", e1)
	if err != nil || got != e1 {
		t.Fatalf("first put: %+v %v", got, err)
	}
	if got, err = st.PutReplayEnd(ctx, "shardId-000000000000", e2); err != nil || got != e1 {
		t.Errorf("second put: %+v %v, want the first end kept", got, err)
	}
	if got, err = st.PutReplayEnd(ctx, "shardId-000000000001", empty); err != nil || got != empty {
		t.Errorf("empty end: %+v %v", got, err)
	}
	cps, err := st.ReadCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0].ShardID != "shardId-000000000000" || cps[1].ShardID != "shardId-000000000001" {
		t.Fatalf("checkpoints %+v", cps)
	}
	if cps[0].ReplayEnd == nil || *cps[0].ReplayEnd != e1 || cps[1].ReplayEnd == nil || *cps[1].ReplayEnd != empty {
		t.Errorf("ends read back: %+v %+v", cps[0].ReplayEnd, cps[1].ReplayEnd)
	}
	if cps[0].SubSequence != wantSub {
		t.Errorf("sub-sequence %d, want %d", cps[0].SubSequence, wantSub)
	}
}

func createTable(t *testing.T, db *dynamodb.Client, table, key string) {
	t.Helper()
	_, err := db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: &table, BillingMode: dtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dtypes.AttributeDefinition{{AttributeName: &key, AttributeType: dtypes.ScalarAttributeTypeS}},
		KeySchema:            []dtypes.KeySchemaElement{{AttributeName: &key, KeyType: dtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
