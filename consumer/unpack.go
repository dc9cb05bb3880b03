package consumer

import (
	"bytes"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/stages"
)

// WireUnpacker decodes siemstream wire chunks into events. It keeps one
// decoded chunk per unit and reuses them batch after batch, so events' Raw
// slices stay valid until the same unit index is unpacked again. Not safe
// for concurrent use: one per shard processor.
type WireUnpacker struct {
	dec    wire.Decoder
	chunks []wire.Chunk
	srcs   []*stages.Source
}

// Unpack implements Unpacker.
func (u *WireUnpacker) Unpack(data []byte, unit int, b *stages.Batch) error {
	for len(u.chunks) <= unit {
		u.chunks = append(u.chunks, wire.Chunk{})
		u.srcs = append(u.srcs, nil)
	}
	c := &u.chunks[unit]
	if err := u.dec.Decode(data, c); err != nil {
		return err
	}
	src := u.srcs[unit]
	if src == nil || src.LogType != c.LogType || src.Bucket != c.Bucket || src.Key != c.Key || !bytes.Equal(src.Context, c.Context) {
		// Context aliases data, which the next GetRecords replaces: copy it.
		src = &stages.Source{LogType: c.LogType, Bucket: c.Bucket, Key: c.Key, Context: bytes.Clone(c.Context)}
		u.srcs[unit] = src
	}
	for i, r := range c.Records {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: c.FirstOrdinal + int64(i), Raw: r, Unit: unit})
	}
	return nil
}
