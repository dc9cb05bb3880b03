package consumer

import (
	"context"
	"sync"
	"time"

	"github.com/siemstream/siemstream/consumer/sink"
)

// bulkLimiter bounds the _bulk requests of one process (every shard
// processor shares it) and adapts the bound to the cluster: AIMD, as TCP
// does. A request that fails whole (connection, timeout), comes back with
// a 429, or takes far longer per document than the usual (latency rising:
// the cluster's queues fill before it rejects) halves the limit, at most
// once per round trip so one burst counts once; every `limit` requests that
// succeed without that raise it by one, up to max. The cluster's overload
// thus slows us down instead of being hammered by every shard at full
// concurrency.
type bulkLimiter struct {
	mu       sync.Mutex
	max      int
	limit    int
	inUse    int
	waiters  []chan struct{}
	okStreak int
	// lastCut is when the limit was last halved: failures of requests that
	// started before it are the same overload and do not halve again.
	lastCut time.Time
	now     func() time.Time
	// perDoc is the usual latency per document of a healthy request (a
	// slow moving average), samples how many fed it.
	perDoc  float64
	samples int
	// onChange, if set, is told each new limit and why (logs, metrics):
	// a Cause* constant. It is called with mu held.
	onChange func(limit int, cause string)
}

// Why the limit changed (onChange; the reason label of
// siemstream_bulk_concurrency_decreases_total).
const (
	// Cause429: an item (or the request) came back 429 Too Many Requests.
	Cause429 = "429"
	// CauseFailure: the request failed whole (connection, timeout, 5xx of
	// the whole request).
	CauseFailure = "failure"
	// CauseLatency: the request took far longer per document than usual.
	CauseLatency = "latency"
	// CauseRecovered: enough successes in a row; the limit grew by one.
	CauseRecovered = "recovered"
)

func newBulkLimiter(max int) *bulkLimiter {
	if max < 1 {
		max = 1
	}
	return &bulkLimiter{max: max, limit: max, now: time.Now}
}

// acquire waits for a slot under the current limit, in FIFO order.
func (l *bulkLimiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.inUse < l.limit && len(l.waiters) == 0 {
		l.inUse++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted while we gave up: hand the slot on.
		l.inUse--
		l.grant()
		return ctx.Err()
	}
}

// Latency rule: a request is slow when it took over slowFactor times the
// usual latency per document and over slowFloor in all (small requests
// vary too much to judge), once the average has slowSamples samples.
const (
	slowFactor  = 4
	slowFloor   = 2 * time.Second
	slowSamples = 20
)

// release returns a slot and says how the request went: overload is ""
// when the cluster took it, else Cause429 (a 429 on any item) or
// CauseFailure (the request failed whole); started is when it began; docs
// and took feed the latency rule (docs 0: no sample).
func (l *bulkLimiter) release(overload string, started time.Time, docs int, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	overloaded, cause := overload != "", overload
	if !overloaded && docs > 0 {
		pd := float64(took) / float64(docs)
		if l.samples >= slowSamples && took > slowFloor && pd > slowFactor*l.perDoc {
			overloaded, cause = true, CauseLatency
		} else {
			l.samples++
			if l.samples == 1 {
				l.perDoc = pd
			} else {
				l.perDoc += (pd - l.perDoc) / 20
			}
		}
	}
	switch {
	case overloaded:
		l.okStreak = 0
		if started.After(l.lastCut) || l.lastCut.IsZero() {
			l.lastCut = l.now()
			if n := max(1, l.limit/2); n != l.limit {
				l.limit = n
				if l.onChange != nil {
					l.onChange(n, cause)
				}
			}
		}
	case l.limit < l.max:
		l.okStreak++
		if l.okStreak >= l.limit {
			l.okStreak = 0
			l.limit++
			if l.onChange != nil {
				l.onChange(l.limit, CauseRecovered)
			}
		}
	}
	l.grant()
}

// grant wakes waiters while the limit allows (l.mu held).
func (l *bulkLimiter) grant() {
	for l.inUse < l.limit && len(l.waiters) > 0 {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.inUse++
		close(ch)
	}
}

// current returns the limit and the requests in flight (tests, logs).
func (l *bulkLimiter) current() (limit, inUse int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.inUse
}

// limitedSink passes every Write through the limiter. Write is the unit
// the limiter counts: one call of the OpenSearch sink is one batch's
// _bulk request(s), and every retry round of sink.Deliver is a new Write.
// Health and Close are the embedded sink's: a readiness probe must not
// wait for a bulk slot.
type limitedSink struct {
	sink.Sink
	l *bulkLimiter
}

func (s limitedSink) Write(ctx context.Context, docs []sink.Doc, results []sink.Result) error {
	if err := s.l.acquire(ctx); err != nil {
		for i := range results {
			results[i] = sink.Result{Outcome: sink.Retry, Reason: err.Error()}
		}
		return err
	}
	start := s.l.now()
	err := s.Sink.Write(ctx, docs, results)
	// results hold this request's answers only when it did not fail
	// whole; a cancelled write is not the cluster's doing.
	overload := ""
	switch {
	case err != nil && ctx.Err() == nil:
		overload = CauseFailure
	case err == nil:
		for i := range results {
			if results[i].Status == 429 {
				overload = Cause429
				break
			}
		}
	}
	s.l.release(overload, start, len(docs), s.l.now().Sub(start))
	return err
}
