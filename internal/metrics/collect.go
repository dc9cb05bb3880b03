package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/stages/chain"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// The per-log-type totals the components keep in an obs.Registry.
var (
	descEvents      = desc("events_total", "Raw records in, by log type (es-loader TotalLogCount): producer, split from S3 objects; consumer, read from the stream.", "log_type")
	descDelivered   = desc("events_delivered_total", "Documents OpenSearch acknowledged (es-loader SuccessLogLoadCount).", "log_type")
	descExcluded    = desc("events_excluded_total", "Records dropped on purpose: exclusion CSV, EXCLUDE conditions, the loader's own logs (es-loader ExcludedLogCount).", "log_type")
	descFailed      = desc("events_failed_total", "Bad records quarantined with their bytes and reason: producer, records too large or unreadable (S3 dead-letter prefix); consumer, records a stage could not parse (dead-letter index).", "log_type")
	descRejected    = desc("events_rejected_total", "Documents OpenSearch refused for good (mapping conflict, too large), dead-lettered.", "log_type")
	descOverwritten = desc("events_overwritten_total", "Deliveries that replaced a document with the same _id (a replayed record made harmless by deterministic ids).", "log_type")
	descCounted     = desc("events_counted_total", "Records that matched a COUNT exclusion condition and were kept (es-loader CountedLogCount).", "log_type")
	descReloads     = desc("reloads_total", "Data reloads of the enrichment and exclusion stages by outcome: ok (swapped in), refused (a new version failed to load or check; the old data stays).", "stage", "outcome")
	descReloadAge   = desc("reload_data_age_seconds", "Age of the data a reloadable stage uses: time since it was loaded.", "stage")
	descLookups     = desc("enrich_lookups_total", "Enrichment lookups (GeoIP: IP addresses; IoC: documents with an IP or domain to check).", "stage")
	descMatches     = desc("enrich_matches_total", "Enrichment lookups that found something.", "stage")
	descStage       = desc("stage_events_total", "Events by stage and outcome: normalize ok, failed (quarantined), transform_error (a Go transform stopped early; the document is kept); encode ok, truncated (big strings cut to fit OpenSearch's limits).", "stage", "outcome")
)

// countsCollector reads an obs.Registry when scraped.
type countsCollector struct{ r *obs.Registry }

// RegisterCounts exposes the per-log-type totals of r.
func (m *Metrics) RegisterCounts(r *obs.Registry) { m.Register(countsCollector{r}) }

func (c countsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEvents, descDelivered, descExcluded, descFailed, descRejected, descOverwritten} {
		ch <- d
	}
}

func (c countsCollector) Collect(ch chan<- prometheus.Metric) {
	for lt, n := range c.r.Snapshot() {
		if lt == "unknown" || lt == "ignored" {
			// pseudo types for objects that have none; objects_total counts them
			if n.Events == 0 && n.Failed == 0 {
				continue
			}
		}
		for _, v := range []struct {
			d *prometheus.Desc
			n int64
		}{{descEvents, n.Events}, {descDelivered, n.Delivered}, {descExcluded, n.Excluded}, {descFailed, n.Failed}, {descRejected, n.Rejected}, {descOverwritten, n.Overwritten}} {
			ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, float64(v.n), lt)
		}
	}
}

// pipelineCollector reads the stages' counters when scraped.
type pipelineCollector struct {
	stats func() chain.Stats
	now   func() time.Time
}

// RegisterPipeline exposes the stage counters (COUNT matches, reloads,
// enrichment lookups) of the consumer's pipeline.
func (m *Metrics) RegisterPipeline(stats func() chain.Stats) {
	m.Register(pipelineCollector{stats: stats, now: time.Now})
}

func (c pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCounted, descReloads, descReloadAge, descLookups, descMatches, descStage} {
		ch <- d
	}
}

func (c pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for lt, n := range st.Counted {
		ch <- prometheus.MustNewConstMetric(descCounted, prometheus.CounterValue, float64(n), lt)
	}
	for _, r := range st.Reloads {
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(r.Loads), r.Name, "ok")
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(r.Failures), r.Name, "refused")
		if !r.LoadedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(descReloadAge, prometheus.GaugeValue, c.now().Sub(r.LoadedAt).Seconds(), r.Name)
		}
	}
	for _, s := range st.Stages {
		ch <- prometheus.MustNewConstMetric(descStage, prometheus.CounterValue, float64(s.N), s.Stage, s.Outcome)
	}
	for _, l := range st.Lookups {
		ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(l.Lookups), l.Stage)
		ch <- prometheus.MustNewConstMetric(descMatches, prometheus.CounterValue, float64(l.Matches), l.Stage)
	}
}

// Shard state of the consumer: lag and last checkpoint per held shard.
var (
	descBehind     = desc("shard_behind_latest_seconds", "Kinesis MillisBehindLatest of the shard's last GetRecords, in seconds: how far this worker is behind the tip of the shard.", "shard")
	descCheckpoint = desc("shard_last_checkpoint_timestamp_seconds", "Unix time of the shard's last checkpoint by this worker.", "shard")
	descLeases     = desc("lease_events_total", "Lease events of this worker's lease coordinator: take, steal (taken from a busier worker), loss, eviction (given up to balance).", "outcome")
)

// LeaseStatus is what a lease coordinator can tell about itself (the dynamo
// coordinator's Status, adapted in cmd/siemstream).
type LeaseStatus struct {
	Takes, Steals, Losses, Evictions int64
	// Behind is MillisBehindLatest per held shard, as of the last
	// GetRecords, empty or not (processors only see non-empty batches).
	Behind map[string]int64
}

type shardState struct {
	mu         sync.Mutex
	behind     map[string]int64
	checkpoint map[string]time.Time
	lease      func() LeaseStatus
}

func newShardState() *shardState {
	return &shardState{behind: map[string]int64{}, checkpoint: map[string]time.Time{}}
}

// SetLeaseStatus lets scrapes read lag and lease events from the
// coordinator itself (more precise than what processors see: a processor is
// not called for an empty GetRecords, so its last lag value may be stale).
func (m *Metrics) SetLeaseStatus(f func() LeaseStatus) {
	if m == nil {
		return
	}
	m.shards.mu.Lock()
	m.shards.lease = f
	m.shards.mu.Unlock()
}

func (s *shardState) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBehind
	ch <- descCheckpoint
	ch <- descLeases
}

func (s *shardState) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	behind := make(map[string]int64, len(s.behind))
	for k, v := range s.behind {
		behind[k] = v
	}
	cps := make(map[string]time.Time, len(s.checkpoint))
	for k, v := range s.checkpoint {
		cps[k] = v
	}
	lease := s.lease
	s.mu.Unlock()
	if lease != nil {
		ls := lease()
		if ls.Behind != nil {
			behind = ls.Behind
		}
		for _, v := range []struct {
			o string
			n int64
		}{{"take", ls.Takes}, {"steal", ls.Steals}, {"loss", ls.Losses}, {"eviction", ls.Evictions}} {
			ch <- prometheus.MustNewConstMetric(descLeases, prometheus.CounterValue, float64(v.n), v.o)
		}
	}
	shards := make([]string, 0, len(behind))
	for k := range behind {
		shards = append(shards, k)
	}
	sort.Strings(shards)
	for _, sh := range shards {
		ch <- prometheus.MustNewConstMetric(descBehind, prometheus.GaugeValue, float64(behind[sh])/1000, sh)
	}
	for sh, t := range cps {
		ch <- prometheus.MustNewConstMetric(descCheckpoint, prometheus.GaugeValue, float64(t.UnixNano())/1e9, sh)
	}
}
