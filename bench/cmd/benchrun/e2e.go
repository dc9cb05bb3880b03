package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	stagechain "github.com/siemstream/siemstream/stages/chain"
)

// e2eShards is the stream's shard count (the local stack's default).
const e2eShards = 4

// e2eResult is the end-to-end run.
type e2eResult struct {
	events, docs int64
	objects      int
	// Since the first upload: all uploaded, queue drained (producer done),
	// all documents searchable.
	upload, producerDone, searchable time.Duration
	// CPU the producer and consumer processes used over the timed part.
	producerCPU, consumerCPU time.Duration
	// bulkDocs/bulkTook: the same kind of documents written straight to a
	// scratch index with 5 MiB _bulk requests by bulkClients concurrent
	// clients, the best of bulkSweep: what OpenSearch alone takes on this
	// machine.
	bulkDocs    int
	bulkTook    time.Duration
	bulkClients int
	bulkSweep   []bulkLevel
}

// bulkLevel is one point of the OpenSearch-alone sweep.
type bulkLevel struct {
	clients int
	took    time.Duration
}

// stageTime is where one event's time goes, measured in-process at
// GOMAXPROCS=1 on the end-to-end data.
type stageTime struct {
	name       string
	nsPerEvent float64
}

type e2eObject struct {
	key string
	gz  []byte
	raw int
}

// stack connects to the local stack, starting it with `go tool task up`
// when it is down and allowed to.
func (r *runner) stack(ctx context.Context) (*e2e.Stack, error) {
	connect := func() (*e2e.Stack, error) {
		ok, err := e2e.LoadEnv(r.root)
		if err != nil || !ok {
			return nil, fmt.Errorf("no .local/env (stack never started): %v", err)
		}
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := e2e.Connect(c)
		if err != nil {
			return nil, err
		}
		if _, err := s.Do(c, "GET", "/_cluster/health", nil); err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := connect()
	if err == nil {
		// Every service must be up, not only OpenSearch.
		cmd := exec.CommandContext(ctx, "go", "tool", "task", "status", "--", "--check")
		cmd.Dir = r.root
		if out, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("a local service is down:\n%s", tail(string(out), 600))
		}
	}
	if err == nil || !r.o.up {
		return s, err
	}
	logf("e2e: local stack not ready (%v); running `go tool task up`", err)
	cmd := exec.CommandContext(ctx, "go", "tool", "task", "up")
	cmd.Dir, cmd.Stdout, cmd.Stderr = r.root, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go tool task up: %w", err)
	}
	return connect()
}

