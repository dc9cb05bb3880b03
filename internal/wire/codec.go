package wire

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Codec is how a chunk body is compressed. The value is the codec byte on
// the wire.
type Codec uint8

const (
	// CodecNone stores the body uncompressed.
	CodecNone Codec = 0
	// CodecZstd compresses the body as one zstd frame (RFC 8878), without
	// the optional zstd content checksum (the chunk has its own CRC-32C).
	CodecZstd Codec = 1
	// CodecS2 compresses the body as one S2 block (klauspost/compress/s2,
	// s2.Encode: a uvarint of the decoded length, then Snappy-style
	// elements). On the bench's VPC, ALB and CloudTrail chunks it
	// compresses ~3x faster than zstd at its fastest level and decodes
	// ~1.7x faster, for 1.6-1.7x the bytes: the choice for a CPU-bound
	// producer whose Kinesis shards have room.
	CodecS2 Codec = 2
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecZstd:
		return "zstd"
	case CodecS2:
		return "s2"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// ParseCodec maps a config value ("zstd", "s2", "none"; empty means zstd)
// to a Codec.
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "none":
		return CodecNone, nil
	case "zstd", "":
		return CodecZstd, nil
	case "s2":
		return CodecS2, nil
	}
	return 0, fmt.Errorf("wire: unknown codec %q (want zstd, s2 or none)", s)
}

// Valid reports whether this build can write and read c.
func (c Codec) Valid() bool { return c == CodecNone || c == CodecZstd || c == CodecS2 }

// The zstd encoder and decoder are expensive to build (tables, window
// buffers), so one of each is built on first use and shared: EncodeAll and
// DecodeAll are safe for concurrent use, with at most GOMAXPROCS running at
// once.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil,
			// On VPC flow chunks SpeedFastest is 1.6x faster than
			// SpeedDefault and compresses as well (8.3x vs 7.8x);
			// SpeedBetterCompression gains 4% for 4x the CPU.
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderCRC(false),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		)
		if err != nil {
			panic(fmt.Sprintf("wire: zstd encoder: %v", err)) // options are constant
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecoderMaxMemory(MaxChunkRawBytes),
			zstd.WithDecodeAllCapLimit(true),
		)
		if err != nil {
			panic(fmt.Sprintf("wire: zstd decoder: %v", err))
		}
		return d
	})
)
