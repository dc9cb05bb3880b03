package normalize_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// benchBatch is the number of events per batch in the benchmarks.
var benchBatch = 64

// benchCase runs decode+normalize+encode over the records of one golden
// object, repeated to a benchBatch-event batch, and reports ns and allocs per event.
func benchCase(b *testing.B, name string) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key, lt, obj := readCase(b, reg, filepath.Join(testdataDir, "normalize", name))
	one := splitObject(b, lt, key, obj, nil)
	var recs []stages.Event
	for _, e := range one.Events {
		if lt.FileFormat == schemas.FormatText && !bytes.HasPrefix(e.Raw, []byte("h")) && !bytes.HasPrefix(e.Raw, []byte("w")) {
			continue // skip the deliberately broken line
		}
		recs = append(recs, e)
	}
	n := benchBatch
	batch := &stages.Batch{Events: make([]stages.Event, n)}
	chain := coreChain(b, reg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		for j := range batch.Events {
			e := &batch.Events[j]
			r := recs[j%len(recs)]
			d := e.Doc
			*e = stages.Event{Src: r.Src, Ordinal: r.Ordinal, Raw: r.Raw, Doc: d}
		}
		if err := chain.Process(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for _, e := range batch.Events {
		if e.Status != stages.Keep {
			b.Fatalf("record %d: %v", e.Ordinal, e.Err)
		}
		doc.Put(e.Doc)
	}
}

func BenchmarkNormalizeVPCFlow(b *testing.B)       { benchCase(b, "vpcflowlogs/default-v2") }
func BenchmarkNormalizeVPCFlowCustom(b *testing.B) { benchCase(b, "vpcflowlogs/custom-v5") }
func BenchmarkNormalizeCloudTrail(b *testing.B)    { benchCase(b, "cloudtrail/mgmt-events") }
func BenchmarkNormalizeALB(b *testing.B)           { benchCase(b, "alb/web-prod") }
