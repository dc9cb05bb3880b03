package bench

import (
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/stages"
)

// consumerShards is how many shard processors run at once (the local
// stack's stream has 4 shards).
const consumerShards = 4

// chunksPerCall is how many user records (chunks) one ProcessRecords call
// gets: about one consumer batch (batchEvents) of most types.
const chunksPerCall = 2

// BenchmarkConsumer runs the real consumer (consumer.New: one processor per
// shard doing unpack → chain → bulk body → checkpoint) over the producer's
// wire records for the type, with a sink that builds the bulk body and
// drops it. Run it with -cpu 1,2 for events/s at GOMAXPROCS 1 and 2. One
// op is one wire chunk (a user record of up to 256 KiB of raw records);
// events/s and ns/event say what that means per event.
func BenchmarkConsumer(b *testing.B) {
	for _, g := range genTypes() {
		b.Run("type="+g, func(b *testing.B) {
			for _, v := range variants {
				if v.name == "all" {
					continue
				}
				b.Run("stages="+v.name, func(b *testing.B) { benchConsumer(b, g, v) })
			}
		})
	}
}

type wireInput struct {
	chunks [][]byte
	events []int64 // events per chunk
}

var wireInputs = map[string]*wireInput{}

// wireRecords packs (once) the type's benchmark object with the real
// producer and returns its user records (chunks).
func wireRecords(b *testing.B, g string) *wireInput { return wireRecordsCodec(b, g, "") }

// wireRecordsCodec is wireRecords with the producer's codec ("" is the
// default).
func wireRecordsCodec(b *testing.B, g, codec string) *wireInput {
	b.Helper()
	mu.Lock()
	in := wireInputs[g+"/"+codec]
	mu.Unlock()
	if in != nil {
		return in
	}
	recordsFor(b, g) // skips unregistered types
	o, err := fixture.Generate(g, seed, *hotEvents)
	if err != nil {
		b.Fatal(err)
	}
	s3 := fixture.NewS3()
	s3.PutBytes(fixture.Bucket, o.Key, fixture.Gzip(o.Raw))
	var aggs [][]byte
	kin := &fixture.Kinesis{Keep: func(d []byte) { aggs = append(aggs, d) }}
	cfg := producer.DefaultConfig()
	cfg.Stream = "bench"
	if codec != "" {
		cfg.Codec = codec
	}
	p, err := producer.New(cfg, registry(b), s3, nil, kin, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.LoadObject(bgCtx, notify.Object{Bucket: fixture.Bucket, Key: o.Key}); err != nil {
		b.Fatal(err)
	}
	in = &wireInput{}
	var dec wire.Decoder
	var c wire.Chunk
	for _, a := range aggs {
		users, _, err := wire.SplitAggregate(a)
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range users {
			if err := dec.Decode(u, &c); err != nil {
				b.Fatal(err)
			}
			in.chunks = append(in.chunks, u)
			in.events = append(in.events, int64(len(c.Records)))
		}
	}
	mu.Lock()
	wireInputs[g+"/"+codec] = in
	mu.Unlock()
	return in
}

func benchConsumer(b *testing.B, g string, v variant) {
	in := wireRecords(b, g)
	ch := chain(b, v)
	cfg := consumer.DefaultConfig()
	cfg.BatchEvents = batchEvents
	cfg.ProgressEvery = -1
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
	snk := &fixture.Sink{}
	c, err := consumer.New(cfg, coord, func() (stages.Chain, error) { return ch, nil }, snk, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Run(bgCtx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	n := processed.Load()
	if snk.Docs.Load() == 0 {
		b.Fatal("no document reached the sink")
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	cpu.report(b, n)
}
