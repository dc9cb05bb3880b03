// Package consumer reads a Kinesis stream as one worker of a fleet: a lease
// coordinator (package lease) hands it shards, and for each shard a
// processor unpacks siemstream wire chunks into events, runs the stage chain
// (decode → exclude → normalize → geoip → ioc → encode), writes documents
// with the bulk sink, dead-letters what cannot be loaded, and checkpoints a
// record only after every document derived from it is acknowledged.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/stages"
)

// Config configures the record processing of a consumer (the lease
// coordinator and sink have their own configs).
type Config struct {
	// BatchEvents is how many events are processed and bulk-written
	// together before a checkpoint (default 5000). It bounds memory per
	// shard together with the coordinator's maxRecords.
	BatchEvents int
	// MaxInflightBulks is how many batches of one read (GetRecords
	// result) a shard may have being written while it unpacks and
	// processes the next (default 3; 1 is the serial pipeline). Memory per
	// shard is about this many batches.
	MaxInflightBulks int
	// BulkConcurrency bounds the _bulk requests of the whole process, all
	// shards together (default 8). The bound adapts: it halves when the
	// cluster answers 429 or a request fails, and grows back by one per
	// that many successes.
	BulkConcurrency int
	// DeadLetterIndex is the prefix of the dead-letter index (default
	// "siemstream-deadletter"; monthly suffix -YYYY.MM).
	DeadLetterIndex string
	// ProgressEvery logs totals this often (default 10s; negative = never).
	ProgressEvery time.Duration
	// Retry is the backoff for documents OpenSearch did not take.
	Retry sink.RetryPolicy
	// Observer is told about leases, batches and dead letters (metrics);
	// nil means none.
	Observer Observer
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{BatchEvents: 5000, MaxInflightBulks: 3, BulkConcurrency: 8, DeadLetterIndex: "siemstream-deadletter", ProgressEvery: 10 * time.Second}
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.BatchEvents < 1 {
		return errors.New("batch events must be >= 1")
	}
	if c.MaxInflightBulks < 1 || c.MaxInflightBulks > 64 {
		return errors.New("max in-flight bulks must be between 1 and 64")
	}
	if c.BulkConcurrency < 1 || c.BulkConcurrency > 1024 {
		return errors.New("bulk concurrency must be between 1 and 1024")
	}
	return nil
}

// Consumer wires a coordinator, a chain factory and a sink.
type Consumer struct {
	cfg    Config
	coord  lease.Coordinator
	chain  func() (stages.Chain, error)
	sink   sink.Sink
	dl     sink.DeadLetters
	counts *obs.Registry
	log    zerolog.Logger
}

// Option changes how New builds a consumer.
type Option func(*Consumer)

// WithDeadLetters stores dead letters in dl instead of the default
// sink.IndexDeadLetters (the monthly Config.DeadLetterIndex index written
// through the consumer's own sink, raw bytes inline).
func WithDeadLetters(dl sink.DeadLetters) Option { return func(c *Consumer) { c.dl = dl } }

// New builds a consumer. chain is called once per shard processor so
// stages may keep per-goroutine state.
func New(cfg Config, coord lease.Coordinator, chain func() (stages.Chain, error), s sink.Sink, counts *obs.Registry, log zerolog.Logger, opts ...Option) (*Consumer, error) {
	if cfg.BatchEvents == 0 {
		cfg.BatchEvents = DefaultConfig().BatchEvents
	}
	if cfg.MaxInflightBulks == 0 {
		cfg.MaxInflightBulks = DefaultConfig().MaxInflightBulks
	}
	if cfg.BulkConcurrency == 0 {
		cfg.BulkConcurrency = DefaultConfig().BulkConcurrency
	}
	if cfg.DeadLetterIndex == "" {
		cfg.DeadLetterIndex = DefaultConfig().DeadLetterIndex
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = DefaultConfig().ProgressEvery
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	if counts == nil {
		counts = obs.NewRegistry()
	}
	// One limiter for every shard of the process; dead letters go
	// through it too (they are _bulk requests to the same cluster).
	lim := newBulkLimiter(cfg.BulkConcurrency)
	limObs, _ := cfg.Observer.(BulkLimitObserver)
	lim.onChange = func(limit int, cause string) {
		ev := log.Debug()
		if cause != CauseRecovered {
			ev = log.Warn().Str("error_kind", "bulk_backpressure")
		}
		ev.Int("bulk_concurrency", limit).Str("cause", cause).Msg("bulk concurrency adapted")
		if limObs != nil {
			limObs.BulkLimit(limit, cause)
		}
	}
	if limObs != nil {
		limObs.BulkLimit(cfg.BulkConcurrency, "")
	}
	s = limitedSink{Sink: s, l: lim}
	c := &Consumer{cfg: cfg, coord: coord, chain: chain, sink: s, counts: counts, log: log}
	for _, o := range opts {
		o(c)
	}
	if c.dl == nil {
		c.dl = &sink.IndexDeadLetters{Sink: s, Prefix: cfg.DeadLetterIndex, Policy: cfg.Retry}
	}
	c.dl = observeDeadLetters(cfg.Observer, c.dl)
	return c, nil
}

// Counts exposes the consumer's counters.
func (c *Consumer) Counts() *obs.Registry { return c.counts }

// Run consumes until ctx is cancelled, then shuts down gracefully.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfg.ProgressEvery > 0 {
		go c.progress(ctx)
	}
	var chainErr error
	factory := func() lease.Processor {
		ch, err := c.chain()
		if err != nil {
			chainErr = err
			c.log.Error().Err(err).Str("error_kind", "stage_chain").Msg("cannot build stage chain")
		}
		return &processor{
			unpack: &WireUnpacker{}, newUnpacker: func() Unpacker { return &WireUnpacker{} },
			chain: namedChain(ch), sink: c.sink, deadLetters: c.dl,
			policy: c.retryPolicy(), batchEvents: c.cfg.BatchEvents, maxInflight: c.cfg.MaxInflightBulks, counts: c.counts,
			log: c.log, now: time.Now, obs: c.cfg.Observer,
		}
	}
	// Build one chain up front so configuration errors fail at start.
	if _, err := c.chain(); err != nil {
		return fmt.Errorf("stage chain: %w", err)
	}
	err := c.coord.Run(ctx, factory)
	if err == nil {
		err = chainErr
	}
	c.logTotals("consumer stopped")
	return err
}

func (c *Consumer) retryPolicy() sink.RetryPolicy {
	p := c.cfg.Retry
	if p.OnRetry == nil {
		p.OnRetry = func(round, pending int, wait time.Duration, err error) {
			ev := c.log.Warn()
			if round > 1 && round%10 != 0 {
				ev = c.log.Debug()
			}
			ev.Err(err).Str("error_kind", "bulk_retry").Int("round", round).Int("pending_docs", pending).Dur("backoff", wait).Msg("documents not accepted yet; retrying")
		}
	}
	return p
}

func (c *Consumer) progress(ctx context.Context) {
	t := time.NewTicker(c.cfg.ProgressEvery)
	defer t.Stop()
	var last obs.Counts
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tot := c.counts.Total()
			if tot != last {
				c.logTotals("progress")
				last = tot
			}
		}
	}
}

func (c *Consumer) logTotals(msg string) {
	tot := c.counts.Total()
	c.log.Info().Int64("events", tot.Events).Int64("delivered", tot.Delivered).Int64("excluded", tot.Excluded).
		Int64("failed", tot.Failed).Int64("rejected", tot.Rejected).Int64("overwritten", tot.Overwritten).Msg(msg)
}
