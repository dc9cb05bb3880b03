// Package wire is the byte format of siemstream's Kinesis records.
//
// A Kinesis record's Data is a KPL aggregated record (magic F3 89 9A C2,
// protobuf AggregatedRecord, MD5 of the protobuf), so the Java KCL, the
// multilang daemons and awslabs/kinesis-aggregation deaggregate it. Every
// user record in one aggregate carries the same partition key and the same
// explicit hash key (both tables have exactly one entry), so no KCL drops a
// sub-record because its hash key falls outside the shard's range.
//
// Each user record is one chunk: a small versioned header (log type, S3
// bucket and key, object context, ordinal of the first raw record, record
// count, codec, CRC-32C) followed by the length-prefixed raw records,
// compressed with the codec. See FORMAT.md for the byte layout.
//
// Producers build records with AppendChunk and AppendAggregate; consumers
// split Kinesis records with SplitAggregate and decode chunks with
// (*Decoder).Decode or DecodeChunk. Nothing here does I/O. The zstd encoder
// and decoder are created once per process and shared (they are safe for
// concurrent use).
package wire
