package consumer

import (
	"fmt"
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/stages"
)

// TestUnpackMixedCodecs: the codec is per chunk, so one stream (here one
// KPL aggregate) may carry zstd, s2 and uncompressed chunks, e.g. while a
// producer fleet changes --codec. One unpacker decodes them all, and
// events of every chunk stay intact until Release, then again after the
// chunks' buffers are reused for other codecs.
func TestUnpackMixedCodecs(t *testing.T) {
	codecs := []wire.Codec{wire.CodecZstd, wire.CodecS2, wire.CodecNone, wire.CodecS2, wire.CodecZstd}
	var chunks [][]byte
	var want []string
	ord := int64(1)
	for i, codec := range codecs {
		c := wire.Chunk{LogType: "vpcflowlogs", Bucket: "b", Key: fmt.Sprintf("k%d.gz", i), Context: []byte("version srcaddr"), FirstOrdinal: ord}
		for j := range 300 + 100*i { // different sizes: buffers are reused across codecs
			r := fmt.Sprintf("2 10.0.%d.%d %s ACCEPT OK", i, j%250, codec)
			c.Records = append(c.Records, []byte(r))
			want = append(want, r)
		}
		ord += int64(len(c.Records))
		data, err := wire.AppendChunk(nil, &c, codec)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, data)
	}
	users, agg, err := wire.SplitAggregate(wire.AppendAggregate(nil, "pk", "1", chunks))
	if err != nil || !agg || len(users) != len(codecs) {
		t.Fatalf("aggregate: %d user records, %v, %v", len(users), agg, err)
	}
	var u WireUnpacker
	for round := range 3 {
		var b stages.Batch
		// Round 1 walks the chunks backwards so each pooled chunk buffer
		// meets another codec than the one it held.
		for k := range users {
			i := k
			if round == 1 {
				i = len(users) - 1 - k
			}
			if err := u.Unpack(users[i], i, &b); err != nil {
				t.Fatalf("round %d chunk %d (%v): %v", round, i, codecs[i], err)
			}
		}
		if len(b.Events) != len(want) {
			t.Fatalf("round %d: %d events, want %d", round, len(b.Events), len(want))
		}
		for _, e := range b.Events {
			if w := want[e.Ordinal-1]; string(e.Raw) != w || e.Src.Key != fmt.Sprintf("k%d.gz", e.Unit) {
				t.Fatalf("round %d: ordinal %d of %s: %q, want %q", round, e.Ordinal, e.Src.Key, e.Raw, w)
			}
		}
		u.Release()
	}
}
