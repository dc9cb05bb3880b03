package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	stagechain "github.com/siemstream/siemstream/stages/chain"
)

// e2eResult is the end-to-end part: the runs of every variant on the same
// objects, and what OpenSearch alone takes of the same documents.
type e2eResult struct {
	events, docs int64
	objects      int
	runs         []e2eRun
	// bulkDocs documents sent straight to a scratch index by concurrent
	// _bulk clients: what OpenSearch alone takes on this machine, per added
	// latency (the best of bulkSweepClients), and per request size (sizes).
	bulkDocs int
	alone    []aloneResult
	sizes    []bulkLevel
}

// e2eRun is one variant's end-to-end run.
type e2eRun struct {
	e2eVariant
	// Since the first upload: all uploaded, queue drained (producer done),
	// every document acknowledged by OpenSearch (the consumer's
	// siemstream_events_delivered_total), all documents searchable (one
	// refresh after that).
	upload, producerDone, delivered, searchable time.Duration
	// CPU the producer and consumer processes used over the timed part.
	producerCPU, consumerCPU time.Duration
	// firstSeen is when the consumer had acknowledged the first timed
	// documents, and firstDocs how many: from there to the end the
	// pipeline is full.
	firstSeen time.Duration
	firstDocs int64
	// cuts counts the consumer's bulk-concurrency halvings over the timed
	// part by cause (429, failure, latency): whether the node pushed back.
	cuts map[string]int
}

func (r e2eRun) rate(events int64) float64 { return float64(events) / r.searchable.Seconds() }

// sustained is the delivery rate once the pipeline is full: documents
// acknowledged after the first ones, over that time (0 when the run was too
// short to see two counts). It is read off the consumer's counter, not off
// _count: counting needs a refresh, and refreshing the node every poll
// slowed its indexing (the OpenSearch-alone sweep it is compared with is
// timed to the last acknowledgement too, with no refresh).
func (r e2eRun) sustained(docs int64) float64 {
	d := r.delivered - r.firstSeen
	if r.firstSeen == 0 || d <= 0 || docs <= r.firstDocs {
		return 0
	}
	return float64(docs-r.firstDocs) / d.Seconds()
}

// aloneResult is the OpenSearch-alone sweep at one added latency.
type aloneResult struct {
	delay time.Duration
	sweep []bulkLevel
	best  bulkLevel
}

// bulkLevel is one point of an OpenSearch-alone sweep.
type bulkLevel struct {
	clients int
	bytes   int
	delay   time.Duration
	took    time.Duration
	// first is when the first request was acknowledged, holding firstDocs
	// documents: from there to took the node is busy, which is what the
	// end-to-end runs' sustained rate is timed over too.
	first     time.Duration
	firstDocs int
	// rejected: the node answered 429 (its indexing pressure limit:
	// too many bytes in flight at once); took is then meaningless.
	rejected bool
}

// is429 tells a rejection by the node from other failures.
func is429(err error) bool { return err != nil && strings.Contains(err.Error(), "HTTP 429") }

