package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/stages"
)

// ConsumerObserver implements consumer.Observer and
// consumer.DeadLetterObserver on m, and beats h's "shards" loop.
type ConsumerObserver struct {
	m *Metrics
	h *Health
}

// Consumer returns the consumer's observer (h may be nil).
func (m *Metrics) Consumer(h *Health) *ConsumerObserver { return &ConsumerObserver{m: m, h: h} }

func (o *ConsumerObserver) ShardStarted(shard string) {
	o.m.leasesHeld.Inc()
	o.m.leaseEvents.WithLabelValues("started").Inc()
}

func (o *ConsumerObserver) ShardStopped(shard string, reason lease.ShutdownReason) {
	o.m.leasesHeld.Dec()
	o.m.leaseEvents.WithLabelValues(reason.String()).Inc()
	s := o.m.shards
	s.mu.Lock()
	delete(s.behind, shard)
	delete(s.checkpoint, shard)
	s.mu.Unlock()
}

func (o *ConsumerObserver) RecordsRead(shard string, n int, millisBehind int64) {
	s := o.m.shards
	s.mu.Lock()
	s.behind[shard] = millisBehind
	s.mu.Unlock()
	o.h.Beat("consumer")
}

func (o *ConsumerObserver) Checkpointed(shard string) {
	s := o.m.shards
	now := time.Now()
	s.mu.Lock()
	s.checkpoint[shard] = now
	s.mu.Unlock()
}

func (o *ConsumerObserver) Delivering(shard string, events int) {
	o.m.eventsInFlight.Add(float64(events))
}

// BatchDone adds the batch's input and output bytes per log type, and
// shares the delivery time among log types by their share of the documents.
// One pass over the events with the last log type's counters cached (a
// batch usually holds one or two types).
func (o *ConsumerObserver) BatchDone(shard string, b *stages.Batch, st sink.Stats, deliver time.Duration, err error) {
	o.m.eventsInFlight.Sub(float64(len(b.Events)))
	var (
		cur        string
		in, out    int64
		docs, all  int
		started    bool
		perTypeDoc [8]struct {
			lt   string
			docs int
		}
		nTypes int
	)
	flushType := func() {
		if !started {
			return
		}
		o.m.inputBytes.WithLabelValues(cur).Add(float64(in))
		if out > 0 {
			o.m.outputBytes.WithLabelValues(cur).Add(float64(out))
		}
		if nTypes < len(perTypeDoc) {
			perTypeDoc[nTypes].lt, perTypeDoc[nTypes].docs = cur, docs
			nTypes++
		}
	}
	for i := range b.Events {
		e := &b.Events[i]
		lt := "unknown"
		if e.Src != nil {
			lt = e.Src.LogType
		}
		if !started || lt != cur {
			flushType()
			cur, in, out, docs, started = lt, 0, 0, 0, true
		}
		in += int64(len(e.Raw))
		if e.Status == stages.Keep {
			out += int64(len(e.Out))
			docs++
			all++
		}
	}
	flushType()
	if all > 0 && err == nil {
		for _, t := range perTypeDoc[:nTypes] {
			if t.docs > 0 {
				o.m.deliverSeconds.WithLabelValues(t.lt).Add(deliver.Seconds() * float64(t.docs) / float64(all))
			}
		}
	}
}

// DeadLettered counts dead letters written (or refused by the index).
func (o *ConsumerObserver) DeadLettered(n int, err error) {
	if err != nil {
		o.m.deadLetters.WithLabelValues("failed").Add(float64(n))
		return
	}
	o.m.deadLetters.WithLabelValues("written").Add(float64(n))
}

// BulkLimit follows the consumer's adaptive bulk concurrency limit
// (consumer.BulkLimitObserver): the gauge is the current limit, and every
// halving is counted by its cause.
func (o *ConsumerObserver) BulkLimit(limit int, cause string) {
	o.m.bulkLimit.Set(float64(limit))
	switch cause {
	case consumer.Cause429, consumer.CauseFailure, consumer.CauseLatency:
		o.m.bulkLimitCuts.WithLabelValues(cause).Inc()
	}
}

