package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/siemstream/siemstream/internal/e2e"
)

// flakyKinesis throttles every 3rd GetRecords and expires the iterator on
// every 7th, without calling the service.
type flakyKinesis struct {
	KinesisAPI
	calls, throttled, expired atomic.Int64
}

func (f *flakyKinesis) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	n := f.calls.Add(1)
	switch {
	case n%7 == 0:
		f.expired.Add(1)
		return nil, &ktypes.ExpiredIteratorException{Message: aws.String("injected")}
	case n%3 == 0:
		f.throttled.Add(1)
		return nil, &ktypes.ProvisionedThroughputExceededException{Message: aws.String("injected")}
	}
	return f.KinesisAPI.GetRecords(ctx, in, o...)
}

// lossyDynamo lets every 4th UpdateItem land but reports a timeout, as when
// the response is lost: the coordinator must not take its own write for a
// lost lease.
type lossyDynamo struct {
	DynamoDBAPI
	updates, lost atomic.Int64
}

func (l *lossyDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := l.DynamoDBAPI.UpdateItem(ctx, in, o...)
	if err == nil && strings.Contains(aws.ToString(in.UpdateExpression), "SET #c = :new") && !strings.Contains(aws.ToString(in.UpdateExpression), "#o = :me") {
		// renew or checkpoint (not take)
		if l.updates.Add(1)%4 == 0 {
			l.lost.Add(1)
			return nil, fmt.Errorf("injected: %w", context.DeadlineExceeded)
		}
	}
	return out, err
}

// TestFaultsNoLoss: throttling, expired iterators and lost DynamoDB
// responses on one worker: every record is delivered exactly once, no
// lease is lost, and the final checkpoints are the last records.
func TestFaultsNoLoss(t *testing.T) {
	st := needStack(t)
	stream := st.createStream(t, "faults", 2)
	shards := st.openShards(t, stream)
	s := newSink()
	var want []string
	kin := &flakyKinesis{KinesisAPI: st.kin}
	db := &lossyDynamo{DynamoDBAPI: st.db}
	cfg := testConfig(t, stream, "w1")
	cfg.MaxRecords = 7 // many small batches: many checkpoints
	w := st.startClients(t, cfg, hooks{}, s.factory("w1", nil), kin, db)
	for round := range 5 {
		var es []entry
		for i, sh := range shards {
			for j := range 20 {
				d := fmt.Sprintf("r%d-s%d-%02d", round, i, j)
				if j%5 == 4 {
					// a KPL aggregate of 3 every 5th entry
					recs := []string{d + "-a", d + "-b", d + "-c"}
					es = append(es, entry{ehk: e2e.MidHashKey(sh), pk: d, agg: true, recs: recs})
					want = append(want, recs...)
					continue
				}
				es = append(es, entry{ehk: e2e.MidHashKey(sh), pk: d, recs: []string{d}})
				want = append(want, d)
			}
		}
		st.put(t, stream, es)
	}
	waitFor(t, "all records", 60*time.Second, func() bool { return s.has(want) })
	if dups := s.check(t, want); dups != 0 {
		t.Errorf("%d duplicates, want 0", dups)
	}
	st0 := w.c.Status()
	if st0.Losses != 0 {
		t.Errorf("%d leases lost; lost responses must be reconciled, not treated as a loss", st0.Losses)
	}
	// The stored checkpoints reach the last record of each shard (an
	// injected lost response hides a write that landed; the coordinator
	// adopts it instead of treating it as a loss).
	waitFor(t, "final checkpoints", 10*time.Second, func() bool {
		ls := st.leases(t, stream)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, sh := range shardIDs(shards) {
			last := s.lastRec[sh]
			if ls[sh].Checkpoint != last.SequenceNumber || ls[sh].SubSequence != last.SubSequence {
				return false
			}
		}
		return true
	})
	var lostErrs int
	s.mu.Lock()
	for _, err := range s.cpErrs {
		if errors.Is(err, ErrLeaseLost) {
			t.Errorf("checkpoint refused as lease lost: %v", err)
		}
		lostErrs++
	}
	s.mu.Unlock()
	t.Logf("GetRecords %d calls: %d throttled, %d expired iterators; %d lease writes with a lost response (%d surfaced to processors); %d records, 0 duplicates",
		kin.calls.Load(), kin.throttled.Load(), kin.expired.Load(), db.lost.Load(), lostErrs, len(want))
	if kin.throttled.Load() == 0 || kin.expired.Load() == 0 || db.lost.Load() == 0 {
		t.Errorf("faults not exercised")
	}
	w.stop(t)
}