// endToEnd loads VPC Flow Logs objects through the real producer and
// consumer binaries on the local stack and times upload → searchable.
func (r *runner) endToEnd(ctx context.Context) error {
	s, err := r.stack(ctx)
	if err != nil {
		return fmt.Errorf("local stack unavailable, end-to-end skipped: %w", err)
	}
	e, err := r.enrichment()
	if err != nil {
		return err
	}
	nObj := pick(r.o.quick, 5, 10)
	per := r.o.e2eEvents / nObj
	var objs []e2eObject
	for i := range nObj {
		o, err := fixture.Generate("vpcflowlogs", uint64(100+i), per)
		if err != nil {
			return err
		}
		objs = append(objs, e2eObject{key: o.Key, gz: fixture.Gzip(o.Raw), raw: len(o.Raw)})
	}
	name := fmt.Sprintf("bench-%d-%04x", time.Now().Unix()%1e8, rand.N(1<<16))
	logf("e2e: %d VPC events in %d objects, resources %s (%d shards)", per*nObj, nObj, name, e2eShards)

	// Same data in-process: the documents to expect, and where time goes.
	opts := stagechain.Config{GeoIP: e.GeoIP, IOC: e.IOC, OwnLogExclusion: true, ReloadInterval: time.Hour}
	want, st, err := stageTimes(ctx, objs, opts)
	if err != nil {
		return fmt.Errorf("in-process run: %w", err)
	}
	r.res.stages = st

	res, err := s.CreateResources(ctx, name, e2eShards)
	if err != nil {
		return err
	}
	defer r.cleanup(s, res)
	logDir := filepath.Join(r.tmp, "e2e-logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	env := append(res.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200", "SIEM_GEOIP="+e.GeoIP, "SIEM_IOC="+e.IOC,
		"SIEM_INDEX_SUFFIX="+benchSuffix(res))
	cons, err := e2e.Start(r.cliBin, "consumer", logDir, env, "consumer")
	if err != nil {
		return err
	}
	defer cons.Stop(60 * time.Second)
	prod, err := e2e.Start(r.cliBin, "producer", logDir, env, "producer")
	if err != nil {
		return err
	}
	defer prod.Stop(30 * time.Second)
	// Time a warm pipeline: a small object goes all the way through first
	// (leases taken, GeoIP/IoC loaded, indices created).
	query := bucketQuery(res.Bucket)
	warm, err := fixture.Generate("vpcflowlogs", 99, 1000)
	if err != nil {
		return err
	}
	warmDocs, _, err := stageTimes(ctx, []e2eObject{{key: warm.Key, gz: fixture.Gzip(warm.Raw), raw: len(warm.Raw)}}, opts)
	if err != nil {
		return err
	}
	if err := s.Upload(ctx, res.Bucket, warm.Key, fixture.Gzip(warm.Raw)); err != nil {
		return err
	}
	err = e2e.WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-*", query)
		return err == nil && n >= warmDocs, nil
	})
	if err != nil {
		return fmt.Errorf("warm-up object never searchable: %w\nconsumer log:\n%s\nproducer log:\n%s", err, tail(cons.Output(), 2000), tail(prod.Output(), 2000))
	}
	want += warmDocs

	pcpu0, ccpu0 := procCPU(r.cliBin, "producer"), procCPU(r.cliBin, "consumer")
	t0 := time.Now()
	for _, o := range objs {
		if err := s.Upload(ctx, res.Bucket, o.key, o.gz); err != nil {
			return err
		}
	}
	out := &e2eResult{events: int64(per * nObj), docs: want - warmDocs, objects: nObj, upload: time.Since(t0)}
	logf("e2e: uploaded in %s; waiting for %d documents", out.upload.Round(time.Millisecond), want-warmDocs)
	var got int64
	err = e2e.WaitFor(ctx, time.Duration(max(3, r.o.e2eEvents/1000))*time.Second+2*time.Minute, func() (bool, error) {
		if out.producerDone == 0 {
			qa, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &res.QueueURL,
				AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
			if err == nil && qa.Attributes["ApproximateNumberOfMessages"] == "0" && qa.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
				out.producerDone = time.Since(t0)
				logf("e2e: producer done (queue drained) after %s", out.producerDone.Round(time.Millisecond))
			}
		}
		n, err := s.Count(ctx, "log-*", query)
		if err != nil {
			return false, nil
		}
		got = n
		return n >= want, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d documents searchable: %w\nconsumer log:\n%s", got, want, err, tail(cons.Output(), 3000))
	}
	out.searchable = time.Since(t0)
	out.producerCPU, out.consumerCPU = procCPU(r.cliBin, "producer")-pcpu0, procCPU(r.cliBin, "consumer")-ccpu0
	if out.producerDone == 0 {
		out.producerDone = out.searchable
	}
	out.bulkDocs, out.bulkSweep, err = bulkProbe(ctx, s, name, objs, opts)
	if err != nil {
		r.res.note("e2e: OpenSearch bulk probe: %v", err)
	}
	for _, l := range out.bulkSweep {
		logf("e2e: OpenSearch alone, %d concurrent 5 MiB _bulk clients: %.0f docs/s", l.clients, float64(out.bulkDocs)/l.took.Seconds())
		if out.bulkTook == 0 || l.took < out.bulkTook {
			out.bulkTook, out.bulkClients = l.took, l.clients
		}
	}
	r.res.e2e = out
	if out.bulkDocs > 0 {
		r.res.add("BenchmarkOpenSearchBulk/type=vpcflowlogs", out.bulkTook/time.Duration(out.bulkDocs), "ns/op",
			float64(out.bulkDocs)/out.bulkTook.Seconds(), "docs/s")
		logf("e2e: OpenSearch alone indexes %.0f docs/s at best (%d docs in %s, %d concurrent 5 MiB _bulk clients)", float64(out.bulkDocs)/out.bulkTook.Seconds(), out.bulkDocs, out.bulkTook.Round(time.Millisecond), out.bulkClients)
	}
	r.res.add(fmt.Sprintf("BenchmarkE2E/type=vpcflowlogs/events=%d", out.events), out.searchable, "ns/op",
		float64(out.events)/out.searchable.Seconds(), "events/s", out.upload.Seconds(), "upload-s",
		out.producerDone.Seconds(), "producer-done-s", out.searchable.Seconds(), "searchable-s",
		out.producerCPU.Seconds(), "producer-cpu-s", out.consumerCPU.Seconds(), "consumer-cpu-s")
	logf("e2e: %d events searchable after %s: %.0f events/s", out.events, out.searchable.Round(time.Millisecond), float64(out.events)/out.searchable.Seconds())
	if out.bulkDocs > 0 {
		logf("e2e: end to end is %.2f of the best OpenSearch-alone rate", out.fraction())
	}
	return nil
}

