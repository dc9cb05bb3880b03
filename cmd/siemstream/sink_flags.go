package main

import (
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/osclient"
)

// sinkFlagValues are the bulk and sink flags the consumer and replay share
// (batching, _bulk limits, read-only redirect, dead-letter index, index
// suffix). They are defined here once; the commands differ only in what
// sinkFlagSpec says.
type sinkFlagValues struct {
	batch, bulkBytes, inflight, bulkConc *int
	keepRO                               *bool
	dlIndex, suffix                      *string
	// dlBucket and dlPrefix are nil unless the spec asks for rawBucket.
	dlBucket, dlPrefix *string
}

// sinkFlagSpec is what differs between the commands: the wording (and, for
// the replay, the absence of an environment variable) of --index-suffix and
// --dead-letter-index, and whether dead letters may put raw records in S3.
type sinkFlagSpec struct {
	suffixEnv, suffixHelp string
	dlIndexHelp           string
	rawBucket             bool
}

// sinkFlags registers the shared bulk and sink flags.
func sinkFlags(f *flags, spec sinkFlagSpec) *sinkFlagValues {
	d := consumer.DefaultConfig()
	v := &sinkFlagValues{
		batch:     f.integer("batch-events", "SIEM_BATCH_EVENTS", d.BatchEvents, "events per bulk write and checkpoint"),
		bulkBytes: f.integer("bulk-bytes", "SIEM_BULK_BYTES", 5<<20, "max bytes per _bulk request"),
		inflight:  f.integer("max-inflight-bulks", "SIEM_MAX_INFLIGHT_BULKS", d.MaxInflightBulks, "batches of a read per shard being written while the next is unpacked and processed (1 = serial); memory per shard is about this many batches"),
		bulkConc:  f.integer("bulk-concurrency", "SIEM_BULK_CONCURRENCY", d.BulkConcurrency, "max concurrent _bulk requests of the process, all shards together; halved on 429s, failures and rising latency, regrown by one per that many successes"),
		keepRO:    f.boolean("keep-read-only-indices", "SIEM_KEEP_READ_ONLY_INDICES", false, "do not redirect documents for a read-only index (closed, write-blocked, UltraWarm, cold) to <index>_01 as es-loader does; retry or dead-letter them instead"),
		dlIndex:   f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", d.DeadLetterIndex, spec.dlIndexHelp),
		suffix:    f.str("index-suffix", spec.suffixEnv, "", spec.suffixHelp),
	}
	if spec.rawBucket {
		v.dlBucket = f.str("dead-letter-bucket", "SIEM_DEAD_LETTER_BUCKET", "", "S3 bucket for raw records too long to keep inside a dead-letter document (over 1 MiB; without it they stay inline)")
		v.dlPrefix = f.str("dead-letter-prefix", "SIEM_DEAD_LETTER_PREFIX", "siemstream-deadletter/", "key prefix in --dead-letter-bucket (objects under <prefix>consumer/)")
	}
	return v
}

// apply sets the consumer config's batching and dead-letter index.
func (v *sinkFlagValues) apply(cc *consumer.Config) {
	cc.BatchEvents, cc.DeadLetterIndex = *v.batch, *v.dlIndex
	cc.MaxInflightBulks, cc.BulkConcurrency = *v.inflight, *v.bulkConc
}

// openSearch builds the bulk sink on osc; onRedirect is told every
// read-only redirect (metrics).
func (v *sinkFlagValues) openSearch(osc *osclient.Client, log zerolog.Logger, onRedirect func(from, to string)) (*sink.OpenSearch, error) {
	sc := sink.DefaultOpenSearchConfig()
	sc.Client, sc.MaxBulkBytes = osc, *v.bulkBytes
	sc.KeepReadOnlyIndices, sc.Logger = *v.keepRO, log.With().Str("component", "sink").Logger()
	sc.OnReadOnlyRedirect = onRedirect
	return sink.NewOpenSearch(sc)
}

// withSuffix wraps s so every index name gets --index-suffix (s itself
// without one).
func (v *sinkFlagValues) withSuffix(s sink.Sink) (sink.Sink, error) {
	if *v.suffix == "" {
		return s, nil
	}
	return sink.NewSuffix(s, *v.suffix)
}
