package bench

import (
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/stages"
)

// BenchmarkConsumerMetrics is BenchmarkConsumer (stages=off, the cheapest
// chain, where a fixed metrics cost weighs most) without and with the
// metrics observer, the instrumented sink and the per-log-type registry
// wired as cmd/siemstream wires them. The difference in ns/event (or
// events/cpu-s) is the cost of metrics on the hot path; the budget is 2 %.
// Run with -count 6 and compare with benchstat: on a shared machine one
// run's noise is larger than the difference.
func BenchmarkConsumerMetrics(b *testing.B) {
	for _, g := range []string{"vpcflowlogs", "cloudtrail"} {
		b.Run("type="+g, func(b *testing.B) {
			for _, on := range []bool{false, true} {
				name := "metrics=off"
				if on {
					name = "metrics=on"
				}
				b.Run(name, func(b *testing.B) { benchConsumerMetrics(b, g, on) })
			}
		})
	}
}

func benchConsumerMetrics(b *testing.B, g string, on bool) {
	in := wireRecords(b, g)
	ch := chain(b, variants[0])
	cfg := consumer.DefaultConfig()
	cfg.BatchEvents = batchEvents
	cfg.ProgressEvery = -1
	var snk sink.Sink = &fixture.Sink{}
	counts := obs.NewRegistry()
	if on {
		m := metrics.New(metrics.Build{})
		h := metrics.NewHealth()
		cfg.Observer = m.Consumer(h)
		m.RegisterCounts(counts)
		snk = m.Sink(snk)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	var processed, next atomic.Int64
	feed := func() ([]lease.Record, bool) {
		recs := make([]lease.Record, 0, chunksPerCall)
		for range chunksPerCall {
			k := next.Add(1) - 1
			if k >= int64(b.N) {
				break
			}
			i := int(k % int64(len(in.chunks)))
			recs = append(recs, lease.Record{Data: in.chunks[i], SequenceNumber: "1", LastInAggregate: true})
			processed.Add(in.events[i])
		}
		return recs, len(recs) > 0
	}
	coord := &fixture.Coordinator{}
	for range consumerShards {
		coord.Feeds = append(coord.Feeds, feed)
	}
	c, err := consumer.New(cfg, coord, func() (stages.Chain, error) { return ch, nil }, snk, counts, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Run(bgCtx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	n := processed.Load()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	cpu.report(b, n)
}
