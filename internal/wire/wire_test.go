package wire

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/awslabs/kinesis-aggregation/go/v2/deaggregator"
	rec "github.com/awslabs/kinesis-aggregation/go/v2/records"
	"github.com/golang/protobuf/proto"
)

const vpcHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

func vpcLine(i int) []byte {
	return fmt.Appendf(nil, "2 123456789012 eni-0a1b2c3d4e5f%05d 10.0.%d.%d 172.31.%d.%d %d 443 6 %d %d 1700000000 1700000060 ACCEPT OK",
		i%100000, i%256, (i/7)%256, (i/3)%256, i%200, 1024+i%60000, 1+i%50, 40+i*13%90000)
}

func sampleChunk(n int) *Chunk {
	c := &Chunk{LogType: "vpcflowlogs", Bucket: "my-logs", Key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/01/01/x.log.gz",
		Context: []byte(vpcHeader), FirstOrdinal: 17}
	for i := range n {
		c.Records = append(c.Records, vpcLine(i))
	}
	return c
}

func equalChunk(t *testing.T, want, got *Chunk) {
	t.Helper()
	if got.LogType != want.LogType || got.Bucket != want.Bucket || got.Key != want.Key {
		t.Fatalf("header: got %q %q %q want %q %q %q", got.LogType, got.Bucket, got.Key, want.LogType, want.Bucket, want.Key)
	}
	if !bytes.Equal(got.Context, want.Context) || got.FirstOrdinal != want.FirstOrdinal {
		t.Fatalf("context/ordinal: got %q %d want %q %d", got.Context, got.FirstOrdinal, want.Context, want.FirstOrdinal)
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("records: got %d want %d", len(got.Records), len(want.Records))
	}
	for i := range want.Records {
		if !bytes.Equal(got.Records[i], want.Records[i]) {
			t.Fatalf("record %d: got %q want %q", i, got.Records[i], want.Records[i])
		}
	}
}

// allCodecs are the codecs this build writes and reads.
var allCodecs = []Codec{CodecNone, CodecZstd, CodecS2}

func TestChunkRoundTrip(t *testing.T) {
	for _, codec := range allCodecs {
		for _, n := range []int{0, 1, 2, 1000} {
			t.Run(fmt.Sprintf("%v/%d", codec, n), func(t *testing.T) {
				want := sampleChunk(n)
				if n == 2 {
					want.Records[1] = []byte{} // empty record survives
					want.Context = nil
				}
				data, err := AppendChunk([]byte("prefix"), want, codec)
				if err != nil {
					t.Fatal(err)
				}
				data = data[len("prefix"):]
				if v, err := Version(data); err != nil || v != Version1 {
					t.Fatalf("Version = %d, %v", v, err)
				}
				var got Chunk
				var d Decoder
				if err := d.Decode(data, &got); err != nil {
					t.Fatal(err)
				}
				equalChunk(t, want, &got)
				// Decode again into the same chunk (reuse path).
				if err := d.Decode(data, &got); err != nil {
					t.Fatal(err)
				}
				equalChunk(t, want, &got)
			})
		}
	}
}

