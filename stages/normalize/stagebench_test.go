package normalize_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// BenchmarkStagesVPCFlow times each stage separately (per event).
func BenchmarkStagesVPCFlow(b *testing.B) {
	reg, _ := schemas.Load(schemas.Options{})
	key, lt, obj := readCase(b, reg, filepath.Join(testdataDir, "normalize/vpcflowlogs/default-v2"))
	one := splitObject(b, lt, key, obj, nil)
	n := 64
	batch := &stages.Batch{Events: make([]stages.Event, n)}
	c := coreChain(b, reg)
	dec, norm, enc := c[0], c[1], c[2]
	ctx := context.Background()
	reset := func() {
		for j := range batch.Events {
			e := &batch.Events[j]
			r := one.Events[j%len(one.Events)]
			*e = stages.Event{Src: r.Src, Ordinal: r.Ordinal, Raw: r.Raw, Doc: e.Doc}
		}
	}
	var tDec, tNorm, tEnc time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		reset()
		t0 := time.Now()
		dec.Process(ctx, batch)
		t1 := time.Now()
		norm.Process(ctx, batch)
		t2 := time.Now()
		enc.Process(ctx, batch)
		t3 := time.Now()
		tDec += t1.Sub(t0)
		tNorm += t2.Sub(t1)
		tEnc += t3.Sub(t2)
	}
	b.ReportMetric(float64(tDec.Nanoseconds())/float64(b.N), "decode-ns/op")
	b.ReportMetric(float64(tNorm.Nanoseconds())/float64(b.N), "normalize-ns/op")
	b.ReportMetric(float64(tEnc.Nanoseconds())/float64(b.N), "encode-ns/op")
	nodes := 0
	for _, e := range batch.Events {
		nodes += e.Doc.NodeCount()
	}
	b.ReportMetric(float64(nodes)/float64(n), "nodes/doc")
	b.ReportMetric(float64(len(batch.Events[0].Out)), "out-bytes")
}
