// Package split turns one S3 object into raw records, streaming.
//
// Open detects the object's compression from its first bytes (gzip with
// concatenated members, zstd, bzip2, or plain text; zip and parquet are
// recognised and refused; other binary content is ErrBinary) and returns a
// reader of the decompressed content. New wraps that reader in a Splitter
// that cuts it into raw records by a Format (json with or without a
// delimiter array, csv with a header line, text or lines with skipped
// header lines), with bounded memory: about Options.MaxRecordBytes plus two
// read buffers per object, whatever the object size.
//
// It consumes an io.Reader (the S3 GetObject body) and produces
// (record, ordinal) pairs plus the object Context (csv header, text header
// lines). Per-record problems (a record longer than MaxRecordBytes, broken
// JSON in newline-delimited input, a JSON value without the delimiter
// array) are *RecordError values carrying the record's ordinal, and the
// object goes on; anything else Next returns (other than io.EOF) is fatal
// for the rest of the object, e.g. a truncated gzip. It does no
// acknowledgement itself: the producer marks an object done once every
// record is delivered or reported. Configuration: Format (format,
// json_delimiter, header_lines) and Options (max_record_bytes,
// buffer_size).
package split