// bulkSweepClients are the concurrencies of the OpenSearch-alone sweep.
var bulkSweepClients = []int{1, 2, 4, 8}

// bulkProbe writes the documents of the timed objects (the same documents
// the end-to-end run loaded) straight into a scratch index of this run (a
// fresh one per level, deleted afterwards) with _bulk requests of at most
// 5 MiB, sent by 1, 2, 4 and 8 concurrent clients, and returns how long
// OpenSearch took at each level.
func bulkProbe(ctx context.Context, s *e2e.Stack, name string, objs []e2eObject, opts stagechain.Config) (int, []bulkLevel, error) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return 0, nil, err
	}
	pl, err := stagechain.New(ctx, opts, stagechain.Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		return 0, nil, err
	}
	defer pl.Close()
	ch, err := pl.Stages()
	if err != nil {
		return 0, nil, err
	}
	const index = "{{index}}" // replaced per level: one fresh index each
	var bodies [][]byte
	var body []byte
	docs := 0
	for _, o := range objs {
		zr, err := gzip.NewReader(bytes.NewReader(o.gz))
		if err != nil {
			return 0, nil, err
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return 0, nil, err
		}
		recs, err := fixture.Split(reg, fixture.Object{Gen: "vpcflowlogs", Key: o.key, Raw: raw})
		if err != nil {
			return 0, nil, err
		}
		src := &stages.Source{LogType: recs.LogType.Name, Bucket: fixture.Bucket, Key: o.key, Context: recs.Context}
		for lo := 0; lo < len(recs.Recs); lo += consumer.DefaultConfig().BatchEvents {
			var b stages.Batch
			for i := lo; i < min(lo+consumer.DefaultConfig().BatchEvents, len(recs.Recs)); i++ {
				b.Events = append(b.Events, stages.Event{Src: src, Ordinal: recs.Ordinals[i], Raw: recs.Recs[i]})
			}
			if err := ch.Process(ctx, &b); err != nil {
				return 0, nil, err
			}
			for i := range b.Events {
				e := &b.Events[i]
				if e.Status != stages.Keep {
					continue
				}
				if len(body)+len(e.Out)+200 > fixture.MaxBulkBytes {
					bodies, body = append(bodies, body), nil
				}
				body = fixture.AppendBulk(body, index, e.ID, e.Out)
				docs++
			}
			b.Reset()
		}
	}
	if len(body) > 0 {
		bodies = append(bodies, body)
	}
	var levels []bulkLevel
	for _, n := range bulkSweepClients {
		took, err := bulkSend(ctx, s, "siemstream-bench-"+name+"-c"+strconv.Itoa(n), bodies, n)
		if err != nil {
			return docs, levels, fmt.Errorf("%d clients: %w", n, err)
		}
		levels = append(levels, bulkLevel{clients: n, took: took})
	}
	return docs, levels, nil
}

// bulkSend sends bodies (whose index is "{{index}}") to index with n
// concurrent clients and returns the time taken; the index is deleted.
func bulkSend(ctx context.Context, s *e2e.Stack, index string, bodies [][]byte, n int) (time.Duration, error) {
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.Do(c, http.MethodDelete, "/"+index, nil)
	}()
	ready := make([][]byte, len(bodies))
	for i, b := range bodies {
		ready[i] = bytes.ReplaceAll(b, []byte("{{index}}"), []byte(index))
	}
	var next atomic.Int64
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ready) {
					errs <- nil
					return
				}
				if err := bulkPost(ctx, s, ready[i]); err != nil {
					next.Store(int64(len(ready)))
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return time.Since(start), first
}

func bulkPost(ctx context.Context, s *e2e.Stack, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.OpenSearch+"/_bulk?filter_path=errors", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 || bytes.Contains(out, []byte(`"errors":true`)) {
		return fmt.Errorf("bulk: HTTP %d: %s", resp.StatusCode, tail(string(out), 300))
	}
	return nil
}

// fraction is the end-to-end rate over the best OpenSearch-alone rate
// (events over documents: VPC events are all kept).
func (e *e2eResult) fraction() float64 {
	if e.bulkDocs == 0 || e.bulkTook == 0 || e.searchable == 0 {
		return 0
	}
	return (float64(e.events) / e.searchable.Seconds()) / (float64(e.bulkDocs) / e.bulkTook.Seconds())
}

