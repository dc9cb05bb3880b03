package pack

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/siemstream/siemstream/internal/wire"
)

// Defaults.
const (
	DefaultChunkBytes   = 256 << 10
	DefaultChunkRecords = 10000
	// DefaultRecordBytes leaves 8 KiB of margin under the 1 MiB Kinesis
	// record limit (Data + partition key).
	DefaultRecordBytes = wire.MaxKinesisRecordBytes - 8<<10
	DefaultCodec       = "zstd"
)

// Config sizes chunks and Kinesis records.
type Config struct {
	// ChunkBytes is the most uncompressed body bytes per chunk (each raw
	// record costs its length plus a 1–3 byte length prefix). A chunk is
	// also the consumer's unit of work and of acknowledgement. 0 means
	// DefaultChunkBytes (256 KiB). A single record larger than this gets a
	// chunk of its own.
	ChunkBytes int `yaml:"chunk_bytes"`
	// ChunkRecords is the most raw records per chunk. 0 means
	// DefaultChunkRecords (10000).
	ChunkRecords int `yaml:"chunk_records"`
	// RecordBytes is the most Data + partition key bytes per Kinesis record.
	// 0 means DefaultRecordBytes (1 MiB − 8 KiB). Raise it (up to the
	// stream's MaxRecordSizeInKiB) only for streams with larger records.
	RecordBytes int `yaml:"record_bytes"`
	// Codec compresses chunk bodies: "zstd", "s2" or "none" (see
	// wire.Codec). Empty means zstd.
	Codec string `yaml:"codec"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{ChunkBytes: DefaultChunkBytes, ChunkRecords: DefaultChunkRecords, RecordBytes: DefaultRecordBytes, Codec: DefaultCodec}
}

func (c Config) withDefaults() Config {
	if c.ChunkBytes == 0 {
		c.ChunkBytes = DefaultChunkBytes
	}
	if c.ChunkRecords == 0 {
		c.ChunkRecords = DefaultChunkRecords
	}
	if c.RecordBytes == 0 {
		c.RecordBytes = DefaultRecordBytes
	}
	if c.Codec == "" {
		c.Codec = DefaultCodec
	}
	return c
}

// minRecordBytes leaves room for the aggregate and chunk headers (S3 keys
// are up to 1 KiB) plus some data.
const minRecordBytes = 8 << 10

// Validate checks the config (zero fields mean their defaults).
func (c Config) Validate() error {
	d := c.withDefaults()
	if c.ChunkBytes < 0 || d.ChunkBytes > wire.MaxChunkRawBytes {
		return fmt.Errorf("pack: chunk_bytes %d outside 1..%d", c.ChunkBytes, wire.MaxChunkRawBytes)
	}
	if c.ChunkRecords < 0 || d.ChunkRecords > wire.MaxChunkRecords {
		return fmt.Errorf("pack: chunk_records %d outside 1..%d", c.ChunkRecords, wire.MaxChunkRecords)
	}
	if c.RecordBytes < 0 || d.RecordBytes < minRecordBytes || d.RecordBytes > 10<<20 {
		return fmt.Errorf("pack: record_bytes %d outside %d..%d", c.RecordBytes, minRecordBytes, 10<<20)
	}
	if _, err := wire.ParseCodec(d.Codec); err != nil {
		return fmt.Errorf("pack: codec: %w", err)
	}
	return nil
}

// Object identifies the S3 object being packed.
type Object struct {
	LogType string
	Bucket  string
	Key     string
	// Context is the object's format state (split.Splitter.Context).
	Context []byte
}

// Entry is one Kinesis PutRecords entry: a KPL aggregated record of chunks
// of one object.
type Entry struct {
	// Data is the record's data; the receiver owns it.
	Data []byte
	// PartitionKey is 32 hex digits; ExplicitHashKey is the decimal form
	// of the same 128-bit value and decides the shard. Put both.
	PartitionKey    string
	ExplicitHashKey string
	// FirstOrdinal and LastOrdinal are the ordinals of the first and last
	// raw record inside (there may be gaps where records failed).
	FirstOrdinal, LastOrdinal int64
	// Records is the number of raw records; Chunks the number of user
	// records (KCL subsequence numbers 0..Chunks-1).
	Records, Chunks int
}

// Size is what the entry counts against Kinesis limits (Data + key).
func (e *Entry) Size() int { return len(e.Data) + len(e.PartitionKey) }

// ErrRecordTooLarge: a raw record does not fit in one Kinesis record even
// compressed and alone.
var ErrRecordTooLarge = errors.New("pack: record too large for a Kinesis record")

// RecordError is a per-record error: the record at Ordinal was not packed,
// the rest of the object goes on.
type RecordError struct {
	Ordinal int64
	Err     error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Ordinal, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Stats counts what a Packer produced since New.
type Stats struct {
	Records   int64 // raw records packed
	RawBytes  int64 // their bytes (without terminators)
	Chunks    int64
	Entries   int64
	WireBytes int64 // Data + partition key of all entries
}

// Packer turns the raw records of one object at a time into Entries. Use:
// Begin, Add for each record in order, Flush; then Begin the next object.
// Entries are handed to emit as soon as they are full; emit's error stops
// the packer and is returned by Add or Flush. A Packer is not safe for
// concurrent use; use one per goroutine.
type Packer struct {
	cfg   Config
	codec wire.Codec
	emit  func(Entry) error

	obj       Object
	chunkCap  int // effective ChunkBytes for this object
	objHash   [16]byte
	aggIndex  uint64
	lastOrd   int64
	begun     bool
	err       error
	stats     Stats
	singleCap int // raw body size above which a lone record is test-compressed

	// current chunk: raw records in arena, as (offset, length)
	arena    []byte
	spans    [][2]int
	chunkRaw int // wire.RawBodySize sum
	first    int64
	recViews [][]byte

	// current aggregate: encoded chunks in aggBuf at offsets
	pk, ehk    string
	aggBuf     []byte
	aggChunks  [][2]int
	aggSize    int // wire aggregate size so far (without partition key)
	aggRecords int
	aggFirst   int64
	aggLast    int64
	chunkOrd   [][2]int64 // first, last ordinal per chunk (for Entry)
	views      [][]byte
	scratch    []byte
}

// New returns a Packer that hands entries to emit.
func New(cfg Config, emit func(Entry) error) (*Packer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if emit == nil {
		return nil, errors.New("pack: nil emit")
	}
	cfg = cfg.withDefaults()
	codec, _ := wire.ParseCodec(cfg.Codec)
	return &Packer{cfg: cfg, codec: codec, emit: emit}, nil
}

// Stats returns the counters so far.
func (p *Packer) Stats() Stats { return p.stats }

// maxCompressed bounds the compressed size of a body of n bytes: zstd adds
// at most 3 bytes per 128 KiB block plus an 18-byte frame header; s2 at
// most 10 (its length uvarint and one literal header, s2.MaxEncodedLen).
func (p *Packer) maxCompressed(n int) int {
	if p.codec == wire.CodecNone {
		return n
	}
	return n + n/1024 + 64
}

// chunkHeaderMax bounds the chunk header for obj.
func chunkHeaderMax(obj *Object) int {
	return 9 + 7*10 + len(obj.LogType) + len(obj.Bucket) + len(obj.Key) + len(obj.Context)
}

const keyLenMax = 32 + 39 // hex partition key + longest decimal hash key

// aggHeaderMax is the aggregate overhead with the longest keys we make.
var aggHeaderMax = wire.AggregateHeaderSize("0123456789abcdef0123456789abcdef", "340282366920938463463374607431768211455")

// Begin starts a new object; obj.Context must not change until Flush. The
// previous object must have been flushed, unless the packer failed (then
// Begin discards what was buffered). It returns an error if obj's fields
// exceed the wire format limits or leave no room for data in record_bytes.
func (p *Packer) Begin(obj Object) error {
	if p.begun && p.err == nil && (len(p.spans) > 0 || len(p.aggChunks) > 0) {
		return errors.New("pack: Begin before Flush of the previous object")
	}
	p.begun = false
	p.resetChunk()
	p.aggBuf, p.aggChunks, p.chunkOrd, p.aggRecords = p.aggBuf[:0], p.aggChunks[:0], p.chunkOrd[:0], 0
	if len(obj.LogType) > wire.MaxHeaderStringLen || len(obj.Bucket) > wire.MaxHeaderStringLen || len(obj.Key) > wire.MaxHeaderStringLen {
		return fmt.Errorf("pack: s3://%s/%s: %w: header field too long", obj.Bucket, obj.Key, wire.ErrChunkLimit)
	}
	if len(obj.Context) > wire.MaxContextBytes {
		return fmt.Errorf("pack: s3://%s/%s: %w: context of %d bytes", obj.Bucket, obj.Key, wire.ErrChunkLimit, len(obj.Context))
	}
	p.obj = obj
	p.err = nil
	p.lastOrd = 0
	p.aggIndex = 0
	h := md5.New()
	h.Write([]byte(obj.Bucket))
	h.Write([]byte{'/'})
	h.Write([]byte(obj.Key))
	h.Sum(p.objHash[:0])

	// Room for one chunk in an otherwise empty Kinesis record, worst case.
	entryOverhead := wire.AggregateEntrySize(p.cfg.RecordBytes, true) - p.cfg.RecordBytes
	room := p.cfg.RecordBytes - keyLenMax - aggHeaderMax - entryOverhead - chunkHeaderMax(&obj)
	// Largest body whose worst-case compressed size fits in room.
	capacity := room
	if p.codec != wire.CodecNone {
		capacity = (room - 64) * 1024 / 1025
	}
	if capacity < 1<<10 {
		return fmt.Errorf("pack: s3://%s/%s: %w: chunk header of up to %d bytes leaves no room in record_bytes %d",
			obj.Bucket, obj.Key, wire.ErrChunkLimit, chunkHeaderMax(&obj), p.cfg.RecordBytes)
	}
	p.singleCap = capacity
	p.chunkCap = min(p.cfg.ChunkBytes, capacity)
	p.begun = true
	return nil
}

// Add appends a raw record with its ordinal (ordinals must increase). A
// record that cannot fit in a Kinesis record returns a *RecordError and is
// skipped; other errors (from emit) are fatal for the object. rec is
// copied; the caller may reuse it.
func (p *Packer) Add(rec []byte, ordinal int64) error {
	if p.err != nil {
		return p.err
	}
	if !p.begun {
		return errors.New("pack: Add before Begin")
	}
	if ordinal <= p.lastOrd {
		return fmt.Errorf("pack: s3://%s/%s: ordinal %d after %d", p.obj.Bucket, p.obj.Key, ordinal, p.lastOrd)
	}
	size := wire.RawBodySize(len(rec))
	if len(p.spans) > 0 && (p.chunkRaw+size > p.chunkCap || len(p.spans) >= p.cfg.ChunkRecords || ordinal != p.lastOrd+1) {
		if err := p.sealChunk(); err != nil {
			return p.fail(err)
		}
	}
	p.lastOrd = ordinal
	if len(p.spans) == 0 {
		p.first = ordinal
	}
	off := len(p.arena)
	p.arena = append(p.arena, rec...)
	p.spans = append(p.spans, [2]int{off, len(rec)})
	p.chunkRaw += size
	p.stats.Records++
	p.stats.RawBytes += int64(len(rec))
	if size > p.singleCap {
		// A lone record that may not fit: compress it now so the error
		// names this record.
		if err := p.sealChunk(); err != nil {
			if errors.Is(err, ErrRecordTooLarge) {
				p.stats.Records--
				p.stats.RawBytes -= int64(len(rec))
				return &RecordError{Ordinal: ordinal, Err: err}
			}
			return p.fail(err)
		}
	}
	return nil
}

func (p *Packer) fail(err error) error {
	p.err = err
	return err
}

// Flush packs what is buffered and emits the last entry of the object.
func (p *Packer) Flush() error {
	if p.err != nil {
		return p.err
	}
	if len(p.spans) > 0 {
		if err := p.sealChunk(); err != nil {
			return p.fail(err)
		}
	}
	if len(p.aggChunks) > 0 {
		if err := p.emitAggregate(); err != nil {
			return p.fail(err)
		}
	}
	return nil
}

func (p *Packer) resetChunk() {
	p.arena = p.arena[:0]
	p.spans = p.spans[:0]
	p.chunkRaw = 0
}

// sealChunk encodes the current chunk and adds it to the aggregate,
// emitting the aggregate first if the chunk does not fit.
func (p *Packer) sealChunk() error {
	err := p.sealSpans(0, len(p.spans), p.first)
	p.resetChunk()
	return err
}

// sealSpans encodes records spans[i:j] (ordinals first…) as one chunk. A
// chunk that does not fit in an empty aggregate (cannot happen with the
// worst-case sizing of Begin, but costs nothing to handle) is split in two;
// a single record that does not fit is ErrRecordTooLarge.
func (p *Packer) sealSpans(i, j int, first int64) error {
	p.recViews = p.recViews[:0]
	for _, s := range p.spans[i:j] {
		p.recViews = append(p.recViews, p.arena[s[0]:s[0]+s[1]])
	}
	n := j - i
	c := wire.Chunk{LogType: p.obj.LogType, Bucket: p.obj.Bucket, Key: p.obj.Key, Context: p.obj.Context,
		FirstOrdinal: first, Records: p.recViews}
	var err error
	p.scratch, err = wire.AppendChunk(p.scratch[:0], &c, p.codec)
	clear(p.recViews)
	if err != nil {
		return fmt.Errorf("pack: s3://%s/%s: %w", p.obj.Bucket, p.obj.Key, err)
	}
	last := first + int64(n) - 1

	entry := wire.AggregateEntrySize(len(p.scratch), true)
	if len(p.aggChunks) > 0 && p.aggSize+entry+len(p.pk) > p.cfg.RecordBytes {
		if err := p.emitAggregate(); err != nil {
			return err
		}
	}
	if len(p.aggChunks) == 0 {
		p.startAggregate()
		if p.aggSize+entry+len(p.pk) > p.cfg.RecordBytes {
			if n == 1 {
				return ErrRecordTooLarge
			}
			mid := i + n/2
			if err := p.sealSpans(i, mid, first); err != nil {
				return err
			}
			return p.sealSpans(mid, j, first+int64(mid-i))
		}
	}
	off := len(p.aggBuf)
	p.aggBuf = append(p.aggBuf, p.scratch...)
	p.aggChunks = append(p.aggChunks, [2]int{off, len(p.scratch)})
	p.chunkOrd = append(p.chunkOrd, [2]int64{first, last})
	p.aggSize += entry
	p.aggRecords += n
	p.stats.Chunks++
	return nil
}

// startAggregate picks the keys of the next aggregate of this object:
// MD5(bucket "/" key) mixed with the aggregate's index, so one object's
// records spread over all shards and a re-sent object maps the same way.
func (p *Packer) startAggregate() {
	var in [24]byte
	copy(in[:16], p.objHash[:])
	binary.BigEndian.PutUint64(in[16:], p.aggIndex)
	p.aggIndex++
	h := md5.Sum(in[:])
	p.pk = hex.EncodeToString(h[:])
	p.ehk = new(big.Int).SetBytes(h[:]).String()
	p.aggSize = wire.AggregateHeaderSize(p.pk, p.ehk)
}

func (p *Packer) emitAggregate() error {
	p.views = p.views[:0]
	for _, c := range p.aggChunks {
		p.views = append(p.views, p.aggBuf[c[0]:c[0]+c[1]])
	}
	size := wire.AggregateSize(p.pk, p.ehk, p.views)
	data := wire.AppendAggregate(make([]byte, 0, size), p.pk, p.ehk, p.views)
	e := Entry{
		Data: data, PartitionKey: p.pk, ExplicitHashKey: p.ehk,
		FirstOrdinal: p.chunkOrd[0][0], LastOrdinal: p.chunkOrd[len(p.chunkOrd)-1][1],
		Records: p.aggRecords, Chunks: len(p.aggChunks),
	}
	clear(p.views)
	p.aggBuf = p.aggBuf[:0]
	p.aggChunks = p.aggChunks[:0]
	p.chunkOrd = p.chunkOrd[:0]
	p.aggRecords = 0
	p.stats.Entries++
	p.stats.WireBytes += int64(e.Size())
	if err := p.emit(e); err != nil {
		return fmt.Errorf("pack: s3://%s/%s: emit: %w", p.obj.Bucket, p.obj.Key, err)
	}
	return nil
}
