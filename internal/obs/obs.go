// Package obs holds the counters the pipeline keeps per log type, updated
// once per batch (never per event) and read by progress logs, the demo and
// tests.
package obs

import (
	"maps"
	"slices"
	"sync"
)

// Counts are the per-log-type totals es-loader users know from its metrics
// (TotalLogCount, SuccessLogLoadCount, ErrorLogLoadCount, ExcludedLogCount,
// CountedLogCount), plus what a stream adds.
type Counts struct {
	Events      int64 // raw records seen (TotalLogCount)
	Delivered   int64 // documents OpenSearch acknowledged (SuccessLogLoadCount)
	Excluded    int64 // dropped on purpose (ExcludedLogCount)
	Failed      int64 // bad records quarantined (ErrorLogLoadCount)
	Rejected    int64 // documents OpenSearch refused, dead-lettered
	Overwritten int64 // deliveries that replaced a doc with the same _id
	Objects     int64 // S3 objects (producer)
	Unknown     int64 // objects whose key matched no log type (producer)
	Ignored     int64 // objects skipped by s3_key_ignored (producer)
	Bytes       int64 // decompressed input bytes (producer)
}

func (c *Counts) add(o Counts) {
	c.Events += o.Events
	c.Delivered += o.Delivered
	c.Excluded += o.Excluded
	c.Failed += o.Failed
	c.Rejected += o.Rejected
	c.Overwritten += o.Overwritten
	c.Objects += o.Objects
	c.Unknown += o.Unknown
	c.Ignored += o.Ignored
	c.Bytes += o.Bytes
}

// Registry keeps Counts by log type. Safe for concurrent use.
type Registry struct {
	mu sync.Mutex
	by map[string]*Counts
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{by: map[string]*Counts{}} }

// Add adds c to logType's totals.
func (r *Registry) Add(logType string, c Counts) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.by[logType]
	if t == nil {
		t = &Counts{}
		r.by[logType] = t
	}
	t.add(c)
}

// Snapshot copies the totals.
func (r *Registry) Snapshot() map[string]Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Counts, len(r.by))
	for k, v := range r.by {
		out[k] = *v
	}
	return out
}

// Total sums every log type.
func (r *Registry) Total() Counts {
	var t Counts
	for _, c := range r.Snapshot() {
		t.add(c)
	}
	return t
}

// Types lists the log types seen, sorted.
func (r *Registry) Types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.by))
}
