// Package split turns one S3 object into raw records, streaming.
//
// Open (OpenWith) detects the object's container from its first bytes,
// never from its key: gzip with concatenated members, zstd, bzip2, zip
// (every member, spooled for random access: in memory up to 8 MiB, else to
// an unlinked temporary file of at most 4 GiB), parquet (spooled the same
// way, rows become JSON lines; also inside gzip/zstd/bzip2), or plain text;
// other binary content is ErrBinary and a compressed layer inside another
// (gz.gz, gzip in a zip member) is ErrNestedCompression, as es-loader
// refuses "double archived" files. It returns a reader of the
// decompressed content.
//
// New wraps that reader in a Splitter that cuts it into raw records by a
// Format, with bounded memory (about Options.MaxRecordBytes plus two read
// buffers per object, whatever the object size):
//
//   - json: a single object, a top-level array, newline-delimited or
//     concatenated values (Firehose), pretty-printed values spanning lines,
//     or the elements of a JSONDelimiter array ("Records", dotted paths
//     such as "detail.findings");
//   - csv: a header line (returned as Context) then one record per line;
//   - text / lines: HeaderLines skipped (text: returned as Context, e.g.
//     CloudFront's "#Version" and "#Fields:" lines), one record per line;
//   - multiline: a record starts at each line matching FirstLine (and ends
//     at LastLine, for Windows event XML); lines before the first record
//     are dropped and counted (Dropped);
//   - cwl: CloudWatch Logs subscription payloads (via_cwl): one record per
//     logEvents[] message of DATA_MESSAGE payloads, with the CloudWatch
//     Logs metadata ahead of it (wire.AppendCWLRecord; decode parses it once);
//   - firelens: one FireLens JSON line per record, the container metadata
//     ahead of the log (wire.AppendFirelensRecord; decode parses it once).
//
// A parquet reader from Open always splits as lines of JSON, whatever the
// Format. Content is read as Parquet only when OpenOptions.Parquet says
// the object may be Parquet (MayBeParquet: file_format parquet or a
// ".parquet" key), and its footer and page headers are checked against
// the file before parquet-go allocates anything they declare.
//
// Lines end at LF, CRLF or a lone CR (Python's universal newlines, as
// es-loader reads text). Hostile input is bounded (OpenOptions,
// Options): decompressed size, decompression ratio and time per object,
// overlapping zip members, JSON depth per record (a deeper record fails
// alone); OpenContext checks its context on every read, so a splitter
// stops when the process is told to.
//
// It consumes an io.Reader (the S3 GetObject body) and produces
// (record, ordinal) pairs plus the object Context (csv header, text header
// lines). Per-record problems (a record longer than MaxRecordBytes, broken
// JSON in newline-delimited input, a JSON value without the delimiter
// array, a broken CloudWatch Logs payload or FireLens line) are
// *RecordError values carrying the record's ordinal, and the object goes
// on; anything else Next returns (other than io.EOF) is fatal for the rest
// of the object, e.g. a truncated gzip or a corrupt zip member.
// IsContentError tells content problems (quarantine) from I/O errors
// (retry). It does no acknowledgement itself: the producer marks an object
// done once every record is delivered or reported. Configuration: Format
// (format, json_delimiter, header_lines, first/last-line patterns),
// Options (max_record_bytes, buffer_size) and OpenOptions (spool sizes and
// directory).
package split
