package bench

import (
	"testing"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/stages"
)

// BenchmarkHotPath measures the consumer's per-event work on one core:
// the real chain from stages/chain (decode → [exclude] → normalize →
// [geoip → ioc] → encode) over batches of batchEvents raw records, plus
// building the _bulk body. One op is one event, so ns/op, B/op and
// allocs/op are per event.
func BenchmarkHotPath(b *testing.B) {
	for _, g := range genTypes() {
		b.Run("type="+g, func(b *testing.B) {
			for _, v := range variants {
				b.Run("stages="+v.name, func(b *testing.B) {
					recs := recordsFor(b, g)
					hotPath(b, g+"/"+v.name, chain(b, v), recs)
				})
			}
		})
	}
}

// statusCounts runs the chain once over every record and counts outcomes,
// so a benchmark that measures mostly failures is visible.
func statusCounts(b *testing.B, ch stages.Chain, r *fixture.Records, src *stages.Source) (o outcome) {
	var batch stages.Batch
	for i := 0; i < len(r.Recs); {
		for ; i < len(r.Recs) && len(batch.Events) < batchEvents; i++ {
			batch.Events = append(batch.Events, stages.Event{Src: src, Ordinal: r.Ordinals[i], Raw: r.Recs[i]})
		}
		if err := ch.Process(bgCtx, &batch); err != nil {
			b.Fatal(err)
		}
		body := 0
		for j := range batch.Events {
			switch e := &batch.Events[j]; e.Status {
			case stages.Keep:
				o.kept++
				body += len(e.Index) + len(e.ID) + len(e.Out) + 64
			case stages.Dropped:
				o.dropped++
			case stages.Failed:
				o.failed++
				if o.firstErr == nil {
					o.firstErr = e.Err
				}
			}
		}
		o.maxBody = max(o.maxBody, body)
		batch.Reset()
	}
	return o
}

type outcome struct {
	kept, dropped, failed int
	firstErr              error
	maxBody               int // largest bulk body of one batch
}

// outcomes caches statusCounts per benchmark (runN calls the body
// several times while it sizes b.N).
var outcomes = map[string]outcome{}

func hotPath(b *testing.B, name string, ch stages.Chain, r *fixture.Records) {
	src := &stages.Source{LogType: r.LogType.Name, Bucket: fixture.Bucket, Key: r.Key, Context: r.Context}
	mu.Lock()
	o, ok := outcomes[name]
	mu.Unlock()
	if !ok {
		o = statusCounts(b, ch, r, src)
		mu.Lock()
		outcomes[name] = o
		mu.Unlock()
	}
	kept, dropped, failed, firstErr := o.kept, o.dropped, o.failed, o.firstErr
	if failed > 0 && !ok {
		b.Logf("%d of %d events failed (first: %v)", failed, len(r.Recs), firstErr)
	}
	if kept == 0 {
		b.Skipf("no event survives the chain (%d dropped, %d failed; first error: %v)", dropped, failed, firstErr)
	}
	var batch stages.Batch
	batch.Events = make([]stages.Event, 0, batchEvents)
	// The sink reuses its bulk buffer; size it up front so B/op is the
	// chain's.
	body := make([]byte, 0, o.maxBody)
	next := 0
	b.SetBytes(int64(r.AvgBytes()))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for done := 0; done < b.N; {
		n := min(batchEvents, b.N-done)
		for range n {
			batch.Events = append(batch.Events, stages.Event{Src: src, Ordinal: r.Ordinals[next], Raw: r.Recs[next]})
			if next++; next == len(r.Recs) {
				next = 0
			}
		}
		if err := ch.Process(bgCtx, &batch); err != nil {
			b.Fatal(err)
		}
		body = body[:0]
		for i := range batch.Events {
			if e := &batch.Events[i]; e.Status == stages.Keep {
				body = fixture.AppendBulk(body, e.Index, e.ID, e.Out)
			}
		}
		batch.Reset()
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, int64(b.N))
	if failed+dropped > 0 {
		b.ReportMetric(float64(kept)/float64(len(r.Recs)), "kept-frac")
	}
}
