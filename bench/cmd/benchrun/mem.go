package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// memRow is one peak-RSS measurement.
type memRow struct {
	what     string // "producer" or "consumer"
	settings string
	events   int64
	seconds  float64
	cpu      float64
	baseline float64 // MiB
	half     float64 // MiB (consumer: peak when half the events were through)
	peak     float64 // MiB
	extra    string
	passes   int // consumer: times each shard read the data (≥ 2 shows a steady state)
	// consumer: --max-inflight-bulks, and the sink's round trip per
	// request (0: none, so batches hardly overlap).
	inflight int
	delay    time.Duration
}

func (r *runner) memory(ctx context.Context) error {
	if err := r.producerRSS(ctx); err != nil {
		return err
	}
	return r.consumerRSS(ctx)
}

// producerRSS runs the producer's LoadObject on a 1 GiB (decompressed)
// object in a child process and reads its peak RSS.
func (r *runner) producerRSS(ctx context.Context) error {
	size := int64(pick(r.o.quick, 256<<20, 1<<30))
	logf("memory: generating a %d MiB VPC Flow Logs object", size>>20)
	path, key, _, raw, err := r.bigObject("vpcflowlogs", size, 11)
	if err != nil {
		return err
	}
	logf("memory: producer LoadObject of %d MiB (GOMAXPROCS=1)", raw>>20)
	p, err := runChild(ctx, []string{"GOMAXPROCS=1"}, r.memBin, "producer", "-file", path, "-key", key)
	if err != nil {
		return err
	}
	var out struct {
		Events         int64   `json:"events"`
		KinesisRecords int64   `json:"kinesis_records"`
		WireBytes      int64   `json:"wire_bytes"`
		MaxRecord      int     `json:"max_record"`
		Seconds        float64 `json:"seconds"`
		CPUSeconds     float64 `json:"cpu_seconds"`
		BaselineKiB    int64   `json:"baseline_rss_kib"`
		PeakKiB        int64   `json:"peak_rss_kib"`
	}
	if err := json.Unmarshal(p.stdout, &out); err != nil {
		return fmt.Errorf("benchmem producer output %q: %w", p.stdout, err)
	}
	peak := float64(out.PeakKiB) / 1024 // the child's own VmHWM (see runChild)
	name := fmt.Sprintf("BenchmarkProducerRSS/type=vpcflowlogs/object=%dMiB", size>>20)
	mbs, mbcpu := float64(raw)/1e6/out.Seconds, float64(raw)/1e6/out.CPUSeconds
	r.res.add(name, time.Duration(out.Seconds*1e9), "ns/op", peak, "peak-RSS-MiB", mbs, "MB/s", mbcpu, "MB/cpu-s",
		float64(out.Events)/float64(max(1, out.KinesisRecords)), "events/record", float64(out.WireBytes)/float64(max(1, out.Events)), "wire-B/event",
		out.MaxRecord, "max-record-B")
	r.res.mem = append(r.res.mem, memRow{what: "producer", settings: fmt.Sprintf("LoadObject, %d MiB object (gzip %d MiB), GOMAXPROCS=1", raw>>20, fileSize(path)>>20),
		events: out.Events, seconds: out.Seconds, cpu: out.CPUSeconds, baseline: float64(out.BaselineKiB) / 1024, peak: peak,
		extra: fmt.Sprintf("%.0f MB/s wall, %.0f MB/cpu-s", mbs, mbcpu)})
	logf("memory: producer peak RSS %.0f MiB, %.0f MB/s wall, %.0f MB/cpu-s", peak, mbs, mbcpu)
	return nil
}

