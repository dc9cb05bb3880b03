package consumer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/stages"
)

// limitEvents records what a BulkLimitObserver is told.
type limitEvents struct {
	nopObserver
	mu     sync.Mutex
	limits []int
	causes []string
}

func (o *limitEvents) BulkLimit(limit int, cause string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.limits = append(o.limits, limit)
	o.causes = append(o.causes, cause)
}

// TestBulkLimitCauses: each kind of overload halves the limit with its own
// cause (429 items, a whole-request failure, latency), and recovery is
// reported as such, in order.
func TestBulkLimitCauses(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := newBulkLimiter(8)
	l.now = func() time.Time { return clock }
	obs := &limitEvents{}
	l.onChange = obs.BulkLimit
	docs := make([]sink.Doc, 100)
	res := make([]sink.Result, 100)
	ctx := context.Background()

	// The usual latency per document: 1 s per 100 documents.
	cs := &clockSink{clock: &clock, took: time.Second}
	ls := limitedSink{Sink: cs, l: l}
	for range slowSamples {
		if err := ls.Write(ctx, docs, res); err != nil {
			t.Fatal(err)
		}
	}
	cs.took = 10 * time.Second
	_ = ls.Write(ctx, docs, res) // 8 → 4: latency
	clock = clock.Add(time.Second)
	ls.Sink = &concSink{status: 429}
	_ = ls.Write(ctx, docs, res) // 4 → 2: 429
	clock = clock.Add(time.Second)
	ls.Sink = failSink{}
	_ = ls.Write(ctx, docs, res) // 2 → 1: failure
	// A cancelled write is not the cluster's doing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	clock = clock.Add(time.Second)
	_ = ls.Write(cctx, docs, res)
	ls.Sink = &concSink{}
	_ = ls.Write(ctx, docs, res) // 1 → 2: recovered
	want := []struct {
		limit int
		cause string
	}{{4, CauseLatency}, {2, Cause429}, {1, CauseFailure}, {2, CauseRecovered}}
	if len(obs.limits) != len(want) {
		t.Fatalf("told %v %v, want %v", obs.limits, obs.causes, want)
	}
	for i, w := range want {
		if obs.limits[i] != w.limit || obs.causes[i] != w.cause {
			t.Fatalf("change %d: limit %d cause %q, want %d %q (all: %v %v)", i, obs.limits[i], obs.causes[i], w.limit, w.cause, obs.limits, obs.causes)
		}
	}
}

// TestBulkLimitObserverWired: New tells an observer that follows the limit
// the starting limit, and the limiter's changes reach it.
func TestBulkLimitObserverWired(t *testing.T) {
	obs := &limitEvents{}
	cfg := DefaultConfig()
	cfg.BulkConcurrency = 6
	cfg.Observer = obs
	c, err := New(cfg, nil, func() (stages.Chain, error) { return nil, nil }, &concSink{status: 429}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.limits) != 1 || obs.limits[0] != 6 || obs.causes[0] != "" {
		t.Fatalf("at start: told %v %v, want [6] [\"\"]", obs.limits, obs.causes)
	}
	res := make([]sink.Result, 1)
	_ = c.sink.Write(context.Background(), []sink.Doc{{Index: "i", ID: "1", Body: []byte(`{}`)}}, res)
	if len(obs.limits) != 2 || obs.limits[1] != 3 || obs.causes[1] != Cause429 {
		t.Fatalf("after a 429: told %v %v, want [6 3] [\"\" 429]", obs.limits, obs.causes)
	}
}
