// Package pack turns the raw records of an S3 object into Kinesis
// PutRecords entries in the internal/wire format.
//
// A Packer consumes (record, ordinal) pairs of one object at a time (from
// producer/split), groups consecutive records into chunks (at most
// chunk_bytes uncompressed and chunk_records records; a gap in ordinals
// starts a new chunk, so every chunk's ordinals are consecutive),
// compresses each chunk (codec) and packs chunks into KPL aggregated
// records of at most record_bytes (Data + partition key). Each aggregate
// gets a 128-bit explicit hash key derived from MD5(bucket/key) and its
// index in the object, so one object's records spread over the shards and
// every user record of an aggregate maps to the same shard. It produces
// Entry values through a callback.
//
// A Batcher groups entries into PutRecords requests (≤ 500 entries,
// ≤ 5 MiB). Neither does I/O nor acknowledges: the producer marks an
// object done once every entry of it was put successfully (PutRecords is
// not atomic: retry only failed entries).
//
// Config keys: chunk_bytes, chunk_records, record_bytes, codec.
package pack
