// Package metrics is the operations side of a siemstream process: one
// Prometheus registry per process (never the global default registerer), the
// definition of every metric in one place, the HTTP server that serves
// /metrics, /healthz and /readyz, CloudWatch Embedded Metric Format lines in
// es-loader's names, and the observers that the producer, the consumer, the
// sink and the AWS clients report to.
//
// Nothing here is on the per-event path: components report once per batch,
// per object or per API call, and per-log-type totals that the components
// already keep (internal/obs, the exclusion stages' counters, the reload
// holders' status) are read when /metrics is scraped.
package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name.
const Namespace = "siemstream"

// Build identifies the binary (set by -ldflags in cmd/siemstream).
type Build struct {
	Version, Commit, Date string
}

// Metrics is one process's registry and the metrics defined on it. The zero
// value is not usable; a nil *Metrics is (every method is a no-op), so
// components built without metrics pay nothing.
type Metrics struct {
	Reg *prometheus.Registry

	// producer
	objects         *prometheus.CounterVec   // log_type, outcome
	objectBytes     *prometheus.CounterVec   // log_type
	objectDuration  *prometheus.HistogramVec // log_type
	messagesFlight  prometheus.Gauge
	visibility      *prometheus.CounterVec // outcome
	putEntries      *prometheus.CounterVec // outcome
	putRequests     *prometheus.CounterVec // outcome
	shardRecordsOut *prometheus.CounterVec // shard
	shardBytesOut   *prometheus.CounterVec // shard

	// consumer
	getRecords     *prometheus.CounterVec // outcome
	awsRequests    *prometheus.CounterVec // operation, outcome
	leasesHeld     prometheus.Gauge
	leaseEvents    *prometheus.CounterVec // outcome (processor view)
	eventsInFlight prometheus.Gauge
	bulkRequests   *prometheus.CounterVec // outcome
	bulkItems      *prometheus.CounterVec // outcome (status class)
	bulkDuration   prometheus.Histogram
	docsRetried    prometheus.Counter
	deadLetters    *prometheus.CounterVec // outcome
	inputBytes     *prometheus.CounterVec // log_type
	outputBytes    *prometheus.CounterVec // log_type
	deliverSeconds *prometheus.CounterVec // log_type
	readOnlyRedir  prometheus.Counter
	bulkLimit      prometheus.Gauge
	bulkLimitCuts  *prometheus.CounterVec // outcome (why it was halved)

	shards *shardState
}

