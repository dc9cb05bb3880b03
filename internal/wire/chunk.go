package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Chunk is the content of one user record: consecutive raw records of one
// S3 object plus what is needed to process them without the rest of the
// object.
type Chunk struct {
	LogType string
	Bucket  string
	Key     string
	// Context is object-level format state (e.g. the CSV header line of a
	// VPC flow log object); nil when the format has none.
	Context []byte
	// FirstOrdinal is the 1-based ordinal of Records[0] in its object;
	// Records[i] has ordinal FirstOrdinal+i.
	FirstOrdinal int64
	// Records are the raw records, without line terminators.
	Records [][]byte

	arena []byte // decompressed body (Decode); Records alias it
}

// Errors of chunk encoding and decoding. They are wrapped with details;
// test with errors.Is.
var (
	// ErrNotChunk: the data does not start with ChunkMagic.
	ErrNotChunk = errors.New("wire: not a siemstream chunk (bad magic)")
	// ErrUnknownVersion: a chunk of a format version this build cannot
	// read (written by a newer producer).
	ErrUnknownVersion = errors.New("wire: unknown chunk version")
	// ErrUnknownCodec: a codec byte this build cannot read.
	ErrUnknownCodec = errors.New("wire: unknown chunk codec")
	// ErrCorruptChunk: truncated or inconsistent chunk, or CRC mismatch.
	ErrCorruptChunk = errors.New("wire: corrupt chunk")
	// ErrChunkLimit: a field exceeds a limit of the format.
	ErrChunkLimit = errors.New("wire: chunk limit exceeded")
)

// chunkFixedLen is magic(3) + version(1) + codec(1) + crc32c(4).
const chunkFixedLen = len(ChunkMagic) + 1 + 1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// RawBodySize is the uncompressed body size of a chunk holding records of
// these lengths: each record costs its length plus its uvarint length prefix.
func RawBodySize(recordLen int) int {
	return uvarintLen(uint64(recordLen)) + recordLen
}

// AppendChunk appends the wire form of c, body compressed with codec, to dst.
// It errors (ErrChunkLimit, ErrUnknownCodec) instead of writing a chunk the
// decoder would refuse. The zstd encoder is shared and reused, s2 pools its
// own tables; the only steady-state allocation is growing dst.
func AppendChunk(dst []byte, c *Chunk, codec Codec) ([]byte, error) {
	if !codec.Valid() {
		return dst, fmt.Errorf("%w: %d", ErrUnknownCodec, codec)
	}
	if err := checkHeader(c.LogType, c.Bucket, c.Key, len(c.Context)); err != nil {
		return dst, err
	}
	if c.FirstOrdinal < 1 || c.FirstOrdinal > math.MaxInt64-int64(len(c.Records)) {
		return dst, fmt.Errorf("%w: first ordinal %d must be >= 1", ErrChunkLimit, c.FirstOrdinal)
	}
	if len(c.Records) > MaxChunkRecords {
		return dst, fmt.Errorf("%w: %d records > %d", ErrChunkLimit, len(c.Records), MaxChunkRecords)
	}
	raw := 0
	for _, r := range c.Records {
		raw += RawBodySize(len(r))
	}
	if raw > MaxChunkRawBytes {
		return dst, fmt.Errorf("%w: body of %d bytes > %d", ErrChunkLimit, raw, MaxChunkRawBytes)
	}

	bp := bodyPool.Get().(*[]byte)
	body := (*bp)[:0]
	for _, r := range c.Records {
		body = binary.AppendUvarint(body, uint64(len(r)))
		body = append(body, r...)
	}

	dst = append(dst, ChunkMagic...)
	dst = append(dst, Version1, byte(codec))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(body, castagnoli))
	dst = binary.AppendUvarint(dst, uint64(c.FirstOrdinal))
	dst = binary.AppendUvarint(dst, uint64(len(c.Records)))
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	dst = appendString(dst, c.LogType)
	dst = appendString(dst, c.Bucket)
	dst = appendString(dst, c.Key)
	dst = binary.AppendUvarint(dst, uint64(len(c.Context)))
	dst = append(dst, c.Context...)
	switch codec {
	case CodecNone:
		dst = append(dst, body...)
	case CodecZstd:
		dst = zstdEncoder().EncodeAll(body, dst)
	case CodecS2:
		dst = appendS2(dst, body)
	}
	if cap(body) <= 4<<20 { // don't pin huge buffers in the pool
		*bp = body
		bodyPool.Put(bp)
	}
	return dst, nil
}