// procCPU is the user+system CPU time of the running process started as
// `bin sub`, from /proc (0 when it is not found).
func procCPU(bin, sub string) time.Duration {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || string(cmdline) != bin+"\x00"+sub+"\x00" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			return 0
		}
		// Fields after the ")" that closes the command name; utime and
		// stime are the 14th and 15th fields of the line.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 13 {
			return 0
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * time.Second / clockTicks
	}
	return 0
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// bucketQuery matches the documents of one bucket whether the index
// template maps @log_s3bucket as keyword or the index was mapped
// dynamically (text with a .keyword sub-field).
func bucketQuery(bucket string) map[string]any {
	return map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
		map[string]any{"term": map[string]any{"@log_s3bucket": bucket}},
		map[string]any{"term": map[string]any{"@log_s3bucket.keyword": bucket}},
	}}}
}

// benchSuffix keeps the run's documents in indices of their own
// (log-…-<month>-bench-<bucket>), deleted afterwards.
func benchSuffix(res e2e.Resources) string { return "-" + res.Bucket }

// cleanup removes what the run put in OpenSearch (only this bucket's
// documents) and its stream.
func (r *runner) cleanup(s *e2e.Stack, res e2e.Resources) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.Do(ctx, "DELETE", "/*"+benchSuffix(res)+"?ignore_unavailable=true&allow_no_indices=true", nil); err != nil {
		r.res.note("e2e: the run's indices (*%s) stay (%s); `go tool task reset` clears them", benchSuffix(res), tail(err.Error(), 120))
	}
	if _, err := s.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &res.Stream}); err != nil {
		r.res.note("e2e cleanup: delete stream %s: %v", res.Stream, err)
	}
}

// timed wraps a stage to add up its time.
type timed struct {
	stages.Stage
	d time.Duration
}

func (t *timed) Process(ctx context.Context, b *stages.Batch) error {
	start := time.Now()
	err := t.Stage.Process(ctx, b)
	t.d += time.Since(start)
	return err
}

// stageTimes runs the objects through the producer's LoadObject and the
// consumer's unpack + chain + bulk body in this process at GOMAXPROCS=1,
// timing each step; it returns the documents kept.
func stageTimes(ctx context.Context, objs []e2eObject, opts stagechain.Config) (int64, []stageTime, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return 0, nil, err
	}
	pl, err := stagechain.New(ctx, opts, stagechain.Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		return 0, nil, err
	}
	defer pl.Close()
	ch, err := pl.Stages()
	if err != nil {
		return 0, nil, err
	}
	var chain stages.Chain
	var tstages []*timed
	for _, s := range ch {
		t := &timed{Stage: s}
		tstages = append(tstages, t)
		chain = append(chain, t)
	}
	s3 := fixture.NewS3()
	var aggs [][]byte
	kin := &fixture.Kinesis{Keep: func(d []byte) { aggs = append(aggs, d) }}
	cfg := producer.DefaultConfig()
	cfg.Stream = "bench"
	p, err := producer.New(cfg, reg, s3, nil, kin, nil, zerolog.Nop())
	if err != nil {
		return 0, nil, err
	}
	var prodT, unpackT, bulkT time.Duration
	var events, kept int64
	var unp consumer.WireUnpacker
	var batch stages.Batch
	var body []byte
	for _, o := range objs {
		s3.PutBytes(fixture.Bucket, o.key, o.gz)
		aggs = aggs[:0]
		start := time.Now()
		res, err := p.LoadObject(ctx, notify.Object{Bucket: fixture.Bucket, Key: o.key})
		if err != nil {
			return 0, nil, err
		}
		prodT += time.Since(start)
		events += res.Records
		for _, a := range aggs {
			start := time.Now()
			users, _, err := wire.SplitAggregate(a)
			if err != nil {
				return 0, nil, err
			}
			batch.Reset()
			for u, data := range users {
				if err := unp.Unpack(data, u, &batch); err != nil {
					return 0, nil, err
				}
			}
			unpackT += time.Since(start)
			// The consumer processes at most BatchEvents at a time.
			all := batch.Events
			for lo := 0; lo < len(all); lo += consumer.DefaultConfig().BatchEvents {
				sub := stages.Batch{Events: all[lo:min(lo+consumer.DefaultConfig().BatchEvents, len(all))]}
				if err := chain.Process(ctx, &sub); err != nil {
					return 0, nil, err
				}
				start = time.Now()
				body = body[:0]
				for i := range sub.Events {
					if e := &sub.Events[i]; e.Status == stages.Keep {
						body = fixture.AppendBulk(body, e.Index, e.ID, e.Out)
						kept++
					}
				}
				bulkT += time.Since(start)
			}
		}
	}
	batch.Reset()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(max(1, events)) }
	out := []stageTime{{"producer: gunzip+split+pack", per(prodT)}, {"consumer: unpack (zstd)", per(unpackT)}}
	for _, t := range tstages {
		out = append(out, stageTime{"stage " + t.Name(), per(t.d)})
	}
	out = append(out, stageTime{"bulk body", per(bulkT)})
	return kept, out, nil
}
