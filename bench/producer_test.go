package bench

import (
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/producer/pack"
)

// partitionKeyBytes is the partition key one-event-per-record puts would
// carry (the producer's is 32 hex digits too).
const partitionKeyBytes = 32

// BenchmarkProducer loads one gzip object per op through the producer's
// real LoadObject (gunzip → split → pack (compressed chunks in KPL aggregates) →
// PutRecords batching) into a Kinesis that only counts. MB/s is of the
// decompressed object. It also reports wire efficiency against putting one
// event per Kinesis record:
//
//	events/record           events per Kinesis record
//	wire-B/event            Data + partition key bytes per event
//	shard-s/Mevents         shard-seconds a million events need packed
//	1per-shard-s/Mevents    … and one event per record
//	shard-s-saving-x        the ratio of the two
//	max-record-B            largest record written (limit 1 MiB)
//
// type=T is the default codec (zstd). For codecTypes, type=T/codec=s2 runs
// the same with --codec s2. It is a sibling named with a slash, not a
// sub-benchmark: a benchmark with sub-benchmarks reports no line of its
// own, and type=T's line is the one bench/cmd/benchrun reads; the slash
// still lets -bench 'Producer/type=T$' pick both.
func BenchmarkProducer(b *testing.B) {
	for _, g := range genTypes() {
		b.Run("type="+g, func(b *testing.B) { benchProducer(b, g, "") })
		if slices.Contains(codecTypes, g) {
			b.Run("type="+g+"/codec=s2", func(b *testing.B) { benchProducer(b, g, "s2") })
		}
	}
}

// codecTypes are the types whose producer and unpack benchmarks also run
// with the s2 codec: the three largest sources, from the least (VPC) to
// the most compressible.
var codecTypes = []string{"vpcflowlogs", "alb", "cloudtrail"}

type producerInput struct {
	key       string
	gz        []byte
	raw       int64
	events    int64
	eventsRaw int64 // bytes of the records without terminators
}

var producerInputs = map[string]*producerInput{}

// producerObject generates (once) an object of about -bench.object-bytes.
func producerObject(b *testing.B, g string) *producerInput {
	b.Helper()
	mu.Lock()
	in := producerInputs[g]
	mu.Unlock()
	if in != nil {
		return in
	}
	sample := recordsFor(b, g) // skips unregistered types
	n := max(1, int(float64(*objectBytes)/(sample.AvgBytes()+1)))
	o, err := fixture.Generate(g, seed+1, n)
	if err != nil {
		b.Fatal(err)
	}
	recs, err := fixture.Split(registry(b), o)
	if err != nil {
		b.Fatal(err)
	}
	in = &producerInput{key: o.Key, gz: fixture.Gzip(o.Raw), raw: int64(len(o.Raw)), events: int64(len(recs.Recs))}
	for _, r := range recs.Recs {
		in.eventsRaw += int64(len(r))
	}
	mu.Lock()
	producerInputs[g] = in
	mu.Unlock()
	return in
}

// benchProducer loads g's object with the codec ("" is the default).
func benchProducer(b *testing.B, g, codec string) {
	in := producerObject(b, g)
	s3 := fixture.NewS3()
	s3.PutBytes(fixture.Bucket, in.key, in.gz)
	kin := &fixture.Kinesis{}
	cfg := producer.DefaultConfig()
	cfg.Stream = "bench"
	if codec != "" {
		cfg.Codec = codec
	}
	p, err := producer.New(cfg, registry(b), s3, nil, kin, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	obj := notify.Object{Bucket: fixture.Bucket, Key: in.key}
	b.SetBytes(in.raw)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		res, err := p.LoadObject(bgCtx, obj)
		if err != nil {
			b.Fatal(err)
		}
		if res.Outcome != producer.Loaded || res.Records != in.events {
			b.Fatalf("outcome %s, %d records (want %d): %s", res.Outcome, res.Records, in.events, res.Reason)
		}
	}
	b.StopTimer()
	events := in.events * int64(b.N)
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	cpu.reportBytes(b, in.raw*int64(b.N))
	cpu.report(b, events)
	st := kin.Stats()
	if st.MaxRecord > pack.DefaultRecordBytes+partitionKeyBytes {
		b.Errorf("a Kinesis record of %d bytes exceeds the configured %d", st.MaxRecord, pack.DefaultRecordBytes)
	}
	w := Wire(in.events*int64(b.N), in.eventsRaw*int64(b.N), st)
	b.ReportMetric(w.EventsPerRecord, "events/record")
	b.ReportMetric(w.BytesPerEvent, "wire-B/event")
	b.ReportMetric(w.ShardSeconds, "shard-s/Mevents")
	b.ReportMetric(w.OnePerRecordShardSeconds, "1per-shard-s/Mevents")
	b.ReportMetric(w.Saving, "shard-s-saving-x")
	b.ReportMetric(float64(st.MaxRecord), "max-record-B")
}

// WireEfficiency compares the packed layout with one event per record.
type WireEfficiency struct {
	EventsPerRecord, BytesPerEvent float64
	// Shard-seconds per million events, packed and one event per record.
	ShardSeconds, OnePerRecordShardSeconds float64
	Saving                                 float64
}

// Wire computes WireEfficiency for events whose raw bytes total rawBytes.
func Wire(events, rawBytes int64, st fixture.WireStats) WireEfficiency {
	if events == 0 || st.Records == 0 {
		return WireEfficiency{}
	}
	scale := 1e6 / float64(events)
	w := WireEfficiency{
		EventsPerRecord:          float64(events) / float64(st.Records),
		BytesPerEvent:            float64(st.Bytes) / float64(events),
		ShardSeconds:             fixture.ShardSeconds(st.Bytes, st.Records) * scale,
		OnePerRecordShardSeconds: fixture.ShardSeconds(rawBytes+events*partitionKeyBytes, events) * scale,
	}
	w.Saving = w.OnePerRecordShardSeconds / w.ShardSeconds
	return w
}