// appendS2 appends src as one S2 block. s2.Encode writes from the start
// of the slice it is given, so it gets the free capacity after dst.
func appendS2(dst, src []byte) []byte {
	n := s2.MaxEncodedLen(len(src)) // >= 0: AppendChunk caps src at MaxChunkRawBytes
	dst = slices.Grow(dst, n)
	out := s2.Encode(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+len(out)]
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func checkHeader(logType, bucket, key string, contextLen int) error {
	for _, f := range [...]struct {
		name string
		n    int
	}{{"log type", len(logType)}, {"bucket", len(bucket)}, {"key", len(key)}} {
		if f.n > MaxHeaderStringLen {
			return fmt.Errorf("%w: %s of %d bytes > %d", ErrChunkLimit, f.name, f.n, MaxHeaderStringLen)
		}
	}
	if contextLen > MaxContextBytes {
		return fmt.Errorf("%w: context of %d bytes > %d", ErrChunkLimit, contextLen, MaxContextBytes)
	}
	return nil
}

// Decoder decodes chunks. The zero value is ready to use and is safe for
// concurrent use (the zstd decoder behind it is shared; s2 decoding has no
// state).
type Decoder struct {
	// MaxRawBytes caps the uncompressed body size it accepts; 0 means
	// MaxChunkRawBytes. Larger values are clamped to MaxChunkRawBytes.
	MaxRawBytes int
}

// DecodeChunk decodes data into c with the default limits; see
// (*Decoder).Decode.
func DecodeChunk(data []byte, c *Chunk) error {
	var d Decoder
	return d.Decode(data, c)
}

// Version returns the format version of a chunk, or an error if data does
// not start with the chunk magic.
func Version(data []byte) (int, error) {
	if len(data) < len(ChunkMagic)+1 || string(data[:len(ChunkMagic)]) != ChunkMagic {
		return 0, ErrNotChunk
	}
	return int(data[len(ChunkMagic)]), nil
}

// Decode decodes the chunk in data into c, reusing c's buffers: once c has
// grown to the size of the chunks it sees, decoding allocates nothing (the
// strings LogType, Bucket and Key are kept when they are unchanged).
//
// On success c.Context aliases data; c.Records alias data (CodecNone) or a
// buffer owned by c (zstd, s2). They stay valid until data is modified or c is
// decoded into again.
//
// On error c.Records is empty and the error wraps ErrNotChunk,
// ErrUnknownVersion, ErrUnknownCodec, ErrCorruptChunk or ErrChunkLimit. If
// the header could be read (the body is what is bad), LogType, Bucket, Key,
// Context and FirstOrdinal are set and the error names the object and the
// lost ordinals, for dead-lettering; otherwise they are zero. Decode never
// panics on any input.
func (d *Decoder) Decode(data []byte, c *Chunk) error {
	clear(c.Records) // drop references into the previous data
	c.Records = c.Records[:0]
	c.Context = nil
	c.FirstOrdinal = 0
	err := d.decode(data, c)
	if err != nil {
		clear(c.Records)
		c.Records = c.Records[:0]
		if c.FirstOrdinal == 0 { // header not read
			c.LogType, c.Bucket, c.Key, c.Context = "", "", "", nil
		}
	}
	return err
}

func (d *Decoder) decode(data []byte, c *Chunk) error {
	v, err := Version(data)
	if err != nil {
		return err
	}
	if v != Version1 {
		return fmt.Errorf("%w %d (this build reads version %d; upgrade the consumer)", ErrUnknownVersion, v, Version1)
	}
	if len(data) < chunkFixedLen {
		return fmt.Errorf("%w: header truncated", ErrCorruptChunk)
	}
	codec := Codec(data[4])
	if !codec.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownCodec, data[4])
	}
	wantCRC := binary.LittleEndian.Uint32(data[5:9])
	p := data[chunkFixedLen:]

	first, p, err := uvarintField(p, "first ordinal")
	if err != nil {
		return err
	}
	count, p, err := uvarintField(p, "record count")
	if err != nil {
		return err
	}
	rawLen, p, err := uvarintField(p, "body length")
	if err != nil {
		return err
	}
	maxRaw := uint64(MaxChunkRawBytes)
	if d != nil && d.MaxRawBytes > 0 && d.MaxRawBytes < MaxChunkRawBytes {
		maxRaw = uint64(d.MaxRawBytes)
	}
	if rawLen > maxRaw {
		return fmt.Errorf("%w: body of %d bytes > %d", ErrChunkLimit, rawLen, maxRaw)
	}
	if count > MaxChunkRecords {
		return fmt.Errorf("%w: %d records > %d", ErrChunkLimit, count, MaxChunkRecords)
	}
	if count > rawLen { // every record costs at least its 1-byte length
		return fmt.Errorf("%w: %d records in %d bytes", ErrCorruptChunk, count, rawLen)
	}
	if first < 1 || first > math.MaxInt64-count {
		return fmt.Errorf("%w: first ordinal %d", ErrCorruptChunk, first)
	}
	var logType, bucket, key, context []byte
	if logType, p, err = bytesField(p, "log type", MaxHeaderStringLen); err != nil {
		return err
	}
	if bucket, p, err = bytesField(p, "bucket", MaxHeaderStringLen); err != nil {
		return err
	}
	if key, p, err = bytesField(p, "key", MaxHeaderStringLen); err != nil {
		return err
	}
	if context, p, err = bytesField(p, "context", MaxContextBytes); err != nil {
		return err
	}

	c.FirstOrdinal = int64(first)
	if len(context) > 0 {
		c.Context = context
	}
	setString(&c.LogType, logType)
	setString(&c.Bucket, bucket)
	setString(&c.Key, key)
	if err := d.decodeBody(c, codec, p, rawLen, count, wantCRC); err != nil {
		return fmt.Errorf("%w (s3://%s/%s ordinals %d-%d)", err, c.Bucket, c.Key, first, first+max(count, 1)-1)
	}
	return nil
}

