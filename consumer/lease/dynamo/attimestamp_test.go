package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/siemstream/siemstream/internal/e2e"
)

// TestAtTimestampNothingAfter: AT_TIMESTAMP leases on shards where no
// record arrived at or after the timestamp. Kinesis answers such a
// GetShardIterator at once (an iterator at the tip); kinesalite never
// answers it, and a coordinator that waits for the answer never reads the
// shard: a closed parent never reaches SHARD_END and its children are never
// read (a replay whose window holds a split of a shard with nothing in the
// window then waits forever). Here a parent split after its last record must
// reach SHARD_END so its children's records are delivered, an open shard
// must deliver what arrives later, and nothing that arrived before the
// timestamp may be delivered.
func TestAtTimestampNothingAfter(t *testing.T) {
	st := needStack(t)
	stream := st.createStream(t, "atts", 2)
	shards := st.openShards(t, stream)
	var before []entry
	for i, sh := range shards {
		for j := range 3 {
			d := fmt.Sprintf("before-s%d-%d", i, j)
			before = append(before, entry{ehk: e2e.MidHashKey(sh), pk: d, recs: []string{d}})
		}
	}
	st.put(t, stream, before)
	ts := st.timestampAfter(t, stream, shards)
	parent := shards[0]
	if _, err := st.kin.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: parent.ShardId, NewStartingHashKey: aws.String(e2e.MidHashKey(parent))}); err != nil {
		t.Fatal(err)
	}
	st.waitActive(t, stream)
	var want []string
	var after []entry
	for _, ch := range st.openShards(t, stream) {
		if aws.ToString(ch.ParentShardId) != aws.ToString(parent.ShardId) {
			continue
		}
		for j := range 3 {
			d := fmt.Sprintf("after-%s-%d", aws.ToString(ch.ShardId), j)
			after = append(after, entry{ehk: e2e.MidHashKey(ch), pk: d, recs: []string{d}})
			want = append(want, d)
		}
	}
	if len(after) != 6 {
		t.Fatalf("children of %s: %d records planned, want 2 children", aws.ToString(parent.ShardId), len(after))
	}
	st.put(t, stream, after)

	cfg := testConfig(t, stream, "w1")
	cfg.InitialPositionInStream = AtTimestamp
	cfg.TimestampAtInitialPositionInStream = ts
	cfg.AtTimestampTimeoutMillis = 1000
	s := newSink()
	w := st.start(t, cfg, hooks{}, s.factory("w1", nil))
	waitFor(t, "the children's records (the parent at SHARD_END)", 60*time.Second, func() bool { return s.has(want) })
	// The open shard had nothing at or after ts when its iterator was asked
	// for; what arrives now is read.
	var late []entry
	for j := range 3 {
		d := fmt.Sprintf("late-s1-%d", j)
		late = append(late, entry{ehk: e2e.MidHashKey(shards[1]), pk: d, recs: []string{d}})
		want = append(want, d)
	}
	st.put(t, stream, late)
	waitFor(t, "the open shard's later records", 30*time.Second, func() bool { return s.has(want) })
	if dups := s.check(t, want); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	s.mu.Lock()
	_, ended := s.ended[aws.ToString(parent.ShardId)]
	errs := s.cpErrs
	s.mu.Unlock()
	if !ended {
		t.Errorf("parent %s: no SHARD_END checkpointed", aws.ToString(parent.ShardId))
	}
	for _, err := range errs {
		t.Errorf("checkpoint: %v", err)
	}
	w.stop(t)
}
