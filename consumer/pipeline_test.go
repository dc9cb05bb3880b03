package consumer

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/stages"
)

// gateSink holds every Write until the test opens the gate of the write's
// first document id, so the test decides the order in which batches
// complete.
type gateSink struct {
	mu      sync.Mutex
	gates   map[string]chan struct{}
	started chan string
	written []string
}

func newGateSink() *gateSink {
	return &gateSink{gates: map[string]chan struct{}{}, started: make(chan string, 100)}
}

func (g *gateSink) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := g.gates[id]
	if ch == nil {
		ch = make(chan struct{})
		g.gates[id] = ch
	}
	return ch
}

func (g *gateSink) open(id string) { close(g.gate(id)) }

func (g *gateSink) Write(ctx context.Context, docs []sink.Doc, res []sink.Result) error {
	if len(docs) == 0 {
		return nil
	}
	id := docs[0].ID
	g.started <- id
	select {
	case <-g.gate(id):
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, d := range docs {
		g.written = append(g.written, d.ID)
		res[i] = sink.Result{Outcome: sink.Delivered, Status: 201}
	}
	return nil
}

// syncCP is a Checkpointer the test reads while the processor runs.
type syncCP struct {
	mu    sync.Mutex
	seqs  []string
	moved chan string
}

func newSyncCP() *syncCP { return &syncCP{moved: make(chan string, 100)} }

func (c *syncCP) Checkpoint(_ context.Context, r *lease.Record) error {
	s := r.SequenceNumber + "/" + strconv.FormatInt(r.SubSequence, 10)
	c.mu.Lock()
	c.seqs = append(c.seqs, s)
	c.mu.Unlock()
	c.moved <- s
	return nil
}

func (c *syncCP) CheckpointShardEnd(context.Context) error {
	c.mu.Lock()
	c.seqs = append(c.seqs, "SHARD_END")
	c.mu.Unlock()
	c.moved <- "SHARD_END"
	return nil
}

func (c *syncCP) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seqs)
}

// syncDL is memDL safe for concurrent batches.
type syncDL struct {
	mu  sync.Mutex
	got []sink.DeadLetter
}

func (m *syncDL) Put(_ context.Context, dls []sink.DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, dls...)
	return nil
}

func newPipelined(s sink.Sink, depth int) *processor {
	p := newTestProcessor(s, &syncDL{}, 1) // one event per record: one batch per record
	p.maxInflight = depth
	p.newUnpacker = func() Unpacker { return &lineUnpacker{src: stages.Source{LogType: "t", Bucket: "b", Key: "k"}} }
	return p
}

