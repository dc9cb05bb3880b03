package pack

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
)

type rawRec struct {
	ord  int64
	data []byte
}

var obj = Object{LogType: "vpcflowlogs", Bucket: "logs", Key: "AWSLogs/1/vpcflowlogs/us-east-1/2025/01/01/f.log.gz",
	Context: []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")}

func vpcLine(rng *rand.Rand, i int) []byte {
	return fmt.Appendf(nil, "2 123456789012 eni-%017x 10.%d.%d.%d 172.31.%d.%d %d %d 6 %d %d 1700000%03d 1700000%03d %s OK",
		rng.Uint64()%0xfff, rng.IntN(4), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000),
		[]int{443, 80, 22, 53}[rng.IntN(4)], 1+rng.IntN(100), 40+rng.IntN(100000), i%1000, (i+60)%1000, []string{"ACCEPT", "REJECT"}[rng.IntN(2)])
}

// packAll packs recs and checks every Kinesis and wire invariant of the
// entries; it returns the entries and the records that came back.
func packAll(t testing.TB, cfg Config, o Object, recs []rawRec) ([]Entry, []rawRec, []int64) {
	t.Helper()
	var entries []Entry
	p, err := New(cfg, func(e Entry) error { entries = append(entries, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(o); err != nil {
		t.Fatal(err)
	}
	var tooLarge []int64
	for _, r := range recs {
		err := p.Add(r.data, r.ord)
		var re *RecordError
		switch {
		case errors.As(err, &re):
			if re.Ordinal != r.ord || !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("record error %v for ordinal %d", err, r.ord)
			}
			tooLarge = append(tooLarge, r.ord)
		case err != nil:
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	got := checkEntries(t, cfg.withDefaults(), o, entries)
	st := p.Stats()
	if st.Entries != int64(len(entries)) || st.Records != int64(len(got)) {
		t.Fatalf("stats %+v, %d entries, %d records", st, len(entries), len(got))
	}
	return entries, got, tooLarge
}

var maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

func checkEntries(t testing.TB, cfg Config, o Object, entries []Entry) []rawRec {
	t.Helper()
	var out []rawRec
	var c wire.Chunk
	for i, e := range entries {
		if e.Size() > cfg.RecordBytes || e.Size() > wire.MaxKinesisRecordBytes && cfg.RecordBytes <= wire.MaxKinesisRecordBytes {
			t.Fatalf("entry %d: %d bytes > %d", i, e.Size(), cfg.RecordBytes)
		}
		if n := len(e.PartitionKey); n < 1 || n > wire.MaxPartitionKeyLen {
			t.Fatalf("entry %d: partition key of %d bytes", i, n)
		}
		h, ok := new(big.Int).SetString(e.ExplicitHashKey, 10)
		if !ok || h.Sign() < 0 || h.Cmp(maxHashKey) > 0 {
			t.Fatalf("entry %d: bad explicit hash key %q", i, e.ExplicitHashKey)
		}
		users, agg, err := wire.SplitAggregate(e.Data)
		if err != nil || !agg || len(users) != e.Chunks || len(users) == 0 {
			t.Fatalf("entry %d: %d user records (Chunks %d), agg %v, %v", i, len(users), e.Chunks, agg, err)
		}
		n := 0
		for j, u := range users {
			if err := wire.DecodeChunk(u, &c); err != nil {
				t.Fatalf("entry %d chunk %d: %v", i, j, err)
			}
			if c.LogType != o.LogType || c.Bucket != o.Bucket || c.Key != o.Key || !bytes.Equal(c.Context, o.Context) {
				t.Fatalf("entry %d chunk %d: header %q %q %q", i, j, c.LogType, c.Bucket, c.Key)
			}
			if len(c.Records) == 0 || len(c.Records) > cfg.ChunkRecords {
				t.Fatalf("entry %d chunk %d: %d records", i, j, len(c.Records))
			}
			raw := 0
			for _, r := range c.Records {
				raw += wire.RawBodySize(len(r))
			}
			if raw > cfg.ChunkBytes && len(c.Records) > 1 {
				t.Fatalf("entry %d chunk %d: %d raw bytes > %d", i, j, raw, cfg.ChunkBytes)
			}
			if j == 0 && c.FirstOrdinal != e.FirstOrdinal {
				t.Fatalf("entry %d: FirstOrdinal %d, chunk says %d", i, e.FirstOrdinal, c.FirstOrdinal)
			}
			for k, r := range c.Records {
				out = append(out, rawRec{c.FirstOrdinal + int64(k), bytes.Clone(r)})
			}
			n += len(c.Records)
		}
		if n != e.Records || out[len(out)-1].ord != e.LastOrdinal {
			t.Fatalf("entry %d: Records %d LastOrdinal %d, decoded %d up to %d", i, e.Records, e.LastOrdinal, n, out[len(out)-1].ord)
		}
	}
	return out
}

func sameRecords(t testing.TB, want, got []rawRec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records back, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ord != want[i].ord || !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("record %d: ordinal %d (want %d), equal data %v", i, got[i].ord, want[i].ord, bytes.Equal(got[i].data, want[i].data))
		}
	}
}

func TestPackRoundTripVPC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var recs []rawRec
	for i := range 100000 {
		recs = append(recs, rawRec{int64(i + 1), vpcLine(rng, i)})
	}
	for _, codec := range []string{"zstd", "s2", "none"} {
		entries, got, tooLarge := packAll(t, Config{Codec: codec}, obj, recs)
		if len(tooLarge) != 0 {
			t.Fatal(tooLarge)
		}
		sameRecords(t, recs, got)
		// Hash keys differ between the object's aggregates.
		seen := map[string]bool{}
		for _, e := range entries {
			if seen[e.ExplicitHashKey] {
				t.Fatalf("hash key %s reused", e.ExplicitHashKey)
			}
			seen[e.ExplicitHashKey] = true
		}
		t.Logf("%s: %d records -> %d entries, %.0f events/record", codec, len(recs), len(entries), float64(len(recs))/float64(len(entries)))
	}
}

func TestPackGapsAndTooLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(rng.Uint32()) // incompressible
	}
	recs := []rawRec{{1, []byte("a")}, {2, []byte("b")}, {5, []byte("c")}, {6, big}, {7, []byte("d")}, {9, big[:700<<10]}, {10, bytes.Repeat([]byte("z"), 3<<20)}, {11, []byte("e")}}
	_, got, tooLarge := packAll(t, Config{}, obj, recs)
	if fmt.Sprint(tooLarge) != "[6]" {
		t.Fatalf("too large: %v", tooLarge)
	}
	want := append(append([]rawRec{}, recs[:3]...), recs[4:]...)
	sameRecords(t, want, got)

	// s2 packs what zstd packs.
	_, got, tooLarge = packAll(t, Config{Codec: "s2"}, obj, recs)
	if fmt.Sprint(tooLarge) != "[6]" {
		t.Fatalf("too large (s2): %v", tooLarge)
	}
	sameRecords(t, want, got)

	// Uncompressed: the 3 MiB compressible record is too large as well.
	_, got, tooLarge = packAll(t, Config{Codec: "none"}, obj, recs)
	if fmt.Sprint(tooLarge) != "[6 10]" {
		t.Fatalf("too large (none): %v", tooLarge)
	}
	want = []rawRec{recs[0], recs[1], recs[2], recs[4], recs[5], recs[7]}
	sameRecords(t, want, got)
}