// TestFormatExamples pins the byte examples of FORMAT.md §5.
func TestFormatExamples(t *testing.T) {
	c := &Chunk{LogType: "vpcflowlogs", Bucket: "logs", Key: "k.gz", Context: []byte("version srcaddr"), FirstOrdinal: 7,
		Records: [][]byte{[]byte("2 10.0.0.1"), []byte("2 10.0.0.2")}}
	got, err := AppendChunk(nil, c, CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	want := "53534301" + "00" + "a3c87606" + "07" + "02" + "16" + "0b" + hex.EncodeToString([]byte("vpcflowlogs")) +
		"04" + hex.EncodeToString([]byte("logs")) + "04" + hex.EncodeToString([]byte("k.gz")) +
		"0f" + hex.EncodeToString([]byte("version srcaddr")) +
		"0a" + hex.EncodeToString([]byte("2 10.0.0.1")) + "0a" + hex.EncodeToString([]byte("2 10.0.0.2"))
	if hex.EncodeToString(got) != want {
		t.Fatalf("chunk example:\n got %x\nwant %s", got, want)
	}
	agg := AppendAggregate(nil, "0123", "42", [][]byte{[]byte("ab")})
	want = "f3899ac2" + "0a0430313233" + "12023432" + "1a08" + "0800" + "1000" + "1a026162" + "ef9c144572414f7875259f6c1f839064"
	if hex.EncodeToString(agg) != want {
		t.Fatalf("aggregate example:\n got %x\nwant %s", agg, want)
	}
}

func TestChunkCompresses(t *testing.T) {
	c := sampleChunk(2000)
	raw := 0
	for _, r := range c.Records {
		raw += len(r)
	}
	for _, tc := range []struct {
		codec Codec
		ratio int
	}{{CodecZstd, 3}, {CodecS2, 2}} {
		data, err := AppendChunk(nil, c, tc.codec)
		if err != nil {
			t.Fatal(err)
		}
		if len(data)*tc.ratio > raw {
			t.Fatalf("%v chunk %d bytes for %d raw bytes: ratio below %d", tc.codec, len(data), raw, tc.ratio)
		}
		t.Logf("%v: %d records, %d raw bytes -> %d wire bytes (%.1f B/record)", tc.codec, len(c.Records), raw, len(data), float64(len(data))/float64(len(c.Records)))
	}
}

func TestParseCodec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Codec
	}{{"", CodecZstd}, {"zstd", CodecZstd}, {"s2", CodecS2}, {"none", CodecNone}} {
		got, err := ParseCodec(tc.in)
		if err != nil || got != tc.want || !got.Valid() {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.in != "" && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
	for _, in := range []string{"S2", "snappy", "lz4", "gzip"} {
		if _, err := ParseCodec(in); err == nil {
			t.Errorf("ParseCodec(%q) accepted", in)
		}
	}
	if Codec(3).Valid() || Codec(3).String() != "codec(3)" {
		t.Errorf("codec 3: valid %v, %q", Codec(3).Valid(), Codec(3).String())
	}
}

func TestChunkErrors(t *testing.T) {
	good, err := AppendChunk(nil, sampleChunk(50), CodecZstd)
	if err != nil {
		t.Fatal(err)
	}
	goodNone, err := AppendChunk(nil, sampleChunk(50), CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	goodS2, err := AppendChunk(nil, sampleChunk(50), CodecS2)
	if err != nil {
		t.Fatal(err)
	}
	// s2Body is where the S2 block of goodS2 starts: after the header,
	// which is goodNone without its raw body.
	rawLen := 0
	for _, r := range sampleChunk(50).Records {
		rawLen += RawBodySize(len(r))
	}
	s2Body := len(goodNone) - rawLen
	mod := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotChunk},
		{"bad magic", mod(good, func(b []byte) []byte { b[0] = 'X'; return b }), ErrNotChunk},
		{"kpl magic", []byte(AggregateMagic + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), ErrNotChunk},
		{"version 2", mod(good, func(b []byte) []byte { b[3] = 2; return b }), ErrUnknownVersion},
		{"version 0", mod(good, func(b []byte) []byte { b[3] = 0; return b }), ErrUnknownVersion},
		{"codec 9", mod(good, func(b []byte) []byte { b[4] = 9; return b }), ErrUnknownCodec},
		{"crc", mod(good, func(b []byte) []byte { b[5] ^= 1; return b }), ErrCorruptChunk},
		{"truncated zstd", good[:len(good)-10], ErrCorruptChunk},
		{"truncated none", goodNone[:len(goodNone)-10], ErrCorruptChunk},
		{"trailing none", append(bytes.Clone(goodNone), 'x'), ErrCorruptChunk},
		{"flipped body none", mod(goodNone, func(b []byte) []byte { b[len(b)-3] ^= 0x20; return b }), ErrCorruptChunk},
		{"flipped body zstd", mod(good, func(b []byte) []byte { b[len(b)-3] ^= 0x20; return b }), ErrCorruptChunk},
		{"truncated s2", goodS2[:len(goodS2)-10], ErrCorruptChunk},
		{"trailing s2", append(bytes.Clone(goodS2), 0), ErrCorruptChunk},
		{"flipped body s2", mod(goodS2, func(b []byte) []byte { b[len(b)-3] ^= 0x20; return b }), ErrCorruptChunk},
		{"s2 length varint", mod(goodS2, func(b []byte) []byte { b[s2Body] ^= 0x01; return b }), ErrCorruptChunk},
		{"s2 as zstd", mod(goodS2, func(b []byte) []byte { b[4] = byte(CodecZstd); return b }), ErrCorruptChunk},
		{"zstd as s2", mod(good, func(b []byte) []byte { b[4] = byte(CodecS2); return b }), ErrCorruptChunk},
		{"header only", good[:chunkFixedLen], ErrCorruptChunk},
		{"short", good[:6], ErrCorruptChunk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleChunk(3)
			err := DecodeChunk(tc.data, c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(c.Records) != 0 {
				t.Fatalf("records left after error: %d", len(c.Records))
			}
		})
	}
	t.Run("header kept on body error", func(t *testing.T) {
		b := bytes.Clone(good)
		b[5] ^= 1
		c := sampleChunk(1)
		err := DecodeChunk(b, c)
		want := sampleChunk(50)
		if !errors.Is(err, ErrCorruptChunk) || c.Key != want.Key || c.FirstOrdinal != 17 || len(c.Records) != 0 ||
			!strings.Contains(err.Error(), "ordinals 17-66") || !strings.Contains(err.Error(), want.Key) {
			t.Fatalf("err %v, chunk %+v", err, c)
		}
		if err := DecodeChunk(b[:10], c); err == nil || c.Key != "" || c.FirstOrdinal != 0 {
			t.Fatalf("header fields left after a header error: %+v", c)
		}
	})
	t.Run("version message", func(t *testing.T) {
		b := bytes.Clone(good)
		b[3] = 2
		err := DecodeChunk(b, new(Chunk))
		if !strings.Contains(err.Error(), "version 2") {
			t.Fatalf("message %q does not name the version", err)
		}
	})
	t.Run("bomb", func(t *testing.T) {
		// Header claims 1 GiB raw body.
		b := []byte(ChunkMagic)
		b = append(b, Version1, byte(CodecZstd), 0, 0, 0, 0)
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, 1<<30)
		if err := DecodeChunk(b, new(Chunk)); !errors.Is(err, ErrChunkLimit) {
			t.Fatalf("err = %v", err)
		}
		d := Decoder{MaxRawBytes: 1 << 10}
		c := sampleChunk(100)
		data, _ := AppendChunk(nil, c, CodecZstd)
		if err := d.Decode(data, new(Chunk)); !errors.Is(err, ErrChunkLimit) {
			t.Fatalf("MaxRawBytes not applied: %v", err)
		}
	})
}