func waitStarted(t *testing.T, g *gateSink, want ...string) {
	t.Helper()
	var got []string
	for len(got) < len(want) {
		select {
		case id := <-g.started:
			got = append(got, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("writes started %v, want %v", got, want)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("writes started %v, want %v", got, want)
	}
}

func waitMoved(t *testing.T, cp *syncCP, want string) {
	t.Helper()
	for {
		select {
		case s := <-cp.moved:
			if s == want {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("checkpoint never reached %s: %v", want, cp.get())
		}
	}
}

// processAsync runs ProcessRecords on its own goroutine (the call drains
// before it returns) and returns a channel closed when it does.
func processAsync(ctx context.Context, p *processor, rs []lease.Record, cp lease.Checkpointer) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ProcessRecords(ctx, rs, cp, 1000)
	}()
	return done
}

// quiet fails when the call returns or the checkpoint moves within a short
// while (a negative check: nothing may happen until the test acts).
func quiet(t *testing.T, done chan struct{}, cp *syncCP, why string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("ProcessRecords returned: %s", why)
	case s := <-cp.moved:
		t.Fatalf("checkpoint moved to %s: %s", s, why)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestWatermarkOutOfOrder: batches that complete after a later one never
// let the checkpoint pass them, and the checkpoint covers the whole
// acknowledged prefix once they do; no more than the depth are in flight.
func TestWatermarkOutOfOrder(t *testing.T) {
	g := newGateSink()
	p := newPipelined(g, 3)
	cp := newSyncCP()
	rs := recs("a", "b", "c", "e", "f")
	done := processAsync(context.Background(), p, rs, cp)
	waitStarted(t, g, "a1", "b1", "c1")
	g.open("c1")
	g.open("b1")
	// Records 4 and 5 need a slot: the call waits for the oldest batch,
	// which is still open, so nothing may be checkpointed meanwhile.
	quiet(t, done, cp, "record 1 is not acknowledged")
	if len(g.started) != 0 {
		t.Fatal("a 4th batch started with 3 in flight")
	}
	g.open("a1")
	waitMoved(t, cp, "3/0")
	waitStarted(t, g, "e1", "f1")
	g.open("f1")
	quiet(t, done, cp, "record 4 is not acknowledged")
	g.open("e1")
	<-done
	// The caller reuses its slice (the kcl adapter does): nothing of it is
	// kept after the call.
	for i := range rs {
		rs[i].SequenceNumber = "999"
	}
	p.Shutdown(context.Background(), lease.ShardEnd, cp)
	if got := cp.get(); !slices.Equal(got, []string{"3/0", "5/0", "SHARD_END"}) {
		t.Fatalf("checkpoints %v, want [3/0 5/0 SHARD_END]", got)
	}
	if tot := p.counts.Total(); tot.Delivered != 5 {
		t.Fatalf("delivered %d, want 5", tot.Delivered)
	}
}

// TestLeaseLostMidFlight: the lease is lost (the coordinator cancels the
// context) while batches are in flight: the call returns, nothing past the
// acknowledged prefix is checkpointed, and Shutdown(LeaseLost) returns.
func TestLeaseLostMidFlight(t *testing.T) {
	g := newGateSink()
	p := newPipelined(g, 3)
	cp := newSyncCP()
	ctx, cancel := context.WithCancel(context.Background())
	done := processAsync(ctx, p, recs("a", "b", "c"), cp)
	waitStarted(t, g, "a1", "b1", "c1")
	g.open("a1")
	g.open("c1") // acknowledged, but after the open batch 2
	waitMoved(t, cp, "1/0")
	cancel()
	<-done
	p.Shutdown(ctx, lease.LeaseLost, cp)
	if got := cp.get(); !slices.Equal(got, []string{"1/0"}) {
		t.Fatalf("checkpoints %v: only 1/0 is acknowledged in order", got)
	}
	// A new read on this processor (a coordinator that did not notice)
	// must not checkpoint past the lost batch either.
	p.ProcessRecords(context.Background(), recs("x", "x", "x", "e")[3:], cp, 0)
	if got := cp.get(); !slices.Equal(got, []string{"1/0"}) {
		t.Fatalf("checkpoints %v after a failed batch", got)
	}
}

// TestReadDrains: a call returns only when its batches are acknowledged
// and checkpointed (graceful stop then has nothing left in flight).
func TestReadDrains(t *testing.T) {
	g := newGateSink()
	p := newPipelined(g, 2)
	cp := newSyncCP()
	done := processAsync(context.Background(), p, recs("a", "b"), cp)
	waitStarted(t, g, "a1", "b1")
	g.open("b1")
	quiet(t, done, cp, "batch 1 is in flight")
	g.open("a1")
	<-done
	if got := cp.get(); got[len(got)-1] != "2/0" {
		t.Fatalf("checkpoints %v, want last 2/0", got)
	}
	p.Shutdown(context.Background(), lease.Requested, cp)
}

// TestShutdownGraceEnds: the sink never answers and the grace ends (the
// context is cancelled): nothing is checkpointed, everything returns.
func TestShutdownGraceEnds(t *testing.T) {
	g := newGateSink()
	p := newPipelined(g, 3)
	cp := newSyncCP()
	ctx, cancel := context.WithCancel(context.Background())
	done := processAsync(ctx, p, recs("a", "b"), cp)
	waitStarted(t, g, "a1", "b1")
	g.open("b1")
	cancel()
	<-done
	p.Shutdown(ctx, lease.Requested, cp)
	if got := cp.get(); len(got) != 0 {
		t.Fatalf("checkpointed %v although record 1 was never acknowledged", got)
	}
}

// TestSlotsBounded: empty reads and many batches never make more slots
// than the depth: memory per shard is bounded by --max-inflight-bulks
// batches.
func TestSlotsBounded(t *testing.T) {
	p := newPipelined(&memSink{}, 4)
	cp := newSyncCP()
	cp.moved = make(chan string, 1000)
	for range 10 {
		p.ProcessRecords(context.Background(), nil, cp, 0)
		p.ProcessRecords(context.Background(), recs("a", "b", "c", "e", "f", "g"), cp, 5000)
		if got := cp.get(); got[len(got)-1] != "6/0" {
			t.Fatalf("checkpoints %v, want last 6/0", got)
		}
	}
	p.Shutdown(context.Background(), lease.Requested, cp)
	if p.slots > 4 || len(p.queue) != 0 {
		t.Fatalf("%d slots made, %d in flight; want <= 4 and 0", p.slots, len(p.queue))
	}
}

// concSink counts concurrent writes.
type concSink struct {
	cur, peak, calls atomic.Int64
	status           int // every item's status; 0 = 201
}

func (s *concSink) Write(_ context.Context, docs []sink.Doc, res []sink.Result) error {
	n := s.cur.Add(1)
	defer s.cur.Add(-1)
	s.calls.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	// Let writes overlap: yield until another write is in flight (or a
	// bounded number of scheduler turns pass, when the limit is 1).
	for i := 0; i < 10000 && s.cur.Load() < 2; i++ {
		runtime.Gosched()
	}
	for i := range docs {
		switch s.status {
		case 0:
			res[i] = sink.Result{Outcome: sink.Delivered, Status: 201}
		default:
			res[i] = sink.Result{Outcome: sink.Retry, Status: s.status, Reason: "es_rejected_execution_exception"}
		}
	}
	return nil
}

// TestBulkConcurrencyLimit: several shards with deep pipelines never have
// more writes in flight than the process-wide limit.
func TestBulkConcurrencyLimit(t *testing.T) {
	cs := &concSink{}
	ls := limitedSink{Sink: cs, l: newBulkLimiter(2)}
	var wg sync.WaitGroup
	for shard := range 4 {
		p := newPipelined(ls, 4)
		p.shardID = "shard-" + strconv.Itoa(shard)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := newSyncCP()
			cp.moved = make(chan string, 1000)
			data := make([]string, 50)
			for i := range data {
				data[i] = "a"
			}
			p.ProcessRecords(context.Background(), recs(data...), cp, 1000)
			p.Shutdown(context.Background(), lease.Requested, cp)
			if got := cp.get(); got[len(got)-1] != "50/0" {
				t.Errorf("%s checkpoints end %v", p.shardID, got[len(got)-1])
			}
		}()
	}
	wg.Wait()
	if peak := cs.peak.Load(); peak > 2 || peak < 1 {
		t.Fatalf("peak concurrent writes %d, want <= 2", peak)
	}
	if n := cs.calls.Load(); n != 200 {
		t.Fatalf("writes %d, want 200", n)
	}
}

// TestAIMDShrinksOn429: 429s halve the limit (once per burst), successes
// grow it back by one per limit successes.
func TestAIMDShrinksOn429(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := newBulkLimiter(8)
	l.now = func() time.Time { return clock }
	cs := &concSink{status: 429}
	ls := limitedSink{Sink: cs, l: l}
	docs := []sink.Doc{{Index: "i", ID: "1", Body: []byte(`{}`)}}
	res := make([]sink.Result, 1)
	clock = clock.Add(time.Second)
	if err := ls.Write(context.Background(), docs, res); err != nil {
		t.Fatal(err)
	}
	if lim, _ := l.current(); lim != 4 {
		t.Fatalf("limit %d after a 429, want 4", lim)
	}
	// A request that started before the cut is the same overload.
	l.release(Cause429, clock.Add(-time.Millisecond), 0, 0)
	l.inUse++ // release above returned a slot it never took
	if lim, _ := l.current(); lim != 4 {
		t.Fatalf("limit %d after a 429 of the same burst, want 4", lim)
	}
	clock = clock.Add(time.Second)
	ls.Sink = &concSink{status: 429}
	_ = ls.Write(context.Background(), docs, res)
	clock = clock.Add(time.Second)
	_ = ls.Write(context.Background(), docs, res)
	_ = ls.Write(context.Background(), docs, res) // started before the last cut? no: clock did not move, same burst
	if lim, _ := l.current(); lim != 1 {
		t.Fatalf("limit %d, want 1", lim)
	}
	// A whole-request failure counts as overload too.
	ls.Sink = failSink{}
	clock = clock.Add(time.Second)
	_ = ls.Write(context.Background(), docs, res)
	if lim, _ := l.current(); lim != 1 {
		t.Fatalf("limit %d, want the floor 1", lim)
	}
	ls.Sink = &concSink{}
	for range 1 + 2 + 3 {
		if err := ls.Write(context.Background(), docs, res); err != nil {
			t.Fatal(err)
		}
	}
	if lim, _ := l.current(); lim != 4 {
		t.Fatalf("limit %d after 6 successes from 1, want 4 (1→2→3→4)", lim)
	}
	for range 100 {
		_ = ls.Write(context.Background(), docs, res)
	}
	if lim, inUse := l.current(); lim != 8 || inUse != 0 {
		t.Fatalf("limit %d in use %d, want 8 and 0", lim, inUse)
	}
}

type failSink struct{}

func (failSink) Write(context.Context, []sink.Doc, []sink.Result) error {
	return errors.New("connection refused")
}

// TestLimiterCancelledWaiter: a waiter whose context ends leaves no slot
// taken.
func TestLimiterCancelledWaiter(t *testing.T) {
	l := newBulkLimiter(1)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- l.acquire(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire: %v", err)
	}
	l.release("", time.Now(), 0, 0)
	if _, inUse := l.current(); inUse != 0 {
		t.Fatalf("in use %d, want 0", inUse)
	}
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// clockSink advances the limiter's clock by took per write.
type clockSink struct {
	clock *time.Time
	took  time.Duration
}

func (s *clockSink) Write(_ context.Context, docs []sink.Doc, res []sink.Result) error {
	*s.clock = s.clock.Add(s.took)
	for i := range docs {
		res[i] = sink.Result{Outcome: sink.Delivered, Status: 201}
	}
	return nil
}

// TestAIMDShrinksOnLatency: a request much slower per document than the
// usual halves the limit; a bigger request that is slower only in
// proportion does not.
func TestAIMDShrinksOnLatency(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := newBulkLimiter(8)
	l.now = func() time.Time { return clock }
	cs := &clockSink{clock: &clock, took: time.Second}
	ls := limitedSink{Sink: cs, l: l}
	docs := make([]sink.Doc, 100)
	res := make([]sink.Result, 100)
	for range slowSamples {
		if err := ls.Write(context.Background(), docs, res); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]sink.Doc, 1000)
	cs.took = 10 * time.Second
	_ = ls.Write(context.Background(), big, make([]sink.Result, 1000))
	if lim, _ := l.current(); lim != 8 {
		t.Fatalf("limit %d after a big request at the usual rate, want 8", lim)
	}
	_ = ls.Write(context.Background(), docs, res)
	if lim, _ := l.current(); lim != 4 {
		t.Fatalf("limit %d after a request 10x slower per document, want 4", lim)
	}
}

func (*gateSink) Health(context.Context) error { return nil }
func (*gateSink) Close() error                 { return nil }

func (*concSink) Health(context.Context) error { return nil }
func (*concSink) Close() error                 { return nil }

func (failSink) Health(context.Context) error { return nil }
func (failSink) Close() error                 { return nil }

func (*clockSink) Health(context.Context) error { return nil }
func (*clockSink) Close() error                 { return nil }
