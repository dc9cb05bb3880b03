package bench

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer/pack"
)

// BenchmarkProducerBound runs, alone and on the object of
// BenchmarkProducer, the two compressions the producer's split path
// cannot skip: step=gunzip reads the S3 object (the format it arrives in)
// and step=zstd compresses its records into wire chunks of
// pack.DefaultChunkBytes (the wire codec, SpeedFastest, as the packer
// does); step=s2 is the same with the s2 codec (--codec s2). MB/s is of
// the decompressed object in all three, so 1 / (1/gunzip + 1/codec) is
// the most BenchmarkProducer can reach on one core with that codec before
// splitting, KPL framing and PutRecords batching.
func BenchmarkProducerBound(b *testing.B) {
	for _, g := range genTypes() {
		b.Run("type="+g, func(b *testing.B) {
			in := producerObject(b, g)
			b.Run("step=gunzip", func(b *testing.B) {
				zr, err := gzip.NewReader(bytes.NewReader(in.gz))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(in.raw)
				b.ResetTimer()
				cpu := startCPU()
				for i := 0; i < b.N; i++ {
					if err := zr.Reset(bytes.NewReader(in.gz)); err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, zr); err != nil || n != in.raw {
						b.Fatalf("%d bytes, %v", n, err)
					}
				}
				cpu.reportBytes(b, in.raw*int64(b.N))
			})
			for _, codec := range []wire.Codec{wire.CodecZstd, wire.CodecS2} {
				b.Run("step="+codec.String(), func(b *testing.B) { benchChunkCodec(b, g, in, codec) })
			}
		})
	}
}

// benchChunkCodec compresses the records of g's object into chunks as the
// packer cuts them: up to DefaultChunkBytes of records (with their length
// prefixes). It also reports the wire bytes per event of the chunks.
func benchChunkCodec(b *testing.B, g string, in *producerInput, codec wire.Codec) {
	recs := recordsFor(b, g)
	o, err := fixture.Generate(g, seed+1, int(in.events))
	if err != nil {
		b.Fatal(err)
	}
	all, err := fixture.Split(registry(b), o)
	if err != nil {
		b.Fatal(err)
	}
	var chunks [][][]byte
	var cur [][]byte
	size := 0
	for _, r := range all.Recs {
		if n := wire.RawBodySize(len(r)); len(cur) > 0 && size+n > pack.DefaultChunkBytes {
			chunks, cur, size = append(chunks, cur), nil, 0
		}
		cur = append(cur, r)
		size += wire.RawBodySize(len(r))
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	var dst []byte
	wireBytes := 0
	b.SetBytes(in.raw)
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		wireBytes = 0
		for _, c := range chunks {
			ch := wire.Chunk{LogType: recs.LogType.Name, Bucket: fixture.Bucket, Key: o.Key, Context: all.Context, FirstOrdinal: 1, Records: c}
			if dst, err = wire.AppendChunk(dst[:0], &ch, codec); err != nil {
				b.Fatal(err)
			}
			wireBytes += len(dst)
		}
	}
	cpu.reportBytes(b, in.raw*int64(b.N))
	b.ReportMetric(float64(wireBytes)/float64(len(all.Recs)), "chunk-B/event")
}