// New makes a registry with every siemstream metric, the Go runtime and
// process collectors and siemstream_build_info.
func New(b Build) *Metrics {
	m := &Metrics{Reg: prometheus.NewRegistry(), shards: newShardState()}
	f := factory{m.Reg}
	m.objects = f.counterVec("objects_total", "S3 objects handled by the producer, by outcome: loaded, unknown (no log type matches the key), ignored (s3_key_ignored, folder keys, dead letters), quarantined (unreadable or unsplittable, kept in the dead-letter prefix), retry (failed for now; the notification comes back).", "log_type", "outcome")
	m.objectBytes = f.counterVec("object_bytes_total", "Size of the S3 objects handled (as announced by the notification, compressed), by log type (es-loader InputLogFileSize).", "log_type")
	m.objectDuration = f.histogramVec("object_duration_seconds", "Time to load one S3 object into the stream (get, decompress, split, pack, PutRecords), by log type (es-loader TotalDurationTime).", prometheus.ExponentialBuckets(0.01, 4, 9), "log_type")
	m.messagesFlight = f.gauge("sqs_messages_in_flight", "SQS messages received and not yet deleted or given up by this producer.")
	m.visibility = f.counterVec("sqs_visibility_extensions_total", "ChangeMessageVisibility calls that kept a message invisible while its objects streamed, by outcome (ok, error).", "outcome")
	m.putEntries = f.counterVec("kinesis_put_entries_total", "PutRecords entries by outcome: accepted, throttled (ProvisionedThroughputExceeded, retried), failed (other entry errors and whole-request failures, retried).", "outcome")
	m.putRequests = f.counterVec("kinesis_put_requests_total", "PutRecords requests by outcome: ok, partial (some entries failed), throttled, error.", "outcome")
	m.shardRecordsOut = f.counterVec("kinesis_records_written_total", "Kinesis records (KPL aggregates) accepted per shard.", "shard")
	m.shardBytesOut = f.counterVec("kinesis_bytes_written_total", "Bytes of the Kinesis records accepted per shard.", "shard")

	m.getRecords = f.counterVec("kinesis_get_records_total", "GetRecords calls by outcome (ok, throttled, error).", "outcome")
	m.awsRequests = f.counterVec("aws_requests_total", "AWS API calls (after the SDK's own retries) by operation (Service.Operation) and outcome (ok, throttled, error).", "operation", "outcome")
	m.leasesHeld = f.gauge("leases_held", "Shard leases this consumer holds and processes now.")
	m.leaseEvents = f.counterVec("shard_processors_total", "Shard processors started and stopped by this worker, by outcome: started, requested (shutdown), shard_end, lease_lost.", "outcome")
	m.eventsInFlight = f.gauge("events_in_flight", "Events read from the stream and not yet delivered, excluded or dead-lettered.")
	m.bulkRequests = f.counterVec("bulk_requests_total", "Bulk writes to OpenSearch by outcome: ok (every item delivered), partial (some items refused or to retry), error (the request failed whole).", "outcome")
	m.bulkItems = f.counterVec("bulk_items_total", "Bulk items by HTTP status class (label outcome): 2xx, 429, 4xx, 5xx, none (request failed whole).", "outcome")
	m.bulkDuration = f.histogram("bulk_duration_seconds", "Latency of one bulk write (all the _bulk requests of one sink write).", prometheus.ExponentialBuckets(0.005, 2.5, 10))
	m.docsRetried = f.counter("documents_retried_total", "Documents written again after a transient failure (429, 5xx, cluster block, connection).")
	m.deadLetters = f.counterVec("dead_letters_total", "Dead letters the consumer wrote to the dead-letter index, by outcome: written, failed (the index refused them; they were logged in full instead).", "outcome")
	m.inputBytes = f.counterVec("input_bytes_total", "Raw record bytes in: producer, decompressed object bytes; consumer, raw record bytes read from the stream.", "log_type")
	m.outputBytes = f.counterVec("output_bytes_total", "Document bytes sent to OpenSearch (es-loader OutputDataSize), by log type.", "log_type")
	m.deliverSeconds = f.counterVec("deliver_seconds_total", "Time spent delivering batches to OpenSearch, shared among log types by their share of the batch's documents (es-loader EsResponseTime).", "log_type")
	m.bulkLimit = f.gauge("bulk_concurrency_limit", "Current bound on concurrent _bulk requests of this process, all shards together (--bulk-concurrency at most): halved on overload, regrown by one per that many successes (AIMD).")
	m.bulkLimitCuts = f.counterVec("bulk_concurrency_decreases_total", "Times the bulk concurrency limit was halved, by reason (label outcome): 429 (items answered 429 Too Many Requests), failure (a request failed whole: connection, timeout, HTTP error), latency (a request far slower per document than usual).", "outcome")
	m.readOnlyRedir = f.counter("readonly_redirects_total", "Read-only indices (closed, write-blocked, UltraWarm, cold) whose documents were sent to a writable one (<index>_01, …) as es-loader does; counted once per index each time the read-only list is refreshed.")

	m.Reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info", Help: "Always 1; the labels name the build."}, []string{"version", "commit", "go_version"})
	bi.WithLabelValues(b.Version, b.Commit, runtime.Version()).Set(1)
	m.Reg.MustRegister(bi)
	m.Reg.MustRegister(m.shards)
	return m
}

// Register adds a collector (per-log-type totals, pipeline stats, lease
// status) to the registry.
func (m *Metrics) Register(c prometheus.Collector) {
	if m == nil {
		return
	}
	m.Reg.MustRegister(c)
}

type factory struct{ r *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.r.MustRegister(v)
	return v
}

func (f factory) counter(name, help string) prometheus.Counter {
	v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.r.MustRegister(v)
	return v
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	v := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.r.MustRegister(v)
	return v
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	v := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.r.MustRegister(v)
	return v
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.r.MustRegister(v)
	return v
}
