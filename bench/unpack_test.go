package bench

import (
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
)

// BenchmarkUnpack decodes, on one goroutine, the chunks the real producer
// writes for the type's object with each codec: the consumer's first step
// (wire.Decoder.Decode: decompress, CRC-32C, record framing), reused
// buffers as in a shard processor. One op is one chunk; MB/cpu-s is of
// the raw records, events/cpu-s of the events, so the cost can be set
// against BenchmarkConsumer's events/cpu-s.
func BenchmarkUnpack(b *testing.B) {
	for _, g := range codecTypes {
		b.Run("type="+g, func(b *testing.B) {
			for _, codec := range []string{"zstd", "s2"} {
				b.Run("codec="+codec, func(b *testing.B) { benchUnpack(b, g, codec) })
			}
		})
	}
}

func benchUnpack(b *testing.B, g, codec string) {
	in := wireRecordsCodec(b, g, codec)
	var dec wire.Decoder
	var c wire.Chunk
	raw := make([]int64, len(in.chunks))
	for i, u := range in.chunks {
		if err := dec.Decode(u, &c); err != nil {
			b.Fatal(err)
		}
		for _, r := range c.Records {
			raw[i] += int64(len(r))
		}
	}
	var events, bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		k := i % len(in.chunks)
		if err := dec.Decode(in.chunks[k], &c); err != nil {
			b.Fatal(err)
		}
		events += in.events[k]
		bytes += raw[k]
	}
	b.StopTimer()
	cpu.reportBytes(b, bytes)
	cpu.report(b, events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