// rate is the documents acknowledged after the first request over the
// time from its acknowledgement to the last (as e2eRun.sustained), or all
// of them over the whole time when there was only one request.
func (l bulkLevel) rate(docs int) float64 {
	if l.first > 0 && l.took > l.first && docs > l.firstDocs {
		return float64(docs-l.firstDocs) / (l.took - l.first).Seconds()
	}
	return float64(docs) / l.took.Seconds()
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

// e2eVariant is one end-to-end configuration: the stream's shard count and
// the latency added to every OpenSearch request (0: the node directly).
type e2eVariant struct {
	shards int
	delay  time.Duration
}

func (v e2eVariant) String() string {
	return fmt.Sprintf("shards=%d/delay=%dms", v.shards, v.delay.Milliseconds())
}

// e2eVariants: 4 and 1 shards, directly and with 50 and 100 ms added per
// request by a delaying proxy (a remote cluster). They run grouped by
// added latency, each group right after its OpenSearch-alone sweep.
var e2eVariants = []e2eVariant{
	{4, 0}, {1, 0},
	{4, 50 * time.Millisecond}, {1, 50 * time.Millisecond},
	{4, 100 * time.Millisecond}, {1, 100 * time.Millisecond},
}

// endToEnd loads VPC Flow Logs objects through the real producer and
// consumer binaries on the local stack and times upload → searchable for
// every variant, next to what OpenSearch alone takes of the same documents
// at the same added latency (directly, or through the same delaying
// proxy); then how the request size changes what OpenSearch alone takes.
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
	logf("e2e: %d VPC events in %d objects, resources %s-*, %d variants (shards × added latency)", per*nObj, nObj, name, len(e2eVariants))

	// Same data in-process: the documents to expect, and where time goes.
	opts := stagechain.Config{GeoIP: e.GeoIP, IOC: e.IOC, OwnLogExclusion: true, ReloadInterval: time.Hour}
	want, st, err := stageTimes(ctx, objs, opts)
	if err != nil {
		return fmt.Errorf("in-process run: %w", err)
	}
	r.res.stages = st
	warm, err := fixture.Generate("vpcflowlogs", 99, 1000)
	if err != nil {
		return err
	}
	warmObj := e2eObject{key: warm.Key, gz: fixture.Gzip(warm.Raw), raw: len(warm.Raw)}
	warmDocs, _, err := stageTimes(ctx, []e2eObject{warmObj}, opts)
	if err != nil {
		return err
	}

	// One delaying proxy per added latency, shared by the end-to-end runs
	// and the OpenSearch-alone sweep of that latency.
	proxies := map[time.Duration]string{0: s.OpenSearch}
	for _, v := range e2eVariants {
		if _, ok := proxies[v.delay]; ok {
			continue
		}
		p, err := e2e.NewDelayProxy(s.OpenSearch, v.delay)
		if err != nil {
			return err
		}
		defer p.Close()
		proxies[v.delay] = p.URL()
	}

	// OpenSearch alone gets the same documents, in a scratch index that
	// the same index template maps (the run's own index name, suffixed).
	items, err := bulkItems(ctx, objs, opts)
	if err != nil {
		r.res.note("e2e: OpenSearch bulk probe: %v", err)
		items = &bulkItemSet{}
	}
	out := &e2eResult{events: int64(per * nObj), docs: want, objects: nObj, bulkDocs: items.docs()}
	r.res.e2e = out
	var delays []time.Duration
	for _, v := range e2eVariants {
		if !slices.Contains(delays, v.delay) {
			delays = append(delays, v.delay)
		}
	}
	// Per added latency: OpenSearch alone, then the end-to-end runs, close
	// in time, so that other load on a shared node hits both alike.
	for _, d := range delays {
		if out.bulkDocs > 0 {
			a := aloneResult{delay: d}
			bodies := items.bodies(fixture.MaxBulkBytes)
			for _, n := range bulkSweepClients {
				tm, err := bulkSend(ctx, s, proxies[d], fmt.Sprintf("%s-%s-d%d-c%d", items.index, name, d.Milliseconds(), n), bodies, n)
				if is429(err) {
					a.sweep = append(a.sweep, bulkLevel{clients: n, bytes: fixture.MaxBulkBytes, delay: d, rejected: true})
					logf("e2e: OpenSearch alone +%s, %d concurrent %d MiB _bulk clients: 429", d, n, fixture.MaxBulkBytes>>20)
					continue
				}
				if err != nil {
					r.res.note("e2e: OpenSearch alone, %d clients, +%s: %v", n, d, err)
					break
				}
				l := bulkLevel{clients: n, bytes: fixture.MaxBulkBytes, delay: d, took: tm.took, first: tm.first, firstDocs: tm.firstDocs}
				a.sweep = append(a.sweep, l)
				if a.best.took == 0 || l.rate(out.bulkDocs) > a.best.rate(out.bulkDocs) {
					a.best = l
				}
				r.res.add(fmt.Sprintf("BenchmarkOpenSearchBulk/type=vpcflowlogs/delay=%dms/clients=%d/bulk=%dMiB", d.Milliseconds(), n, l.bytes>>20),
					tm.took/time.Duration(out.bulkDocs), "ns/op", l.rate(out.bulkDocs), "docs/s")
				logf("e2e: OpenSearch alone +%s, %d concurrent %d MiB _bulk clients: %.0f docs/s", d, n, l.bytes>>20, l.rate(out.bulkDocs))
			}
			if a.best.took > 0 {
				out.alone = append(out.alone, a)
				logf("e2e: OpenSearch alone +%s: best %.0f docs/s with %d clients", d, a.best.rate(out.bulkDocs), a.best.clients)
			}
		}
		for i, v := range e2eVariants {
			if v.delay != d {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			run := e2eRun{e2eVariant: v}
			if err := r.runVariant(ctx, s, fmt.Sprintf("%s-%d", name, i), v, proxies[v.delay], e, objs, warmObj, warmDocs, want, &run); err != nil {
				r.res.note("e2e %s: FAILED: %v", v, tail(err.Error(), 3000))
				logf("e2e %s failed: %v", v, tail(err.Error(), 300))
				continue
			}
			out.runs = append(out.runs, run)
			r.res.add(fmt.Sprintf("BenchmarkE2E/type=vpcflowlogs/%s/events=%d", v, out.events), run.searchable, "ns/op",
				run.rate(out.events), "events/s", run.upload.Seconds(), "upload-s",
				run.producerDone.Seconds(), "producer-done-s", run.searchable.Seconds(), "searchable-s",
				run.producerCPU.Seconds(), "producer-cpu-s", run.consumerCPU.Seconds(), "consumer-cpu-s", run.sustained(out.docs), "sustained-docs/s")
			msg := fmt.Sprintf("e2e %s: %d events searchable after %s: %.0f events/s (sustained %.0f)", v, out.events, run.searchable.Round(time.Millisecond), run.rate(out.events), run.sustained(out.docs))
			if f := out.fraction(run); f > 0 {
				msg += fmt.Sprintf(", %.2f of the best OpenSearch-alone rate at the same latency", f)
			}
			logf("%s", msg)
		}
	}
	// Request size by bytes, at the best client count of each latency
	// (direct and the largest added latency; 5 MiB is the sweep above).
	for _, a := range out.alone {
		if a.delay != 0 && a.delay != delays[len(delays)-1] {
			continue
		}
		for _, size := range bulkSizes {
			if size == fixture.MaxBulkBytes {
				out.sizes = append(out.sizes, a.best)
				out.sizes[len(out.sizes)-1].delay = a.delay
				continue
			}
			tm, err := bulkSend(ctx, s, proxies[a.delay], fmt.Sprintf("%s-%s-d%d-b%d", items.index, name, a.delay.Milliseconds(), size>>20), items.bodies(size), a.best.clients)
			if is429(err) {
				out.sizes = append(out.sizes, bulkLevel{clients: a.best.clients, bytes: size, delay: a.delay, rejected: true})
				logf("e2e: OpenSearch alone +%s, %d clients, %d MiB requests: 429", a.delay, a.best.clients, size>>20)
				continue
			}
			if err != nil {
				r.res.note("e2e: OpenSearch alone, %d MiB requests, +%s: %v", size>>20, a.delay, err)
				continue
			}
			l := bulkLevel{clients: a.best.clients, bytes: size, delay: a.delay, took: tm.took, first: tm.first, firstDocs: tm.firstDocs}
			out.sizes = append(out.sizes, l)
			r.res.add(fmt.Sprintf("BenchmarkOpenSearchBulk/type=vpcflowlogs/delay=%dms/clients=%d/bulk=%dMiB", a.delay.Milliseconds(), l.clients, size>>20),
				tm.took/time.Duration(out.bulkDocs), "ns/op", l.rate(out.bulkDocs), "docs/s")
			logf("e2e: OpenSearch alone +%s, %d clients, %d MiB requests: %.0f docs/s", a.delay, l.clients, size>>20, l.rate(out.bulkDocs))
		}
	}
	return nil
}

// runVariant runs one variant with resources of its own: a stream of
// v.shards shards, the real producer and consumer binaries (the consumer
// writing to osURL), a warm-up object, then the timed objects.
func (r *runner) runVariant(ctx context.Context, s *e2e.Stack, name string, v e2eVariant, osURL string, e fixture.Enrichment,
	objs []e2eObject, warm e2eObject, warmDocs, want int64, run *e2eRun) error {
	res, err := s.CreateResources(ctx, name, v.shards)
	if err != nil {
		return err
	}
	defer r.cleanup(s, res)
	logDir := filepath.Join(r.tmp, "e2e-logs", name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	// The last value of a duplicated variable wins (os/exec).
	env := append(res.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200", "SIEM_GEOIP="+e.GeoIP, "SIEM_IOC="+e.IOC,
		"SIEM_INDEX_SUFFIX="+benchSuffix(res), "OPENSEARCH_URL="+osURL)
	consAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cons, err := e2e.Start(r.cliBin, "consumer", logDir, append(env, "SIEM_METRICS_ADDR="+consAddr), "consumer")
	if err != nil {
		return err
	}
	defer cons.Stop(60 * time.Second)
	prodAddr, err := freeAddr()
	if err != nil {
		return err
	}
	prod, err := e2e.Start(r.cliBin, "producer", logDir, append(env, "SIEM_METRICS_ADDR="+prodAddr), "producer")
	if err != nil {
		return err
	}
	defer prod.Stop(30 * time.Second)
	// Time a warm pipeline: a small object goes all the way through first
	// (leases taken, GeoIP/IoC loaded, indices created).
	// Only this run's indices are refreshed and counted: the node is
	// shared, and a refresh of every log-* index per poll would slow it.
	query, indices := bucketQuery(res.Bucket), "log-*"+benchSuffix(res)
	if err := s.Upload(ctx, res.Bucket, warm.key, warm.gz); err != nil {
		return err
	}
	err = e2e.WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, indices, query)
		return err == nil && n >= warmDocs, nil
	})
	if err != nil {
		return fmt.Errorf("warm-up object never searchable: %w\nconsumer log:\n%s\nproducer log:\n%s", err, tail(cons.Output(), 2000), tail(prod.Output(), 2000))
	}
	want += warmDocs
	metricsURL := "http://" + consAddr + "/metrics"
	var warmDelivered int64
	err = e2e.WaitFor(ctx, time.Minute, func() (bool, error) {
		n, err := deliveredTotal(ctx, metricsURL)
		warmDelivered = n
		return err == nil && n >= warmDocs, nil
	})
	if err != nil {
		return fmt.Errorf("consumer metrics at %s: %d delivered after the warm-up: %w", metricsURL, warmDelivered, err)
	}

	pcpu0, ccpu0 := procCPU(r.cliBin, "producer"), procCPU(r.cliBin, "consumer")
	logFrom := len(cons.Output())
	t0 := time.Now()
	for _, o := range objs {
		if err := s.Upload(ctx, res.Bucket, o.key, o.gz); err != nil {
			return err
		}
	}
	run.upload = time.Since(t0)
	var got int64
	timeout := time.Duration(max(3, r.o.e2eEvents/1000))*time.Second + 2*time.Minute
	// A fixed short poll (not WaitFor's backoff): the sustained rate is
	// read off these counts. The consumer's counter, not _count: that
	// would refresh the node five times a second while it indexes.
	err = pollEvery(ctx, 200*time.Millisecond, timeout, func() (bool, error) {
		if run.producerDone == 0 {
			qa, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &res.QueueURL,
				AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
			if err == nil && qa.Attributes["ApproximateNumberOfMessages"] == "0" && qa.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
				run.producerDone = time.Since(t0)
			}
		}
		n, err := deliveredTotal(ctx, metricsURL)
		if err != nil {
			return false, nil
		}
		got = n - warmDelivered
		if run.firstSeen == 0 && got > 0 {
			run.firstSeen, run.firstDocs = time.Since(t0), got
		}
		return got >= want-warmDocs, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d documents delivered: %w\nconsumer log:\n%s", got, want-warmDocs, err, tail(cons.Output(), 3000))
	}
	run.delivered = time.Since(t0)
	// Then searchable: every document counted (each poll refreshes).
	err = pollEvery(ctx, 200*time.Millisecond, timeout, func() (bool, error) {
		n, err := s.Count(ctx, indices, query)
		if err != nil {
			return false, nil
		}
		got = n
		return n >= want, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d documents searchable: %w\nconsumer log:\n%s", got, want, err, tail(cons.Output(), 3000))
	}
	run.searchable = time.Since(t0)
	run.producerCPU, run.consumerCPU = procCPU(r.cliBin, "producer")-pcpu0, procCPU(r.cliBin, "consumer")-ccpu0
	run.cuts = limitCuts(cons.Output()[logFrom:])
	if run.producerDone == 0 {
		run.producerDone = run.searchable
	}
	return nil
}