// ProducerObserver implements producer.Observer on m.
type ProducerObserver struct {
	m *Metrics
	h *Health
}

// Producer returns the producer's observer (h may be nil).
func (m *Metrics) Producer(h *Health) *ProducerObserver { return &ProducerObserver{m: m, h: h} }

func (o *ProducerObserver) ObjectDone(obj notify.Object, res producer.ObjectResult, took time.Duration, err error) {
	lt := res.LogType
	outcome := "loaded"
	switch {
	case err != nil:
		outcome = "retry"
	case res.Outcome == producer.Unknown:
		outcome, lt = "unknown", "unknown"
	case res.Outcome == producer.Ignored:
		outcome = "ignored"
	case res.Outcome == producer.Corrupt || res.Outcome == producer.Rejected:
		outcome = "quarantined"
	}
	if lt == "" {
		lt = "unknown"
	}
	o.m.objects.WithLabelValues(lt, outcome).Inc()
	if err == nil && outcome != "unknown" && outcome != "ignored" {
		o.m.objectBytes.WithLabelValues(lt).Add(float64(obj.Size))
		o.m.objectDuration.WithLabelValues(lt).Observe(took.Seconds())
		o.m.inputBytes.WithLabelValues(lt).Add(float64(res.Bytes))
	}
}

func (o *ProducerObserver) MessagesInFlight(delta int) {
	o.m.messagesFlight.Add(float64(delta))
	o.h.Beat("producer")
}

func (o *ProducerObserver) VisibilityExtended(err error) {
	if err != nil {
		o.m.visibility.WithLabelValues("error").Inc()
		return
	}
	o.m.visibility.WithLabelValues("ok").Inc()
}

// Sink wraps s so every write is timed and its items counted by status
// class. Deliver calls Write once per round, so retried documents are the
// items answered Retry.
func (m *Metrics) Sink(s sink.Sink) sink.Sink {
	if m == nil {
		return s
	}
	return &observedSink{Sink: s, m: m}
}

// observedSink times Write; Health and Close are the embedded sink's.
type observedSink struct {
	sink.Sink
	m *Metrics
}

func (s *observedSink) Write(ctx context.Context, docs []sink.Doc, results []sink.Result) error {
	start := time.Now()
	err := s.Sink.Write(ctx, docs, results)
	s.m.bulkDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.bulkRequests.WithLabelValues("error").Inc()
		s.m.bulkItems.WithLabelValues("none").Add(float64(len(docs)))
		if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
			s.m.docsRetried.Add(float64(len(docs)))
		}
		return err
	}
	var c2, c429, c4, c5, retry int
	for i := range results {
		st := results[i].Status
		switch {
		case st >= 200 && st < 300:
			c2++
		case st == 429:
			c429++
		case st >= 400 && st < 500:
			c4++
		case st >= 500:
			c5++
		}
		if !results[i].Outcome.Final() {
			retry++
		}
	}
	outcome := "ok"
	if c2 < len(results) {
		outcome = "partial"
	}
	s.m.bulkRequests.WithLabelValues(outcome).Inc()
	for _, v := range []struct {
		l string
		n int
	}{{"2xx", c2}, {"429", c429}, {"4xx", c4}, {"5xx", c5}} {
		if v.n > 0 {
			s.m.bulkItems.WithLabelValues(v.l).Add(float64(v.n))
		}
	}
	if retry > 0 {
		s.m.docsRetried.Add(float64(retry))
	}
	return nil
}

// ReadOnlyRedirect counts a read-only index redirected to a writable one
// (sink.OpenSearchConfig.OnReadOnlyRedirect).
func (m *Metrics) ReadOnlyRedirect(from, to string) {
	if m != nil {
		m.readOnlyRedir.Inc()
	}
}
