package wire

import (
	"bytes"
	"testing"
)

// FuzzChunk checks that Decode never panics and that whatever it accepts
// re-encodes to an equal chunk; the seeds are valid chunks (every codec),
// a truncated one, a version-2 one and garbage.
func FuzzChunk(f *testing.F) {
	for _, codec := range allCodecs {
		for _, n := range []int{0, 1, 5} {
			data, err := AppendChunk(nil, sampleChunk(n), codec)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			f.Add(data[:len(data)/2])
		}
	}
	v2, _ := AppendChunk(nil, sampleChunk(1), CodecNone)
	v2[3] = 2
	f.Add(v2)
	f.Add([]byte("SSC\x01\x00"))
	// An s2 chunk whose block claims more than its header.
	f.Add([]byte("SSC\x01\x02\x00\x00\x00\x00\x01\x01\x02\x00\x00\x00\x00\x80\x80\x80\x04\x00x"))
	f.Add([]byte(AggregateMagic + "garbage garbage garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Chunk
		if err := DecodeChunk(data, &c); err != nil {
			return
		}
		again, err := AppendChunk(nil, &c, CodecNone)
		if err != nil {
			t.Fatalf("decoded chunk does not re-encode: %v", err)
		}
		var c2 Chunk
		if err := DecodeChunk(again, &c2); err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		equalChunk(t, &c, &c2)
	})
}

// FuzzChunkRoundTrip builds chunks from fuzzed records and header fields.
func FuzzChunkRoundTrip(f *testing.F) {
	f.Add("vpcflowlogs", "bucket", "key.gz", []byte(vpcHeader), int64(1), []byte("a\nbb\n\nccc"), uint8(CodecZstd))
	f.Add("vpcflowlogs", "bucket", "key.gz", []byte(vpcHeader), int64(1), []byte("a\nbb\n\nccc"), uint8(CodecS2))
	f.Add("", "", "", []byte(nil), int64(1<<40), []byte(""), uint8(CodecNone))
	f.Add("x", "y", "z", []byte(nil), int64(3), bytes.Repeat([]byte("2 10.0.0.1 443 ACCEPT\n"), 8), uint8(CodecS2))
	f.Fuzz(func(t *testing.T, logType, bucket, key string, context []byte, first int64, joined []byte, codecByte uint8) {
		if first < 1 || len(context) > MaxContextBytes || len(key) > MaxHeaderStringLen || len(bucket) > MaxHeaderStringLen || len(logType) > MaxHeaderStringLen {
			return
		}
		want := &Chunk{LogType: logType, Bucket: bucket, Key: key, Context: context, FirstOrdinal: first, Records: bytes.Split(joined, []byte("\n"))}
		if len(context) == 0 {
			want.Context = nil
		}
		codec := allCodecs[int(codecByte)%len(allCodecs)]
		data, err := AppendChunk(nil, want, codec)
		if err != nil {
			if first > 1<<62 {
				return // ordinal overflow is refused
			}
			t.Fatal(err)
		}
		var got Chunk
		if err := DecodeChunk(data, &got); err != nil {
			t.Fatal(err)
		}
		equalChunk(t, want, &got)
		// Any truncation is an error, never a panic or a silent short read.
		for _, cut := range []int{1, len(data) / 2, len(data) - 1} {
			if cut > 0 && cut < len(data) {
				if err := DecodeChunk(data[:cut], &got); err == nil {
					t.Fatalf("truncated to %d of %d bytes decoded without error", cut, len(data))
				}
			}
		}
	})
}

// FuzzAggregate checks SplitAggregate never panics on arbitrary bytes, and
// round-trips aggregates built from fuzzed records; flipping any byte of the
// MD5 or body of a valid aggregate is an error.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte("a\x00bc\x00"), "pk", "12345", uint16(0))
	f.Add([]byte(""), "", "", uint16(3))
	f.Add([]byte(AggregateMagic+"\x0a\x01p\x1a\x05\x08\x00\x1a\x01x"), "p", "", uint16(40))
	f.Fuzz(func(t *testing.T, joined []byte, pk, ehk string, flip uint16) {
		// Arbitrary bytes as a Kinesis record.
		if users, agg, err := SplitAggregate(joined); err == nil && !agg && (len(users) != 1 || !bytes.Equal(users[0], joined)) {
			t.Fatal("plain record not passed through")
		}
		recs := bytes.Split(joined, []byte{0})
		data := AppendAggregate(nil, pk, ehk, recs)
		if len(data) != AggregateSize(pk, ehk, recs) {
			t.Fatal("AggregateSize mismatch")
		}
		got, agg, err := SplitAggregate(data)
		if err != nil || !agg || len(got) != len(recs) {
			t.Fatalf("round trip: %d records, agg=%v, err=%v", len(got), agg, err)
		}
		for i := range recs {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
		i := 4 + int(flip)%(len(data)-4)
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, _, err := SplitAggregate(bad); err == nil {
			t.Fatalf("flipped byte %d of %d accepted", i, len(data))
		}
		if _, _, err := SplitAggregate(data[:len(data)-1-int(flip)%(len(data)-4)]); err == nil && len(data)-1-int(flip)%(len(data)-4) > 20 {
			t.Fatal("truncated aggregate accepted")
		}
	})
}