// TestS2BlockLargerThanHeader: a chunk whose header claims a small body but
// whose S2 block says (and would decode to) more is refused before any
// buffer of the block's size is allocated; so is one claiming less.
func TestS2BlockLargerThanHeader(t *testing.T) {
	chunk := func(rawLen int, block []byte) []byte {
		b := []byte(ChunkMagic)
		b = append(b, Version1, byte(CodecS2), 0, 0, 0, 0)
		b = binary.AppendUvarint(b, 1)              // first ordinal
		b = binary.AppendUvarint(b, 1)              // one record
		b = binary.AppendUvarint(b, uint64(rawLen)) // raw body length
		b = append(b, 0, 0, 0, 0)                   // log type, bucket, key, context
		return append(b, block...)
	}
	const big = 8 << 20
	huge := bytes.Repeat([]byte{'a'}, big)
	realBig := appendS2(nil, huge) // a real block decoding to 8 MiB, ~400 KB
	var lie []byte                 // a block that only claims 8 MiB
	lie = binary.AppendUvarint(lie, big)
	lie = append(lie, 0x00, 'x') // one literal byte
	small := appendS2(nil, []byte{1, 'x'})
	for name, data := range map[string][]byte{
		"real block":          chunk(2, realBig),
		"claimed length":      chunk(2, lie),
		"header larger":       chunk(100, small),
		"max header, small":   chunk(MaxChunkRawBytes, small),
		"length over 32 bits": chunk(2, binary.AppendUvarint(nil, 1<<40)),
	} {
		t.Run(name, func(t *testing.T) {
			var c Chunk
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for range 10 {
				if err := DecodeChunk(data, &c); !errors.Is(err, ErrCorruptChunk) || !strings.Contains(err.Error(), "s2") {
					t.Fatalf("err = %v", err)
				}
			}
			runtime.ReadMemStats(&ms1)
			if got := ms1.TotalAlloc - ms0.TotalAlloc; got > 1<<20 {
				t.Fatalf("10 refused decodes allocated %d bytes", got)
			}
		})
	}
}

