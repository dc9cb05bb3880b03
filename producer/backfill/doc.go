// Package backfill loads S3 objects that already exist, outside the
// notification path, and drains dead-letter queues: what es-loader's
// `index.py` command line does (`-b BUCKET -l LIST` and `-q DLQ`), done
// so it survives a restart and a large bucket.
//
// Backfill consumes a source of objects (an S3 listing under a prefix, or a
// list file in `aws s3 ls --recursive` format, plain one-key-per-line, or a
// previous run's error log), filters them by log type (detected from the key
// with the same registry the producer uses), folder/dead-letter prefix and
// time, and feeds each remaining object through the producer's LoadObject in
// parallel. Nothing else of the producer runs: no queue is read.
//
// Redrive consumes a dead-letter queue: every message is parsed as an S3
// notification and its objects are loaded through LoadObject (or, with a
// target queue, the message is moved back unchanged).
//
// Acknowledgement: an object is written to the run's finish log only after
// LoadObject returned without error, that is after Kinesis accepted every
// record of it (the consumer then does its own at-least-once delivery). A
// redriven message is deleted only after all its objects are in the finish
// log. A restart with the same name skips objects already in the finish log,
// so a killed run resumes where it stopped; loads are idempotent because
// document ids are derived from the records.
//
// Logs (es-loader compatible where es-loader has them):
//
//	<name>.finish.log  line<TAB>s3://bucket/key             one per loaded object, appended
//	<name>.error.log   time<TAB>line<TAB>s3://bucket/key<TAB>reason   this run's failures; removed when empty
//
// Config: Config (backfill) and RedriveConfig (redrive), each with
// DefaultConfig/Validate. The siemstream backfill and redrive subcommands
// are thin wrappers; see README.md for the operator's view.
package backfill
