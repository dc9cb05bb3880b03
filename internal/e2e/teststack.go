package e2e

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Helpers for the tests of other packages (consumer/lease/dynamo,
// consumer/replay) that use the local stack's Kinesis and DynamoDB
// directly, and for this package's own tests: one home for connecting,
// skipping and creating test streams.

// envOrSkip loads .local/env and returns the module root, or skips t
// under -short or when the local stack is not started.
func envOrSkip(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ok, err := LoadEnv(root)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("local stack not started (.local/env missing): run `go tool task up`")
	}
	return root
}

// AWSOrSkip connects to the local stack's AWS services (see LoadEnv), or
// skips t under -short, when the stack is not started, or when Kinesis or
// DynamoDB does not answer. OpenSearch is not checked.
func AWSOrSkip(t testing.TB) *Stack {
	t.Helper()
	envOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kinesis.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)}); err != nil {
		t.Skipf("Kinesis not reachable: %v", err)
	}
	if _, err := s.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		t.Skipf("DynamoDB not reachable: %v", err)
	}
	return s
}

// TestStream creates a stream of that many shards on kin, waits for it
// to be ACTIVE and deletes it when t ends (the local Kinesis is shared by
// every test and has a 100-shard account limit).
func TestStream(t testing.TB, kin *kinesis.Client, name string, shards int) {
	t.Helper()
	if _, err := kin.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = kin.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &name})
	})
	WaitActive(t, kin, name)
}

// WaitActive waits up to 30 s for a stream to be ACTIVE (after a create,
// split or merge), or fails t.
func WaitActive(t testing.TB, kin *kinesis.Client, stream string) {
	t.Helper()
	err := WaitFor(t.Context(), 30*time.Second, func() (bool, error) {
		d, err := kin.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		return err == nil && d.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive, nil
	})
	if err != nil {
		t.Fatalf("stream %s not ACTIVE: %v", stream, err)
	}
}

// MidHashKey returns the middle of a shard's hash key range: a key that
// routes a record to that shard, or the split point that halves it.
func MidHashKey(sh ktypes.Shard) string {
	lo, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
	return new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1).String()
}
