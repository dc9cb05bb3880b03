// Command benchmem is the child process benchrun starts to measure peak
// memory (VmHWM) of one component on its own, so nothing else in the
// process inflates the figure. It prints one JSON object on stdout.
//
//	benchmem producer -file big.gz -key KEY
//	    producer.LoadObject of a local gzip object (streamed from disk as
//	    S3 would stream it) into a Kinesis that counts and drops records.
//
//	benchmem wire -type vpcflowlogs -events N -out FILE
//	    generate N events, pack them with the real producer and write the
//	    Kinesis records (KPL aggregates) to FILE, each as uvarint length +
//	    data: the stream the consumer mode reads.
//
//	benchmem consumer -wire FILE -shards S -max-records M [-passes P] [-max-inflight N -sink-delay D] [-geoip DIR -ioc DIR]
//	    S shard processors of the real (pipelined) consumer, each reading
//	    FILE P times as its shard, in GetRecords-sized calls (at most M
//	    records and 10 MiB, one call in flight per shard, as the KCL does),
//	    with a sink that builds the bulk body, holds it D per request (a
//	    cluster's round trip, so up to N batches per shard are in flight)
//	    and drops it. Reports peak RSS half-way and at the end, so a bound
//	    that does not grow with the events shows as two equal figures.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/consumer"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/chain"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchmem producer|consumer [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	var out any
	var err error
	switch os.Args[1] {
	case "producer":
		out, err = runProducer(ctx, os.Args[2:])
	case "wire":
		out, err = runWire(ctx, os.Args[2:])
	case "consumer":
		out, err = runConsumer(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmem:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// ProducerResult is what the producer mode prints.
type ProducerResult struct {
	Events int64 `json:"events"`
	// ReadBytes is ObjectResult.Bytes: what LoadObject counted as read
	// (today the compressed size; the caller knows the decompressed one).
	ReadBytes      int64   `json:"read_bytes"`
	KinesisRecords int64   `json:"kinesis_records"`
	WireBytes      int64   `json:"wire_bytes"`
	MaxRecord      int     `json:"max_record"`
	Seconds        float64 `json:"seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	BaselineKiB    int64   `json:"baseline_rss_kib"`
	PeakKiB        int64   `json:"peak_rss_kib"`
}

func runProducer(ctx context.Context, args []string) (*ProducerResult, error) {
	f := flag.NewFlagSet("producer", flag.ExitOnError)
	file := f.String("file", "", "gzip object on disk")
	key := f.String("key", "", "its S3 key (decides the log type)")
	cpuProfile := f.String("cpuprofile", "", "write a CPU profile of LoadObject here")
	_ = f.Parse(args)
	if *file == "" || *key == "" {
		return nil, fmt.Errorf("producer: -file and -key are required")
	}
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return nil, err
	}
	s3 := fixture.NewS3()
	s3.PutFile(fixture.Bucket, *key, *file)
	kin := &fixture.Kinesis{}
	cfg := producer.DefaultConfig()
	cfg.Stream = "bench"
	p, err := producer.New(cfg, reg, s3, nil, kin, nil, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	res := &ProducerResult{BaselineKiB: procStatus("VmRSS")}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu0 := time.Now(), cpuSeconds()
	r, err := p.LoadObject(ctx, notify.Object{Bucket: fixture.Bucket, Key: *key})
	if err != nil {
		return nil, err
	}
	if r.Outcome != producer.Loaded {
		return nil, fmt.Errorf("producer: outcome %s: %s", r.Outcome, r.Reason)
	}
	res.Seconds, res.CPUSeconds = time.Since(start).Seconds(), cpuSeconds()-cpu0
	st := kin.Stats()
	res.Events, res.ReadBytes, res.KinesisRecords, res.WireBytes, res.MaxRecord = r.Records, r.Bytes, st.Records, st.Bytes, st.MaxRecord
	res.PeakKiB = procStatus("VmHWM")
	return res, nil
}

// WireResult is what the wire mode prints.
type WireResult struct {
	Events         int64 `json:"events"`
	RawBytes       int64 `json:"raw_bytes"`
	KinesisRecords int64 `json:"kinesis_records"`
	WireBytes      int64 `json:"wire_bytes"`
}

func runWire(ctx context.Context, args []string) (*WireResult, error) {
	f := flag.NewFlagSet("wire", flag.ExitOnError)
	genName := f.String("type", "vpcflowlogs", "generator type ("+strings.Join(gen.Types(), ", ")+")")
	events := f.Int("events", 1_000_000, "events")
	out := f.String("out", "", "file to write the records to")
	_ = f.Parse(args)
	if *out == "" {
		return nil, fmt.Errorf("wire: -out is required")
	}
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return nil, err
	}
	g, err := gen.New(*genName, 1)
	if err != nil {
		return nil, err
	}
	key := g.Key(fixture.T0, 1)
	s3 := fixture.NewS3()
	s3.Put(fixture.Bucket, key, func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			bw := bufio.NewWriterSize(pw, 64<<10)
			err := g.Write(bw, *events, fixture.T0)
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
	fh, err := os.Create(*out)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	w := bufio.NewWriterSize(fh, 1<<20)
	var werr error
	var lenBuf []byte
	kin := &fixture.Kinesis{Keep: func(data []byte) {
		lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(data)))
		if _, err := w.Write(lenBuf); err != nil && werr == nil {
			werr = err
		}
		if _, err := w.Write(data); err != nil && werr == nil {
			werr = err
		}
	}}
	cfg := producer.DefaultConfig()
	cfg.Stream = "bench"
	p, err := producer.New(cfg, reg, s3, nil, kin, nil, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	r, err := p.LoadObject(ctx, notify.Object{Bucket: fixture.Bucket, Key: key})
	if err != nil {
		return nil, err
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr != nil {
		return nil, fmt.Errorf("write %s: %w", *out, werr)
	}
	st := kin.Stats()
	return &WireResult{Events: r.Records, RawBytes: r.Bytes, KinesisRecords: st.Records, WireBytes: st.Bytes}, nil // the body is not compressed: read = raw
}

// ConsumerResult is what the consumer mode prints.
type ConsumerResult struct {
	Events      int64   `json:"events"`
	Docs        int64   `json:"docs"`
	Calls       int64   `json:"get_records_calls"`
	MaxCallKiB  int64   `json:"max_call_kib"`
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	BaselineKiB int64   `json:"baseline_rss_kib"`
	HalfKiB     int64   `json:"peak_rss_half_kib"`
	PeakKiB     int64   `json:"peak_rss_kib"`
}

func runConsumer(ctx context.Context, args []string) (*ConsumerResult, error) {
	f := flag.NewFlagSet("consumer", flag.ExitOnError)
	wireFile := f.String("wire", "", "records written by the wire mode")
	passes := f.Int("passes", 1, "times each shard reads the file")
	shards := f.Int("shards", 4, "shard processors at once")
	maxRecords := f.Int("max-records", 10000, "KCL maxRecords: Kinesis records per GetRecords (each call is also capped at 10 MiB)")
	batch := f.Int("batch-events", consumer.DefaultConfig().BatchEvents, "consumer batch events")
	inflight := f.Int("max-inflight", consumer.DefaultConfig().MaxInflightBulks, "consumer --max-inflight-bulks: batches per shard being written while the next is processed")
	sinkDelay := f.Duration("sink-delay", 0, "round trip the sink holds each _bulk request (with its body built) before acknowledging it; 0: none")
	geoip := f.String("geoip", "", "GeoIP directory (empty: no GeoIP stage)")
	ioc := f.String("ioc", "", "IoC directory (empty: no IoC stage)")
	memProfile := f.String("memprofile", "", "write a heap profile here half-way through")
	_ = f.Parse(args)
	if *wireFile == "" {
		return nil, fmt.Errorf("consumer: -wire is required")
	}
	perPass, err := countEvents(*wireFile)
	if err != nil {
		return nil, err
	}
	half := perPass * int64(*shards**passes) / 2
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		return nil, err
	}
	pl, err := chain.New(context.Background(), chain.Config{GeoIP: *geoip, IOC: *ioc, ReloadInterval: time.Hour},
		chain.Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		return nil, err
	}
	snk := &fixture.Sink{Delay: *sinkDelay}
	coord := &fixture.Coordinator{}
	res := &ConsumerResult{}
	var mu sync.Mutex
	var readErr error
	for range *shards {
		coord.Feeds = append(coord.Feeds, shardFeed(*wireFile, *passes, *maxRecords, res, &mu, &readErr))
	}
	cfg := consumer.DefaultConfig()
	cfg.BatchEvents, cfg.MaxInflightBulks, cfg.ProgressEvery = *batch, *inflight, -1
	c, err := consumer.New(cfg, coord, pl.Stages, snk, nil, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	runtime.GC()
	res.BaselineKiB = procStatus("VmRSS")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // note the peak when half the events are through
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if res.HalfKiB == 0 && c.Counts().Total().Events >= half {
					res.HalfKiB = procStatus("VmHWM")
					if *memProfile != "" {
						writeHeapProfile(*memProfile)
					}
				}
			}
		}
	}()
	start, cpu0 := time.Now(), cpuSeconds()
	if err := c.Run(ctx); err != nil {
		return nil, err
	}
	close(stop)
	<-done
	res.Seconds, res.CPUSeconds = time.Since(start).Seconds(), cpuSeconds()-cpu0
	res.PeakKiB = procStatus("VmHWM")
	res.Docs = snk.Docs.Load()
	res.Events = c.Counts().Total().Events
	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		return nil, readErr
	}
	return res, nil
}

// countEvents counts the raw records in a wire file.
func countEvents(path string) (int64, error) {
	var dec wire.Decoder
	var c wire.Chunk
	var n int64
	err := readWire(path, func(data []byte) error {
		users, _, err := wire.SplitAggregate(data)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := dec.Decode(u, &c); err != nil {
				return err
			}
			n += int64(len(c.Records))
		}
		return nil
	})
	return n, err
}

// readWire calls fn with each record of a wire file; fn must not keep it.
func readWire(path string, fn func([]byte) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var buf []byte
	for {
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if n > 16<<20 {
			return fmt.Errorf("read %s: record of %d bytes", path, n)
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
}

// shardFeed reads the wire file passes times as one shard and hands the
// consumer one GetRecords result at a time: the next call's records are
// read only after the previous call was processed, as the KCL does.
func shardFeed(path string, passes, maxRecords int, res *ConsumerResult, mu *sync.Mutex, readErr *error) fixture.Feed {
	ch := make(chan []lease.Record)
	ack := make(chan struct{})
	started, waiting := false, false
	run := func() {
		defer close(ch)
		b := fixture.NewBatcher(maxRecords)
		var callBytes int64
		hand := func(recs []lease.Record) {
			mu.Lock()
			res.Calls++
			res.MaxCallKiB = max(res.MaxCallKiB, callBytes>>10)
			mu.Unlock()
			callBytes = 0
			ch <- recs
			<-ack
		}
		for range passes {
			err := readWire(path, func(data []byte) error {
				data = bytes.Clone(data) // the call owns its records
				recs, err := b.Add(data)
				if err != nil {
					return err
				}
				if recs != nil {
					hand(recs)
				}
				callBytes += int64(len(data))
				return nil
			})
			if err != nil {
				fail(mu, readErr, err)
				return
			}
		}
		recs, err := b.Flush()
		if err != nil {
			fail(mu, readErr, err)
			return
		}
		if recs != nil {
			hand(recs)
		}
	}
	return func() ([]lease.Record, bool) {
		if !started {
			started = true
			go run()
		}
		if waiting {
			ack <- struct{}{}
		}
		recs, ok := <-ch
		waiting = ok
		return recs, ok
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmem:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "benchmem:", err)
	}
}

func fail(mu *sync.Mutex, dst *error, err error) {
	mu.Lock()
	defer mu.Unlock()
	if *dst == nil {
		*dst = err
	}
}

// procStatus reads a kB field of /proc/self/status (VmRSS, VmHWM).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