// bulkSweepClients are the concurrencies of the OpenSearch-alone sweep.
var bulkSweepClients = []int{1, 2, 4, 8}

// bulkSizes are the request sizes of the size sweep (--bulk-bytes).
var bulkSizes = []int{1 << 20, 2 << 20, 5 << 20, 10 << 20}

// bulkItemSet is the _bulk lines (action and document) of the documents,
// back to back in one buffer: a request of any size is a slice of it.
type bulkItemSet struct {
	// index is the first document's index: the scratch indices are named
	// after it, so the same index template maps them.
	index string
	buf   []byte
	ends  []int // end offset of each item in buf
}

func (s *bulkItemSet) docs() int { return len(s.ends) }

// bodies cuts the items into requests of at most size bytes (an item
// larger than size is a request of its own).
func (s *bulkItemSet) bodies(size int) [][]byte {
	var out [][]byte
	start, prev := 0, 0
	for _, end := range s.ends {
		if end-start > size && prev > start {
			out = append(out, s.buf[start:prev])
			start = prev
		}
		prev = end
	}
	if prev > start {
		out = append(out, s.buf[start:prev])
	}
	return out
}

// bulkItems runs the timed objects (the documents the end-to-end run
// loaded) through the chain in this process and returns their _bulk items,
// without an index (the request's URL names it).
func bulkItems(ctx context.Context, objs []e2eObject, opts stagechain.Config) (*bulkItemSet, error) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return nil, err
	}
	pl, err := stagechain.New(ctx, opts, stagechain.Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	ch, err := pl.Stages()
	if err != nil {
		return nil, err
	}
	set := &bulkItemSet{}
	batchEvents := consumer.DefaultConfig().BatchEvents
	for _, o := range objs {
		zr, err := gzip.NewReader(bytes.NewReader(o.gz))
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return nil, err
		}
		recs, err := fixture.Split(reg, fixture.Object{Gen: "vpcflowlogs", Key: o.key, Raw: raw})
		if err != nil {
			return nil, err
		}
		src := &stages.Source{LogType: recs.LogType.Name, Bucket: fixture.Bucket, Key: o.key, Context: recs.Context}
		for lo := 0; lo < len(recs.Recs); lo += batchEvents {
			var b stages.Batch
			for i := lo; i < min(lo+batchEvents, len(recs.Recs)); i++ {
				b.Events = append(b.Events, stages.Event{Src: src, Ordinal: recs.Ordinals[i], Raw: recs.Recs[i]})
			}
			if err := ch.Process(ctx, &b); err != nil {
				return nil, err
			}
			for i := range b.Events {
				e := &b.Events[i]
				if e.Status != stages.Keep {
					continue
				}
				if set.index == "" {
					set.index = e.Index
				}
				set.buf = append(set.buf, `{"index":{"_id":`...)
				set.buf = pyjson.AppendQuotedString(set.buf, e.ID)
				set.buf = append(set.buf, "}}\n"...)
				set.buf = append(set.buf, e.Out...)
				set.buf = append(set.buf, '\n')
				set.ends = append(set.ends, len(set.buf))
			}
			b.Reset()
		}
	}
	return set, nil
}