func TestPackErrors(t *testing.T) {
	boom := errors.New("boom")
	p, err := New(Config{RecordBytes: 8 << 10, Codec: "none"}, func(Entry) error { return boom })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add([]byte("x"), 1); err == nil {
		t.Fatal("Add before Begin accepted")
	}
	if err := p.Begin(obj); err != nil {
		t.Fatal(err)
	}
	var addErr error
	for i := int64(1); i < 1000 && addErr == nil; i++ {
		addErr = p.Add(bytes.Repeat([]byte("x"), 100), i)
	}
	if !errors.Is(addErr, boom) {
		t.Fatalf("emit error not returned: %v", addErr)
	}
	if err := p.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush after failure: %v", err)
	}
	// A failed packer can start the next object.
	if err := p.Begin(obj); err != nil {
		t.Fatalf("Begin after failure: %v", err)
	}
	if err := p.Add([]byte("x"), 1); err != nil {
		t.Fatal(err)
	}

	p, _ = New(Config{}, func(Entry) error { return nil })
	_ = p.Begin(obj)
	_ = p.Add([]byte("x"), 5)
	if err := p.Add([]byte("y"), 5); err == nil {
		t.Fatal("repeated ordinal accepted")
	}
	if err := p.Begin(obj); err == nil {
		t.Fatal("Begin before Flush accepted")
	}
	if err := p.Begin(Object{Context: make([]byte, wire.MaxContextBytes+1)}); err == nil {
		t.Fatal("huge context accepted")
	}
	p, _ = New(Config{RecordBytes: 16 << 10}, func(Entry) error { return nil })
	if err := p.Begin(Object{Context: make([]byte, 16<<10)}); !errors.Is(err, wire.ErrChunkLimit) {
		t.Fatalf("context larger than record_bytes: %v", err)
	}

	for _, c := range []Config{{RecordBytes: 100}, {ChunkBytes: -1}, {Codec: "lz4"}, {RecordBytes: 20 << 20}, {ChunkRecords: wire.MaxChunkRecords + 1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPackEmptyObject(t *testing.T) {
	entries, got, _ := packAll(t, Config{}, obj, nil)
	if len(entries) != 0 || len(got) != 0 {
		t.Fatal("entries for an empty object")
	}
}

func TestPackReuseAcrossObjects(t *testing.T) {
	var entries []Entry
	p, _ := New(Config{}, func(e Entry) error { entries = append(entries, e); return nil })
	for k := range 3 {
		o := obj
		o.Key = fmt.Sprintf("k%d", k)
		_ = p.Begin(o)
		for i := range 10 {
			if err := p.Add([]byte{byte(i)}, int64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		got := checkEntries(t, p.cfg, o, entries[len(entries)-1:])
		if len(got) != 10 {
			t.Fatalf("object %d: %d records", k, len(got))
		}
	}
	if entries[0].ExplicitHashKey == entries[1].ExplicitHashKey {
		t.Fatal("different objects share a hash key")
	}
}

// TestPackRandomLimits is a property test: random configs (small limits so
// they bind) and random records; every limit holds and every record comes
// back with its ordinal, or was reported too large.
func TestPackRandomLimits(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 10
	}
	for seed := range uint64(n) {
		checkRandom(t, seed, nil)
	}
}

func checkRandom(t *testing.T, seed uint64, extra []byte) {
	rng := rand.New(rand.NewPCG(seed, 99))
	cfg := Config{
		ChunkBytes:   1 + rng.IntN(64<<10),
		ChunkRecords: 1 + rng.IntN(500),
		RecordBytes:  minRecordBytes + rng.IntN(256<<10),
		Codec:        []string{"zstd", "s2", "none"}[rng.IntN(3)],
	}
	o := obj
	if rng.IntN(3) == 0 {
		o.Context = bytes.Repeat([]byte("h"), rng.IntN(min(wire.MaxContextBytes, cfg.RecordBytes/2)))
	}
	var recs []rawRec
	ord := int64(0)
	for i := range rng.IntN(2000) {
		ord += 1 + int64(rng.IntN(3)/2) // some gaps
		var b []byte
		switch rng.IntN(20) {
		case 0:
			b = make([]byte, rng.IntN(cfg.RecordBytes+cfg.RecordBytes/2))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		case 1:
			b = nil
		default:
			b = vpcLine(rng, i)
		}
		recs = append(recs, rawRec{ord, b})
	}
	if len(extra) > 0 {
		recs = append(recs, rawRec{ord + 1, extra})
	}
	_, got, tooLarge := packAll(t, cfg, o, recs)
	want := recs[:0:0]
	skip := map[int64]bool{}
	for _, x := range tooLarge {
		skip[x] = true
	}
	for _, r := range recs {
		if !skip[r.ord] {
			want = append(want, r)
		} else if len(r.data) < cfg.RecordBytes/2 {
			t.Fatalf("seed %d: record of %d bytes refused with record_bytes %d", seed, len(r.data), cfg.RecordBytes)
		}
	}
	sameRecords(t, want, got)
}

func FuzzPack(f *testing.F) {
	f.Add(uint64(1), []byte("extra"))
	f.Add(uint64(7), []byte(nil))
	f.Fuzz(func(t *testing.T, seed uint64, extra []byte) {
		checkRandom(t, seed%1000, extra)
	})
}

func TestBatcher(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, lim := range [][2]int{{0, 0}, {7, 0}, {0, 3 << 20}, {1, 0}} {
		b, err := NewBatcher(lim[0], lim[1])
		if err != nil {
			t.Fatal(err)
		}
		maxE, maxB := b.maxEntries, b.maxBytes
		var in, out []Entry
		check := func(batch []Entry) {
			if len(batch) == 0 {
				return
			}
			size := 0
			for _, e := range batch {
				size += e.Size()
			}
			if len(batch) > maxE || size > maxB {
				t.Fatalf("batch of %d entries, %d bytes (limits %d, %d)", len(batch), size, maxE, maxB)
			}
			out = append(out, batch...)
		}
		for i := range 5000 {
			var n int
			if rng.IntN(10) == 0 {
				n = rng.IntN(DefaultRecordBytes)
			} else {
				n = rng.IntN(20 << 10)
			}
			e := Entry{Data: make([]byte, n), PartitionKey: fmt.Sprintf("%032x", i)}
			in = append(in, e)
			check(b.Add(e))
		}
		check(b.Flush())
		if b.Flush() != nil || b.Len() != 0 || b.Bytes() != 0 {
			t.Fatal("not empty after Flush")
		}
		if len(out) != len(in) {
			t.Fatalf("%d entries out, %d in", len(out), len(in))
		}
		for i := range in {
			if out[i].PartitionKey != in[i].PartitionKey {
				t.Fatalf("entry %d out of order", i)
			}
		}
	}
	for _, lim := range [][2]int{{501, 0}, {0, 6 << 20}, {-1, 0}} {
		if _, err := NewBatcher(lim[0], lim[1]); err == nil {
			t.Errorf("limits %v accepted", lim)
		}
	}
}

// typicalVPCLine draws from pools the way one account's flow logs repeat:
// 40 ENIs, 2 000 peers, a few ports, clustered timestamps. ~120 bytes.
func typicalVPCLine(rng *rand.Rand, i int) []byte {
	start := 1700000000 + i/200
	return fmt.Appendf(nil, "2 123456789012 eni-0a1b2c3d4e5f%05d 10.0.%d.%d 10.1.%d.%d %d %d 6 %d %d %d %d %s OK",
		rng.IntN(40), rng.IntN(8), rng.IntN(250), rng.IntN(8), rng.IntN(250), 32768+rng.IntN(28000),
		[]int{443, 443, 443, 80, 22, 53, 5432, 6379}[rng.IntN(8)], 1+rng.IntN(60), 40+rng.IntN(60000), start, start+60,
		[]string{"ACCEPT", "ACCEPT", "ACCEPT", "REJECT"}[rng.IntN(4)])
}

func benchPack(b *testing.B, line func(*rand.Rand, int) []byte) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 50000
	recs := make([][]byte, n)
	raw := 0
	for i := range recs {
		recs[i] = line(rng, i)
		raw += len(recs[i])
	}
	var entries, wireBytes int64
	p, err := New(Config{}, func(e Entry) error { entries++; wireBytes += int64(e.Size()); return nil })
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		entries, wireBytes = 0, 0
		_ = p.Begin(obj)
		for i, r := range recs {
			if err := p.Add(r, int64(i+1)); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(raw)/n, "rawB/event")
	b.ReportMetric(float64(n)/float64(entries), "events/record")
	b.ReportMetric(float64(wireBytes)/n, "wireB/event")
}

// BenchmarkPackVPC: typical flow log lines (~120 B).
func BenchmarkPackVPC(b *testing.B) { benchPack(b, typicalVPCLine) }

// BenchmarkPackVPCHighEntropy: every field random (worst case).
func BenchmarkPackVPCHighEntropy(b *testing.B) { benchPack(b, vpcLine) }
