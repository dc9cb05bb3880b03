package consumer

import (
	"bytes"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/stages"
)

// WireUnpacker decodes siemstream wire chunks into events. Events' Raw
// slices point into decoded chunk buffers, which stay valid until Release;
// the processor releases them after every flush, so the decoded data held
// at once is bounded by one batch, not by a whole GetRecords response.
// Not safe for concurrent use: one per shard processor.
type WireUnpacker struct {
	dec  wire.Decoder
	live []*unpacked
	free []*unpacked
}

type unpacked struct {
	chunk wire.Chunk
	src   *stages.Source
}

// Unpack implements Unpacker.
func (u *WireUnpacker) Unpack(data []byte, unit int, b *stages.Batch) error {
	var x *unpacked
	if n := len(u.free); n > 0 {
		x, u.free = u.free[n-1], u.free[:n-1]
	} else {
		x = &unpacked{}
	}
	c := &x.chunk
	if err := u.dec.Decode(data, c); err != nil {
		u.free = append(u.free, x)
		return err
	}
	u.live = append(u.live, x)
	src := x.src
	if src == nil || src.LogType != c.LogType || src.Bucket != c.Bucket || src.Key != c.Key || !bytes.Equal(src.Context, c.Context) {
		// Context aliases data, which the next GetRecords replaces: copy it.
		// A new Source (not an update in place): events of earlier batches
		// may still point to the old one.
		src = &stages.Source{LogType: c.LogType, Bucket: c.Bucket, Key: c.Key, Context: bytes.Clone(c.Context)}
		x.src = src
	}
	for i, r := range c.Records {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: c.FirstOrdinal + int64(i), Raw: r, Unit: unit})
	}
	return nil
}

// Release makes every chunk decoded so far reusable: call it once the
// events that point into them are done.
func (u *WireUnpacker) Release() {
	u.free = append(u.free, u.live...)
	clear(u.live)
	u.live = u.live[:0]
}
