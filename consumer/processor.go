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

// Unpacker turns one Kinesis user record into events appended to b, each
// tagged with unit. A record that is not a valid chunk returns an error; the
// processor dead-letters the whole record and goes on.
type Unpacker interface {
	Unpack(data []byte, unit int, b *stages.Batch) error
	// Release is called after each flush: the events unpacked so far are
	// done with, their buffers may be reused.
	Release()
}

// processor runs one shard: unpack → stage chain → sink → checkpoint. It
// checkpoints a record only after every document derived from it is
// delivered or dead-lettered; if anything is still pending (sink down and
// shutdown reached) it returns without checkpointing, so the records are
// read again by whoever holds the shard next.
type processor struct {
	shardID     string
	unpack      Unpacker
	chain       stages.Chain
	sink        sink.Sink
	deadLetters sink.DeadLetters
	policy      sink.RetryPolicy
	batchEvents int
	counts      *obs.Registry
	log         zerolog.Logger
	now         func() time.Time
	obs         Observer // nil: none

	batch   stages.Batch
	docs    []sink.Doc
	docEvt  []int
	results []sink.Result
	dls     []sink.DeadLetter
	perType map[string]*obs.Counts
}

func (p *processor) Initialize(_ context.Context, shardID string) {
	p.shardID = shardID
	p.log = p.log.With().Str("shard", shardID).Logger()
	p.observer().ShardStarted(shardID)
	p.log.Info().Msg("shard lease taken")
}

func (p *processor) ProcessRecords(ctx context.Context, records []lease.Record, cp lease.Checkpointer, millisBehind int64) {
	p.observer().RecordsRead(p.shardID, len(records), millisBehind)
	if err := p.process(ctx, records, cp); err != nil {
		// Not checkpointed: the records will be delivered again (at least
		// once); deterministic _ids make that harmless.
		p.log.Warn().Err(err).Str("error_kind", "batch_not_acknowledged").Int("records", len(records)).Msg("batch not acknowledged; it will be re-read")
	}
}

func (p *processor) process(ctx context.Context, records []lease.Record, cp lease.Checkpointer) error {
	p.batch.Reset()
	p.dls = p.dls[:0]
	for i := range records {
		if err := p.unpack.Unpack(records[i].Data, i, &p.batch); err != nil {
			p.dls = append(p.dls, sink.DeadLetter{
				Time: p.now(), Stage: "wire", Reason: err.Error(),
				Key: "kinesis:" + p.shardID + "/" + records[i].SequenceNumber, Raw: records[i].Data,
			})
			p.counts.Add("unknown", obs.Counts{Failed: 1})
		}
		if len(p.batch.Events) >= p.batchEvents || i == len(records)-1 {
			if err := p.flush(ctx); err != nil {
				return err
			}
			if err := cp.Checkpoint(ctx, &records[i]); err != nil {
				return fmt.Errorf("checkpoint after %d records: %w", i+1, err)
			}
			p.observer().Checkpointed(p.shardID)
			p.batch.Reset()
			p.unpack.Release()
			p.dls = p.dls[:0]
		}
	}
	return nil
}

// flush processes the current batch and returns nil only when every event in
// it is delivered, excluded or dead-lettered.
func (p *processor) flush(ctx context.Context) error {
	if err := p.chain.Process(ctx, &p.batch); err != nil {
		return err
	}
	clear(p.perType)
	if p.perType == nil {
		p.perType = map[string]*obs.Counts{}
	}
	p.docs, p.docEvt = p.docs[:0], p.docEvt[:0]
	for i := range p.batch.Events {
		e := &p.batch.Events[i]
		c := p.countsFor(e.Src.LogType)
		c.Events++
		switch e.Status {
		case stages.Keep:
			p.docs = append(p.docs, sink.Doc{Index: e.Index, ID: e.ID, Body: e.Out})
			p.docEvt = append(p.docEvt, i)
		case stages.Dropped:
			c.Excluded++
		case stages.Failed:
			c.Failed++
			p.dls = append(p.dls, p.deadLetter(e, "", errString(e.Err)))
		}
	}
	p.results = append(p.results[:0], make([]sink.Result, len(p.docs))...)
	p.observer().Delivering(p.shardID, len(p.batch.Events))
	start := time.Now()
	st, err := sink.Deliver(ctx, p.sink, p.docs, p.results, p.policy)
	p.observer().BatchDone(p.shardID, &p.batch, st, time.Since(start), err)
	if err != nil {
		return err
	}
	for k, r := range p.results {
		e := &p.batch.Events[p.docEvt[k]]
		c := p.countsFor(e.Src.LogType)
		switch r.Outcome {
		case sink.Delivered:
			c.Delivered++
			if r.Overwrote {
				c.Overwritten++
			}
		case sink.Rejected:
			c.Rejected++
			dl := p.deadLetter(e, "opensearch", r.Reason)
			dl.Index, dl.ID = e.Index, e.ID
			p.dls = append(p.dls, dl)
		}
	}
	if len(p.dls) > 0 {
		if err := p.deadLetters.Put(ctx, p.dls); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// The dead-letter index itself refused them: the last place
			// left is the log, in full, so nothing disappears silently.
			for i := range p.dls {
				p.log.Error().Str("error_kind", "dead_letter_logged").Str("stage", p.dls[i].Stage).Str("reason", p.dls[i].Reason).
					Str("s3_bucket", p.dls[i].Bucket).Str("s3_key", p.dls[i].Key).Str("log_type", p.dls[i].LogType).Int64("ordinal", p.dls[i].Ordinal).
					Bytes("raw", p.dls[i].Raw).Msg("dead letter could not be stored")
			}
			p.log.Error().Err(err).Str("error_kind", "dead_letter_store").Msg("dead letters logged instead of indexed")
		}
	}
	for t, c := range p.perType {
		p.counts.Add(t, *c)
	}
	return nil
}

func (p *processor) countsFor(logType string) *obs.Counts {
	c := p.perType[logType]
	if c == nil {
		c = &obs.Counts{}
		p.perType[logType] = c
	}
	return c
}

func (p *processor) deadLetter(e *stages.Event, stage, reason string) sink.DeadLetter {
	if stage == "" {
		stage = "pipeline"
		var se *stages.StageError
		if errors.As(e.Err, &se) {
			stage = se.Stage
		}
	}
	return sink.DeadLetter{
		Time: p.now(), Stage: stage, Reason: reason,
		LogType: e.Src.LogType, Bucket: e.Src.Bucket, Key: e.Src.Key, Ordinal: e.Ordinal,
		Raw: e.Raw,
	}
}

func (p *processor) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	p.log.Info().Stringer("reason", reason).Msg("shard processor stopping")
	p.observer().ShardStopped(p.shardID, reason)
	if reason == lease.ShardEnd {
		// Everything read from a closed shard has been acknowledged by the
		// time the coordinator reports its end.
		if err := cp.CheckpointShardEnd(ctx); err != nil {
			p.log.Error().Err(err).Str("error_kind", "checkpoint").Msg("checkpoint SHARD_END failed")
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func (p *processor) observer() Observer {
	if p.obs == nil {
		return nopObserver{}
	}
	return p.obs
}
