package consumer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/deadletter"
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
	records []lease.Record // the records being processed (Event.Unit indexes it)
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
	p.records = records
	defer func() { p.records = nil }()
	for i := range records {
		if err := p.safeUnpack(records[i].Data, i); err != nil {
			p.dls = append(p.dls, sink.DeadLetter{
				Time: p.now(), Stage: deadletter.StageWire, Reason: err.Error(),
				Shard: p.shardID, Sequence: records[i].SequenceNumber, SubSequence: records[i].SubSequence,
				Raw: records[i].Data,
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
	if err := p.runChain(ctx); err != nil {
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
	dl := sink.DeadLetter{
		Time: p.now(), Stage: stage, Reason: reason,
		LogType: e.Src.LogType, Bucket: e.Src.Bucket, Key: e.Src.Key, Ordinal: e.Ordinal,
		Raw: e.Raw, Context: e.Src.Context, Shard: p.shardID,
	}
	if dl.Raw == nil {
		dl.Raw = []byte{} // an empty record, not "bytes not kept"
	}
	if e.Unit >= 0 && e.Unit < len(p.records) {
		r := &p.records[e.Unit]
		dl.Sequence, dl.SubSequence = r.SequenceNumber, r.SubSequence
	}
	return dl
}

// safeUnpack is Unpack with a panic turned into the record's error: a
// hostile Kinesis record must not kill the worker (it would be read again
// after the restart and kill the next one: a poison pill).
func (p *processor) safeUnpack(data []byte, unit int) (err error) {
	n := len(p.batch.Events)
	defer func() {
		if v := recover(); v != nil {
			clear(p.batch.Events[n:])
			p.batch.Events = p.batch.Events[:n]
			st := debug.Stack()
			err = fmt.Errorf("panic while unpacking: %v (at %s)", v, panicSite(st))
			p.log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", st).Msg("unpack panicked; record dead-lettered")
		}
	}()
	return p.unpack.Unpack(data, unit, &p.batch)
}

// runChain runs the stage chain over the batch. A panic in a stage is a bug
// that one record triggered: the batch is run again one event at a time,
// and the events that panic alone are failed (stage "panic", dead-lettered
// with their bytes) while the others go on. Neither the worker nor the
// shard stops.
func (p *processor) runChain(ctx context.Context) error {
	if p.batch.Arena == nil {
		p.batch.Arena = new(stages.Arena)
	}
	err, v, site := tryChain(ctx, p.chain, &p.batch)
	if v == nil {
		return err
	}
	p.log.Error().Str("panic", fmt.Sprint(v)).Str("at", site).Int("events", len(p.batch.Events)).Msg("a stage panicked; the batch is run again one event at a time")
	for i := range p.batch.Events {
		resetEvent(&p.batch.Events[i])
	}
	p.batch.Arena.Reset()
	for i := range p.batch.Events {
		e := &p.batch.Events[i]
		one := stages.Batch{Events: p.batch.Events[i : i+1], Arena: p.batch.Arena}
		err, v, site := tryChain(ctx, p.chain, &one)
		if v != nil {
			resetEvent(e)
			e.Fail(&stages.StageError{Stage: deadletter.StagePanic, Err: fmt.Errorf("%v (at %s)", v, site)})
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tryChain runs the chain and returns the panic value, if any, and where
// it happened.
func tryChain(ctx context.Context, c stages.Chain, b *stages.Batch) (err error, panicked any, site string) {
	defer func() {
		if v := recover(); v != nil {
			panicked, site = v, panicSite(debug.Stack())
			if sp, ok := v.(stagePanic); ok {
				panicked, site = sp.v, "stage "+sp.stage+", "+site
			}
		}
	}()
	return c.Process(ctx, b), nil, ""
}

// namedChain wraps every stage of c in namedStage.
func namedChain(c stages.Chain) stages.Chain {
	out := make(stages.Chain, len(c))
	for i, s := range c {
		out[i] = namedStage{s}
	}
	return out
}

// namedStage makes the events a stage fails, and its panics, carry the
// stage's name, so a dead letter says which stage refused the record
// (stages report bad records with plain errors).
type namedStage struct{ stages.Stage }

type stagePanic struct {
	stage string
	v     any
}

func (s namedStage) Process(ctx context.Context, b *stages.Batch) error {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stagePanic); !ok {
				v = stagePanic{stage: s.Name(), v: v}
			}
			panic(v) // recovered by tryChain, the original frames still on the stack
		}
	}()
	err := s.Stage.Process(ctx, b)
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Failed {
			continue
		}
		var se *stages.StageError
		if !errors.As(e.Err, &se) {
			e.Err = &stages.StageError{Stage: s.Name(), Err: e.Err}
		}
	}
	return err
}

// panicSite names the innermost siemstream function of a panic's stack
// and its file:line, for the dead letter's reason.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "github.com/siemstream/siemstream/") && !strings.Contains(l, "/consumer.") && i+1 < len(lines) {
			return strings.TrimPrefix(l[:strings.LastIndexByte(l, '(')], "github.com/siemstream/siemstream/") + " " + strings.TrimSpace(lines[i+1])
		}
	}
	return "unknown"
}

// resetEvent puts an event back to what Unpack made of it. Its document
// is dropped, not pooled: a panic may have left it half-built.
func resetEvent(e *stages.Event) {
	*e = stages.Event{Src: e.Src, Ordinal: e.Ordinal, Raw: e.Raw, Unit: e.Unit}
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