// bulkTiming is when a bulkSend ended and when its first request was
// acknowledged, with how many documents that one held.
type bulkTiming struct {
	took, first time.Duration
	firstDocs   int
}

// bulkSend sends bodies to index at base (the node, or a delaying proxy in
// front of it) with n concurrent clients and returns its timing; the index
// is deleted afterwards.
func bulkSend(ctx context.Context, s *e2e.Stack, base, index string, bodies [][]byte, n int) (bulkTiming, error) {
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.Do(c, http.MethodDelete, "/"+index, nil)
	}()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = n // each client keeps its connection
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	defer tr.CloseIdleConnections()
	url := base + "/" + index + "/_bulk?filter_path=errors"
	var next atomic.Int64
	var once sync.Once
	var tm bulkTiming
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					errs <- nil
					return
				}
				if err := bulkPost(ctx, hc, url, bodies[i]); err != nil {
					next.Store(int64(len(bodies)))
					errs <- err
					return
				}
				once.Do(func() { tm.first, tm.firstDocs = time.Since(start), bytes.Count(bodies[i], []byte("\n"))/2 })
			}
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	tm.took = time.Since(start)
	return tm, first
}

func bulkPost(ctx context.Context, hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := hc.Do(req)
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

// aloneAt is the OpenSearch-alone result at an added latency (nil: not
// measured).
func (e *e2eResult) aloneAt(d time.Duration) *aloneResult {
	for i := range e.alone {
		if e.alone[i].delay == d {
			return &e.alone[i]
		}
	}
	return nil
}

// run returns the run of a variant (nil: not run or failed).
func (e *e2eResult) run(v e2eVariant) *e2eRun {
	for i := range e.runs {
		if e.runs[i].e2eVariant == v {
			return &e.runs[i]
		}
	}
	return nil
}

// fraction is a run's sustained end-to-end rate (the pipeline full; the
// whole-run rate when the run was too short to tell) over the best
// OpenSearch-alone rate at the same added latency (events over documents:
// VPC events are all kept); 0 when either is missing. wholeFraction uses
// the rate from the first upload to all searchable instead.
func (e *e2eResult) fraction(run e2eRun) float64 {
	v := run.sustained(e.docs)
	if v == 0 {
		v = run.rate(e.events)
	}
	return e.over(run, v)
}

func (e *e2eResult) wholeFraction(run e2eRun) float64 { return e.over(run, run.rate(e.events)) }

func (e *e2eResult) over(run e2eRun, v float64) float64 {
	a := e.aloneAt(run.delay)
	if a == nil || e.bulkDocs == 0 || run.searchable == 0 {
		return 0
	}
	return v / a.best.rate(e.bulkDocs)
}

// limitCuts counts the consumer's "bulk concurrency adapted" warnings (JSON
// log lines) by cause.
func limitCuts(log string) map[string]int {
	cuts := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `"bulk_backpressure"`) {
			continue
		}
		var l struct {
			Cause string `json:"cause"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Cause != "" {
			cuts[l.Cause]++
		}
	}
	return cuts
}

// freeAddr is a loopback address with a port free now (for a process's
// metrics endpoint).
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// deliveredTotal is the sum of siemstream_events_delivered_total over its
// log types at a Prometheus text endpoint.
func deliveredTotal(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return sumCounter(b, "siemstream_events_delivered_total"), nil
}

// sumCounter adds up the samples of one counter in Prometheus text format
// (0 when the text does not parse or lacks it).
func sumCounter(text []byte, name string) int64 {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return 0
	}
	var sum float64
	for _, m := range fams[name].GetMetric() {
		sum += m.GetCounter().GetValue() + m.GetUntyped().GetValue() // untyped: no # TYPE line
	}
	return int64(sum)
}

// pollEvery calls cond every interval until it is true, fails, or timeout
// passes.
func pollEvery(ctx context.Context, interval, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s", timeout)
		case <-t.C:
		}
	}
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