func (d *Decoder) decodeBody(c *Chunk, codec Codec, p []byte, rawLen, count uint64, wantCRC uint32) error {
	var body []byte
	switch codec {
	case CodecNone:
		if uint64(len(p)) != rawLen {
			return fmt.Errorf("%w: body is %d bytes, header says %d", ErrCorruptChunk, len(p), rawLen)
		}
		body = p
	case CodecZstd:
		if cap(c.arena) < int(rawLen) {
			c.arena = make([]byte, 0, rawLen)
		}
		out, err := zstdDecoder().DecodeAll(p, c.arena[:0:rawLen])
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrCorruptChunk, err)
		}
		if uint64(len(out)) != rawLen {
			return fmt.Errorf("%w: body decompressed to %d bytes, header says %d", ErrCorruptChunk, len(out), rawLen)
		}
		body = out
	case CodecS2:
		// The block states its decoded length up front; it must be the
		// header's (already capped) length before any buffer is sized,
		// so a block claiming more cannot make us allocate it.
		n, err := s2.DecodedLen(p)
		if err != nil {
			return fmt.Errorf("%w: s2: %v", ErrCorruptChunk, err)
		}
		if uint64(n) != rawLen {
			return fmt.Errorf("%w: s2: block decodes to %d bytes, header says %d", ErrCorruptChunk, n, rawLen)
		}
		if cap(c.arena) < int(rawLen) {
			c.arena = make([]byte, 0, rawLen)
		}
		out, err := s2.Decode(c.arena[:0:rawLen], p)
		if err != nil {
			return fmt.Errorf("%w: s2: %v", ErrCorruptChunk, err)
		}
		body = out
	}
	if got := crc32.Checksum(body, castagnoli); got != wantCRC {
		return fmt.Errorf("%w: body CRC-32C %08x, header says %08x", ErrCorruptChunk, got, wantCRC)
	}

	recs := c.Records[:0]
	if uint64(cap(recs)) < count {
		recs = make([][]byte, 0, count)
	}
	for i := uint64(0); i < count; i++ {
		l, n := binary.Uvarint(body)
		if n <= 0 || l > uint64(len(body)-n) {
			c.Records = recs
			return fmt.Errorf("%w: record %d of %d truncated", ErrCorruptChunk, i+1, count)
		}
		end := n + int(l)
		recs = append(recs, body[n:end:end])
		body = body[end:]
	}
	c.Records = recs
	if len(body) != 0 {
		return fmt.Errorf("%w: %d bytes after the last record", ErrCorruptChunk, len(body))
	}
	return nil
}

// setString stores b in *s, allocating only when the value changed.
func setString(s *string, b []byte) {
	if *s != string(b) {
		*s = string(b)
	}
}

func uvarintField(p []byte, name string) (uint64, []byte, error) {
	v, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad %s", ErrCorruptChunk, name)
	}
	return v, p[n:], nil
}

func bytesField(p []byte, name string, limit int) ([]byte, []byte, error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return nil, nil, fmt.Errorf("%w: %s truncated", ErrCorruptChunk, name)
	}
	if l > uint64(limit) {
		return nil, nil, fmt.Errorf("%w: %s of %d bytes > %d", ErrChunkLimit, name, l, limit)
	}
	end := n + int(l)
	return p[n:end:end], p[end:], nil
}
