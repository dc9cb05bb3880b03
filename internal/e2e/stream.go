package e2e

// What a Kinesis stream holds, shard by shard.

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/siemstream/siemstream/internal/wire"
)

// ---- stream content ----

// ShardContent is what one shard holds.
type ShardContent struct {
	Records int64 // Kinesis records (KPL aggregates)
	Events  int64 // raw log records inside their chunks
	// PerRecord is the events of each Kinesis record, in stream order.
	PerRecord []int64
	Closed    bool
	Parents   []string
}

// StreamContent is what a stream holds, per shard.
type StreamContent struct {
	Records, Events int64
	Shards          map[string]*ShardContent
}

// ReadStream reads every shard (closed ones too) from TRIM_HORIZON to its
// end or tip and counts records and the events inside them. Tests use it to
// tell producer-side re-sends (an object sent twice) from consumer-side
// duplicates.
func (s *Stack) ReadStream(ctx context.Context, stream string) (StreamContent, error) {
	sc := StreamContent{Shards: map[string]*ShardContent{}}
	shards, err := s.ListAllShards(ctx, stream)
	if err != nil {
		return sc, err
	}
	var dec wire.Decoder
	var chunk wire.Chunk
	var users [][]byte
	for _, sh := range shards {
		c := &ShardContent{Closed: sh.SequenceNumberRange.EndingSequenceNumber != nil}
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil {
				c.Parents = append(c.Parents, *p)
			}
		}
		sc.Shards[*sh.ShardId] = c
		it, err := s.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return sc, fmt.Errorf("iterator %s/%s: %w", stream, *sh.ShardId, err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := s.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return sc, fmt.Errorf("get records %s/%s: %w", stream, *sh.ShardId, err)
			}
			for _, r := range out.Records {
				users, _, err = wire.AppendUserRecords(users[:0], r.Data)
				if err != nil {
					return sc, fmt.Errorf("record %s: %w", aws.ToString(r.SequenceNumber), err)
				}
				var n int64
				for _, u := range users {
					if err := dec.Decode(u, &chunk); err != nil {
						return sc, fmt.Errorf("chunk in record %s: %w", aws.ToString(r.SequenceNumber), err)
					}
					n += int64(len(chunk.Records))
				}
				c.Records++
				c.Events += n
				c.PerRecord = append(c.PerRecord, n)
			}
			iter = out.NextShardIterator
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
		}
		sc.Records += c.Records
		sc.Events += c.Events
	}
	return sc, nil
}

// ListAllShards lists every shard of a stream, closed ones included.
func (s *Stack) ListAllShards(ctx context.Context, stream string) ([]ktypes.Shard, error) {
	var shards []ktypes.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := s.Kinesis.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// MaxWindow is the largest sum of w consecutive values: the most events one
// GetRecords call of w records can carry.
func MaxWindow(perRecord []int64, w int) int64 {
	var best, sum int64
	for i, v := range perRecord {
		sum += v
		if i >= w {
			sum -= perRecord[i-w]
		}
		best = max(best, sum)
	}
	return best
}