func TestAppendChunkLimits(t *testing.T) {
	for name, c := range map[string]*Chunk{
		"ordinal 0":    {FirstOrdinal: 0},
		"long key":     {FirstOrdinal: 1, Key: strings.Repeat("k", MaxHeaderStringLen+1)},
		"long context": {FirstOrdinal: 1, Context: make([]byte, MaxContextBytes+1)},
	} {
		if _, err := AppendChunk(nil, c, CodecZstd); !errors.Is(err, ErrChunkLimit) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := AppendChunk(nil, &Chunk{FirstOrdinal: 1}, Codec(7)); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("codec: %v", err)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, codec := range allCodecs {
		data, err := AppendChunk(nil, sampleChunk(2000), codec)
		if err != nil {
			t.Fatal(err)
		}
		var c Chunk
		var d Decoder
		if err := d.Decode(data, &c); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(50, func() {
			if err := d.Decode(data, &c); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocs per Decode, want 0", codec, allocs)
		}
	}
}

func TestAppendChunkAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	c := sampleChunk(2000)
	dst := make([]byte, 0, 1<<20)
	for _, codec := range allCodecs {
		_, _ = AppendChunk(dst, c, codec)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := AppendChunk(dst[:0], c, codec); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("%v: %.1f allocs per AppendChunk", codec, allocs)
		}
	}
}

func userRecords(n int, rng *rand.Rand) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out[i] = b
	}
	return out
}

func TestAggregateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 50} {
		for _, ehk := range []string{"", "170141183460469231731687303715884105728"} {
			recs := userRecords(n, rng)
			recs[0] = []byte{} // empty data is legal
			data := AppendAggregate(nil, "pk-1", ehk, recs)
			if len(data) != AggregateSize("pk-1", ehk, recs) {
				t.Fatalf("AggregateSize = %d, len = %d", AggregateSize("pk-1", ehk, recs), len(data))
			}
			if !IsAggregate(data) {
				t.Fatal("IsAggregate false")
			}
			got, agg, err := SplitAggregate(data)
			if err != nil || !agg {
				t.Fatalf("SplitAggregate: %v agg=%v", err, agg)
			}
			if len(got) != n {
				t.Fatalf("%d user records, want %d", len(got), n)
			}
			for i := range recs {
				if !bytes.Equal(got[i], recs[i]) {
					t.Fatalf("record %d differs", i)
				}
			}
		}
	}
}

