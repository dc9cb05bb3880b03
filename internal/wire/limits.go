package wire

// Kinesis Data Streams limits (PutRecords / per record, default stream
// configuration). Sizes count Data plus the partition key, as Kinesis does.
const (
	// MaxKinesisRecordBytes is the largest Data+PartitionKey of one record
	// on a stream with the default MaxRecordSizeInKiB (1 MiB).
	MaxKinesisRecordBytes = 1 << 20
	// MaxPutRecordsEntries is the most records in one PutRecords request.
	MaxPutRecordsEntries = 500
	// MaxPutRecordsBytes is the most Data+PartitionKey bytes in one
	// PutRecords request.
	MaxPutRecordsBytes = 5 << 20
	// MaxPartitionKeyLen is the longest partition key (Unicode chars; we
	// only produce ASCII keys, so bytes).
	MaxPartitionKeyLen = 256
)

// Chunk format limits, checked by both AppendChunk and the decoder.
const (
	// MaxHeaderStringLen bounds LogType, Bucket and Key (S3 keys are at
	// most 1024 bytes).
	MaxHeaderStringLen = 4096
	// MaxContextBytes bounds Chunk.Context (object-level state such as a
	// CSV header line).
	MaxContextBytes = 64 << 10
	// MaxChunkRawBytes bounds the uncompressed body of one chunk. The
	// decoder refuses larger declared sizes, which caps the memory a
	// hostile or corrupt record can make it allocate.
	MaxChunkRawBytes = 16 << 20
	// MaxChunkRecords bounds the record count of one chunk, which caps the
	// size of the Records slice a decoder builds.
	MaxChunkRecords = 1 << 20
)

// AggregateMagic is the 4-byte prefix of a KPL aggregated record.
const AggregateMagic = "\xf3\x89\x9a\xc2"

// ChunkMagic is the 3-byte prefix of a chunk; the version byte follows it.
const ChunkMagic = "SSC"

// Chunk format versions.
const (
	// Version1 is the only version written and read today.
	Version1 = 1
)
