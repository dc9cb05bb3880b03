package dynamo

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/e2e"
)

// skipFirstShardEnd is a processor that "forgets" CheckpointShardEnd the
// first time it is told ShardEnd.
type skipFirstShardEnd struct {
	*proc
	skipped *atomic.Int32
}

func (p skipFirstShardEnd) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	if reason == lease.ShardEnd && p.skipped.Add(1) == 1 {
		return
	}
	p.proc.Shutdown(ctx, reason, cp)
}

// TestShardEndNotCheckpointed: a processor that does not checkpoint
// SHARD_END gets the shard again (from its checkpoint: nothing re-read),
// the children wait until SHARD_END is finally stored, and a premature
// CheckpointShardEnd is refused.
func TestShardEndNotCheckpointed(t *testing.T) {
	st := needStack(t)
	stream := st.createStream(t, "shardend", 1)
	sh := st.openShards(t, stream)[0]
	s := newSink()
	var want []string
	put := func(tag string) {
		var es []entry
		for j := range 10 {
			d := fmt.Sprintf("%s-%d", tag, j)
			es = append(es, entry{pk: d, recs: []string{d}})
			want = append(want, d)
		}
		st.put(t, stream, es)
	}
	put("parent")
	var skipped atomic.Int32
	var early atomic.Value
	factory := func() lease.Processor {
		p := &proc{s: s, worker: "w1", before: func(ctx context.Context, p *proc, recs []lease.Record, cp lease.Checkpointer) bool {
			if err := cp.CheckpointShardEnd(ctx); err != nil && early.Load() == nil {
				early.Store(err)
			}
			return false
		}}
		return skipFirstShardEnd{proc: p, skipped: &skipped}
	}
	w := st.start(t, testConfig(t, stream, "w1"), hooks{}, factory)
	waitFor(t, "parent records", 30*time.Second, func() bool { return s.has(want) })
	if _, err := st.kin.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: sh.ShardId, NewStartingHashKey: aws.String(e2e.MidHashKey(sh))}); err != nil {
		t.Fatal(err)
	}
	st.waitActive(t, stream)
	put("child")
	waitFor(t, "child records", 30*time.Second, func() bool { return s.has(want) })
	if dups := s.check(t, want); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	if n := skipped.Load(); n < 2 {
		t.Errorf("ShardEnd shutdowns: %d, want a second one after the skipped checkpoint", n)
	}
	if err, _ := early.Load().(error); err == nil || !isNotAtShardEnd(err) {
		t.Errorf("CheckpointShardEnd before the shard end: %v, want ErrNotAtShardEnd", err)
	}
	s.mu.Lock()
	parent := aws.ToString(sh.ShardId)
	for child, at := range s.inits {
		if child != parent && !at.After(s.ended[parent]) {
			t.Errorf("child %s started at %s, before the parent's SHARD_END at %s", child, at, s.ended[parent])
		}
	}
	s.mu.Unlock()
	leases := st.leases(t, stream)
	if l, ok := leases[parent]; ok {
		if l.Checkpoint != ShardEnd || len(l.Children) != 2 || slices.Contains(l.Children, parent) {
			t.Errorf("parent lease: %+v, want SHARD_END with 2 childShardIds", l)
		}
	} else {
		// Already deleted as finished: allowed only once both children
		// have progressed past their initial position (cleanup's rule,
		// the Java LeaseCleanupManager's), and they keep the lineage.
		n := 0
		for key, cl := range leases {
			if !slices.Contains(cl.Parents, parent) {
				continue
			}
			n++
			if isInitial(cl.Checkpoint) {
				t.Errorf("parent lease deleted while child %s is still at %s", key, cl.Checkpoint)
			}
		}
		if n != 2 {
			t.Errorf("parent lease deleted; %d child leases name it as parent, want 2", n)
		}
	}
	w.stop(t)
}