// TestAggregateReadableByKinesisAggregation proves the awslabs Go
// deaggregator (used by vmware-go-kcl) reads our aggregates, and checks the
// protobuf with the generated message (same schema as the Java KCL's):
// one partition key, one explicit hash key, every record pointing at both.
func TestAggregateReadableByKinesisAggregation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const pk = "0123456789abcdef0123456789abcdef"
	const ehk = "340282366920938463463374607431768211455"
	recs := userRecords(20, rng)
	chunk, err := AppendChunk(nil, sampleChunk(10), CodecZstd)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, chunk)
	data := AppendAggregate(nil, pk, ehk, recs)

	out, err := deaggregator.DeaggregateRecords([]types.Record{{
		Data: data, PartitionKey: aws.String("outer"), SequenceNumber: aws.String("4955"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(recs) {
		t.Fatalf("deaggregator returned %d records, want %d", len(out), len(recs))
	}
	for i, r := range out {
		if !bytes.Equal(r.Data, recs[i]) || aws.ToString(r.PartitionKey) != pk || aws.ToString(r.SequenceNumber) != "4955" {
			t.Fatalf("record %d: pk %q seq %q data equal %v", i, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber), bytes.Equal(r.Data, recs[i]))
		}
	}
	var c Chunk
	if err := DecodeChunk(out[len(out)-1].Data, &c); err != nil {
		t.Fatalf("chunk after deaggregation: %v", err)
	}

	// Structural check with the generated protobuf (proto2, required fields).
	body := data[4 : len(data)-16]
	var ar rec.AggregatedRecord
	if err := proto.Unmarshal(body, &ar); err != nil {
		t.Fatal(err)
	}
	if len(ar.PartitionKeyTable) != 1 || ar.PartitionKeyTable[0] != pk || len(ar.ExplicitHashKeyTable) != 1 || ar.ExplicitHashKeyTable[0] != ehk {
		t.Fatalf("tables: %q %q", ar.PartitionKeyTable, ar.ExplicitHashKeyTable)
	}
	for i, r := range ar.Records {
		if r.PartitionKeyIndex == nil || *r.PartitionKeyIndex != 0 || r.ExplicitHashKeyIndex == nil || *r.ExplicitHashKeyIndex != 0 {
			t.Fatalf("record %d key indexes: %v %v", i, r.PartitionKeyIndex, r.ExplicitHashKeyIndex)
		}
	}
	// And the reverse: an aggregate marshalled by the generated code (as the
	// KPL writes it) is read by SplitAggregate, tags and all.
	ar.Records[0].Tags = []*rec.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	pb, err := proto.Marshal(&ar)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(pb)
	kpl := append(append([]byte(AggregateMagic), pb...), sum[:]...)
	got, agg, err := SplitAggregate(kpl)
	if err != nil || !agg || len(got) != len(recs) {
		t.Fatalf("SplitAggregate(KPL) = %d records, %v, %v", len(got), agg, err)
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
}

func TestSplitAggregatePlainAndErrors(t *testing.T) {
	plain := []byte(`{"not":"aggregated"}`)
	got, agg, err := SplitAggregate(plain)
	if err != nil || agg || len(got) != 1 || !bytes.Equal(got[0], plain) {
		t.Fatalf("plain: %q %v %v", got, agg, err)
	}
	// Magic but too short: plain, as in the KCL.
	short := []byte(AggregateMagic + "0123456789abcdef")
	if got, agg, err := SplitAggregate(short); err != nil || agg || len(got) != 1 {
		t.Fatalf("short: %v %v %v", got, agg, err)
	}
	data := AppendAggregate(nil, "pk", "1", [][]byte{[]byte("a"), []byte("bc")})
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	if _, _, err := SplitAggregate(bad); !errors.Is(err, ErrAggregateDigest) {
		t.Fatalf("digest: %v", err)
	}
	bad = bytes.Clone(data)
	bad[8] ^= 0x55
	if _, _, err := SplitAggregate(bad); !errors.Is(err, ErrAggregateDigest) {
		t.Fatalf("body flip: %v", err)
	}
	// Valid MD5 over broken protobuf.
	withDigest := func(pb []byte) []byte {
		sum := md5.Sum(pb)
		return append(append([]byte(AggregateMagic), pb...), sum[:]...)
	}
	for name, pb := range map[string][]byte{
		"truncated":   data[4 : len(data)-16-3],
		"pk index":    {0x0a, 1, 'p', 0x1a, 5, 0x08, 1, 0x1a, 1, 'x'},
		"ehk index":   {0x0a, 1, 'p', 0x1a, 7, 0x08, 0, 0x10, 0, 0x1a, 1, 'x'},
		"no data":     {0x0a, 1, 'p', 0x1a, 2, 0x08, 0},
		"no pk index": {0x0a, 1, 'p', 0x1a, 3, 0x1a, 1, 'x'},
		"group":       {0x0b},
		"field 0":     {0x00},
		"huge length": {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, agg, err := SplitAggregate(withDigest(pb)); !errors.Is(err, ErrAggregateMalformed) || !agg {
			t.Errorf("%s: agg=%v err=%v", name, agg, err)
		}
	}
}

func TestAggregateNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	recs := userRecords(30, rand.New(rand.NewPCG(5, 6)))
	dst := make([]byte, 0, AggregateSize("pk", "12345", recs))
	var users [][]byte
	allocs := testing.AllocsPerRun(50, func() {
		data := AppendAggregate(dst[:0], "pk", "12345", recs)
		var err error
		users, _, err = AppendUserRecords(users[:0], data)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocs", allocs)
	}
}

func TestUvarintLen(t *testing.T) {
	for _, x := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<63 - 1, 1<<64 - 1} {
		if got, want := uvarintLen(x), len(binary.AppendUvarint(nil, x)); got != want {
			t.Errorf("uvarintLen(%d) = %d want %d", x, got, want)
		}
	}
}

func BenchmarkChunkEncodeVPC(b *testing.B) {
	c := sampleChunk(2000)
	raw := 0
	for _, r := range c.Records {
		raw += len(r)
	}
	b.SetBytes(int64(raw))
	dst := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = AppendChunk(dst[:0], c, CodecZstd)
	}
	b.ReportMetric(float64(len(dst))/float64(len(c.Records)), "wireB/rec")
}

func BenchmarkChunkDecodeVPC(b *testing.B) {
	c := sampleChunk(2000)
	raw := 0
	for _, r := range c.Records {
		raw += len(r)
	}
	data, _ := AppendChunk(nil, c, CodecZstd)
	b.SetBytes(int64(raw))
	var out Chunk
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}
