package metrics

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// EMF writes CloudWatch Embedded Metric Format lines: one JSON line per log
// type per interval, namespace SIEM, dimension logtype, with es-loader's
// metric names and units, so the SIEM solution's CloudWatch dashboard and
// alarms keep working. Values are the change of the process's Prometheus
// counters over the interval, so EMF and /metrics never disagree.
//
// Each role emits only what it owns, so a fleet of producers and consumers
// adds up to what es-loader reported without counting anything twice:
// the producer reports the object side (InputLogFileSize, TotalLogFileCount,
// TotalLogCount, TotalDurationTime per object, ErrorLogLoadCount for records
// it quarantined), the consumer the document side (OutputDataSize,
// SuccessLogLoadCount, ErrorLogLoadCount for failed and rejected records,
// ExcludedLogCount, CountedLogCount, EsResponseTime).
type EMF struct {
	m    *Metrics
	role Role
	w    io.Writer
	now  func() time.Time

	mu   sync.Mutex
	last map[string]map[string]float64 // emf name → log type → total at last flush
}

// Role says which side of the pipeline a process is.
type Role int

const (
	// RoleProducer: producer, backfill, redrive.
	RoleProducer Role = iota + 1
	// RoleConsumer: consumer, replay.
	RoleConsumer
)

// EMFNamespace and EMFDimension are es-loader's (aws-lambda-powertools
// Metrics with POWERTOOLS_METRICS_NAMESPACE=SIEM, dimension logtype).
const (
	EMFNamespace = "SIEM"
	EMFDimension = "logtype"
)

// EMFMetric maps one es-loader metric to the Prometheus families it is
// computed from.
type EMFMetric struct {
	Name, Unit string
	// families are summed; scale multiplies (seconds → milliseconds).
	families []string
	// outcomes, when set, keeps only samples with these outcome labels.
	outcomes []string
	scale    float64
	// sum: read a histogram's sum instead of a counter.
	sum bool
}

// EMFMetrics lists the es-loader metrics each role emits, in order.
func EMFMetrics(r Role) []EMFMetric {
	switch r {
	case RoleProducer:
		return []EMFMetric{
			{Name: "InputLogFileSize", Unit: "Bytes", families: []string{"siemstream_object_bytes_total"}},
			{Name: "TotalLogFileCount", Unit: "Count", families: []string{"siemstream_objects_total"}, outcomes: []string{"loaded", "quarantined"}},
			{Name: "TotalLogCount", Unit: "Count", families: []string{"siemstream_events_total"}},
			{Name: "ErrorLogLoadCount", Unit: "Count", families: []string{"siemstream_events_failed_total"}},
			{Name: "TotalDurationTime", Unit: "Milliseconds", families: []string{"siemstream_object_duration_seconds"}, scale: 1000, sum: true},
		}
	case RoleConsumer:
		return []EMFMetric{
			{Name: "OutputDataSize", Unit: "Bytes", families: []string{"siemstream_output_bytes_total"}},
			{Name: "SuccessLogLoadCount", Unit: "Count", families: []string{"siemstream_events_delivered_total"}},
			{Name: "ErrorLogLoadCount", Unit: "Count", families: []string{"siemstream_events_failed_total", "siemstream_events_rejected_total"}},
			{Name: "ExcludedLogCount", Unit: "Count", families: []string{"siemstream_events_excluded_total"}},
			{Name: "CountedLogCount", Unit: "Count", families: []string{"siemstream_events_counted_total"}},
			{Name: "EsResponseTime", Unit: "Milliseconds", families: []string{"siemstream_deliver_seconds_total"}, scale: 1000},
		}
	}
	return nil
}

// NewEMF writes role's EMF lines for m to w.
func NewEMF(m *Metrics, role Role, w io.Writer) *EMF {
	return &EMF{m: m, role: role, w: w, now: time.Now, last: map[string]map[string]float64{}}
}

// Run flushes every interval and once more when ctx ends (so a stopping
// process reports its last interval).
func (e *EMF) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = e.Flush()
			return
		case <-t.C:
			_ = e.Flush()
		}
	}
}

// Flush writes one line per log type whose metrics changed since the last
// flush.
func (e *EMF) Flush() error {
	fams, err := e.m.Reg.Gather()
	if err != nil {
		return err
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defs := EMFMetrics(e.role)
	deltas := map[string]map[string]float64{} // log type → name → delta
	for _, d := range defs {
		tot := map[string]float64{}
		for _, fn := range d.families {
			f := byName[fn]
			if f == nil {
				continue
			}
			for _, mt := range f.GetMetric() {
				lt, outcome := "", ""
				for _, l := range mt.GetLabel() {
					switch l.GetName() {
					case "log_type":
						lt = l.GetValue()
					case "outcome":
						outcome = l.GetValue()
					}
				}
				if lt == "" || (len(d.outcomes) > 0 && !contains(d.outcomes, outcome)) {
					continue
				}
				v := mt.GetCounter().GetValue()
				if d.sum {
					v = mt.GetHistogram().GetSampleSum()
				}
				tot[lt] += v
			}
		}
		prev := e.last[d.Name]
		if prev == nil {
			prev = map[string]float64{}
			e.last[d.Name] = prev
		}
		for lt, v := range tot {
			if dv := v - prev[lt]; dv != 0 {
				if deltas[lt] == nil {
					deltas[lt] = map[string]float64{}
				}
				scale := d.scale
				if scale == 0 {
					scale = 1
				}
				deltas[lt][d.Name] = dv * scale
			}
			prev[lt] = v
		}
	}
	types := make([]string, 0, len(deltas))
	for lt := range deltas {
		types = append(types, lt)
	}
	sort.Strings(types)
	ts := e.now().UnixMilli()
	for _, lt := range types {
		if err := e.writeLine(ts, lt, defs, deltas[lt]); err != nil {
			return err
		}
	}
	return nil
}

type emfUnit struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

func (e *EMF) writeLine(ts int64, lt string, defs []EMFMetric, vals map[string]float64) error {
	units := make([]emfUnit, 0, len(defs))
	line := map[string]any{EMFDimension: lt}
	for _, d := range defs {
		// Every metric of the role is in every line (zero when nothing
		// happened), as es-loader writes all of them for each object.
		units = append(units, emfUnit{d.Name, d.Unit})
		v := vals[d.Name]
		if d.Unit == "Milliseconds" {
			v = math.Round(v*1000) / 1000
		} else {
			v = math.Round(v)
		}
		line[d.Name] = v
	}
	line["_aws"] = map[string]any{
		"Timestamp": ts,
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": EMFNamespace, "Dimensions": [][]string{{EMFDimension}}, "Metrics": units,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