// consumerRSS runs the consumer in a child process under several in-flight
// settings: shards held, KCL maxRecords (each GetRecords is also capped at
// 10 MiB) and events per batch.
func (r *runner) consumerRSS(ctx context.Context) error {
	e, err := r.enrichment()
	if err != nil {
		return err
	}
	events := pick(r.o.quick, 150_000, 300_000)
	wire := filepath.Join(r.tmp, "vpc.wire")
	p, err := runChild(ctx, nil, r.memBin, "wire", "-type", "vpcflowlogs", "-events", strconv.Itoa(events), "-out", wire)
	if err != nil {
		return err
	}
	var w struct {
		Events, RawBytes, KinesisRecords, WireBytes int64
	}
	_ = json.Unmarshal(p.stdout, &w)
	// The first rows vary what is read at once; the last ones the batches
	// in flight per shard (--max-inflight-bulks 1, 3, 6) against a sink
	// that holds each request sinkDelay, as a cluster's round trip does,
	// so that many batches are in flight at once.
	type setting struct {
		shards, maxRecords, batch, passes, inflight int
		delay                                       time.Duration
	}
	const sinkDelay = 200 * time.Millisecond
	settings := []setting{{1, 10000, 5000, 4, 3, 0}, {1, 2, 1000, 2, 3, 0}, {4, 10000, 5000, 1, 3, 0},
		{1, 10000, 5000, 2, 1, sinkDelay}, {1, 10000, 5000, 2, 3, sinkDelay}, {1, 10000, 5000, 2, 6, sinkDelay}}
	if r.o.quick {
		for i := range settings {
			settings[i].passes = 1
		}
	}
	for _, s := range settings {
		logf("memory: consumer shards=%d max-records=%d batch-events=%d max-inflight=%d sink-delay=%s (%d events per shard, geoip+ioc on)",
			s.shards, s.maxRecords, s.batch, s.inflight, s.delay, events*s.passes)
		p, err := runChild(ctx, nil, r.memBin, "consumer", "-wire", wire, "-shards", strconv.Itoa(s.shards), "-passes", strconv.Itoa(s.passes),
			"-max-records", strconv.Itoa(s.maxRecords), "-batch-events", strconv.Itoa(s.batch), "-max-inflight", strconv.Itoa(s.inflight),
			"-sink-delay", s.delay.String(), "-geoip", e.GeoIP, "-ioc", e.IOC)
		if err != nil {
			return err
		}
		var out struct {
			Events      int64   `json:"events"`
			Calls       int64   `json:"get_records_calls"`
			MaxCallKiB  int64   `json:"max_call_kib"`
			Seconds     float64 `json:"seconds"`
			CPUSeconds  float64 `json:"cpu_seconds"`
			BaselineKiB int64   `json:"baseline_rss_kib"`
			HalfKiB     int64   `json:"peak_rss_half_kib"`
			PeakKiB     int64   `json:"peak_rss_kib"`
		}
		if err := json.Unmarshal(p.stdout, &out); err != nil {
			return fmt.Errorf("benchmem consumer output %q: %w", p.stdout, err)
		}
		peak := float64(out.PeakKiB) / 1024 // the child's own VmHWM (see runChild)
		name := fmt.Sprintf("BenchmarkConsumerRSS/shards=%d/max-records=%d/batch-events=%d", s.shards, s.maxRecords, s.batch)
		settingsText := fmt.Sprintf("%d shard(s), maxRecords %d (largest call %.1f MiB), batch %d events, %d in flight", s.shards, s.maxRecords, float64(out.MaxCallKiB)/1024, s.batch, s.inflight)
		if s.delay > 0 {
			// Earlier rows keep their names, so old result files compare.
			name += fmt.Sprintf("/max-inflight=%d/sink-delay=%dms", s.inflight, s.delay.Milliseconds())
			settingsText += fmt.Sprintf(", sink round trip %d ms", s.delay.Milliseconds())
		}
		r.res.add(name, time.Duration(out.Seconds*1e9), "ns/op", peak, "peak-RSS-MiB", float64(out.HalfKiB)/1024, "half-RSS-MiB",
			float64(out.BaselineKiB)/1024, "baseline-RSS-MiB", float64(out.Events)/out.Seconds, "events/s")
		r.res.mem = append(r.res.mem, memRow{what: "consumer",
			settings: settingsText,
			events:   out.Events, seconds: out.Seconds, cpu: out.CPUSeconds, baseline: float64(out.BaselineKiB) / 1024,
			half: float64(out.HalfKiB) / 1024, peak: peak, passes: s.passes, inflight: s.inflight, delay: s.delay})
		logf("memory: consumer peak RSS %.0f MiB (%.0f MiB half-way, %.0f MiB before data)", peak, float64(out.HalfKiB)/1024, float64(out.BaselineKiB)/1024)
	}
	return nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
