package consumer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/stages"
)

// recObserver records the calls it gets.
type recObserver struct {
	mu    sync.Mutex
	calls []string
}

func (o *recObserver) add(f string, a ...any) {
	o.mu.Lock()
	o.calls = append(o.calls, fmt.Sprintf(f, a...))
	o.mu.Unlock()
}
func (o *recObserver) ShardStarted(s string) { o.add("start %s", s) }
func (o *recObserver) ShardStopped(s string, r lease.ShutdownReason) {
	o.add("stop %s %s", s, r)
}
func (o *recObserver) RecordsRead(s string, n int, behind int64) {
	o.add("read %s %d %d", s, n, behind)
}
func (o *recObserver) Checkpointed(s string)      { o.add("checkpoint %s", s) }
func (o *recObserver) Delivering(s string, n int) { o.add("delivering %s %d", s, n) }
func (o *recObserver) BatchDone(s string, b *stages.Batch, st sink.Stats, _ time.Duration, err error) {
	o.add("done %s events=%d delivered=%d rejected=%d err=%v", s, len(b.Events), st.Delivered, st.Rejected, err)
}
func (o *recObserver) DeadLettered(n int, err error) { o.add("dead letters %d %v", n, err) }

// TestObserver: the processor reports each lease event and batch once,
// with Deliver's stats, and the dead letters it stores.
func TestObserver(t *testing.T) {
	o := &recObserver{}
	s := &memSink{reject: "b2"}
	p := newTestProcessor(s, observeDeadLetters(o, &memDL{}), 3)
	p.obs = o
	cp := &memCP{}
	p.Initialize(context.Background(), "shard-1")
	p.ProcessRecords(context.Background(), recs("ab", "cx", "d"), cp, 1500)
	p.Shutdown(context.Background(), lease.ShardEnd, cp)
	want := []string{
		"start shard-1",
		"read shard-1 3 1500",
		"delivering shard-1 4",
		"done shard-1 events=4 delivered=2 rejected=1 err=<nil>",
		"dead letters 2 <nil>", // x failed, b2 rejected
		"checkpoint shard-1",
		"delivering shard-1 1",
		"done shard-1 events=1 delivered=0 rejected=0 err=<nil>",
		"checkpoint shard-1",
		"stop shard-1 shard_end",
	}
	if !slices.Equal(o.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", o.calls, want)
	}
}

// TestNoObserver: a processor without one works (tests and benchmarks
// build processors directly).
func TestNoObserver(t *testing.T) {
	p := newTestProcessor(&memSink{}, &memDL{}, 10)
	p.Initialize(context.Background(), "s")
	p.ProcessRecords(context.Background(), recs("ab"), &memCP{}, 0)
	p.Shutdown(context.Background(), lease.Requested, &memCP{})
}
