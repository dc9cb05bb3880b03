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

// processor runs one shard: unpack → stage chain → sink → checkpoint, as a
// pipeline of up to maxInflight batches (pipeline.go). It checkpoints a
// record only after every document derived from it, and from every record
// before it, is delivered or dead-lettered; if anything is still pending
// (sink down and shutdown reached, lease lost) it returns without
// checkpointing past it, so the records are read again by whoever holds
// the shard next.
type processor struct {
	shardID string
	unpack  Unpacker // the first slot's
	// newUnpacker makes the unpacker of every further slot; nil means
	// one slot (no pipelining).
	newUnpacker func() Unpacker
	chain       stages.Chain
	sink        sink.Sink
	deadLetters sink.DeadLetters
	policy      sink.RetryPolicy
	batchEvents int
	maxInflight int // batches in flight per shard; < 1 means 1
	counts      *obs.Registry
	log         zerolog.Logger
	now         func() time.Time
	obs         Observer // nil: none

	queue  []*slot       // in flight, in record order
	free   []*slot       // acknowledged, reusable
	slots  int           // slots made
	ackd   *lease.Record // acknowledged watermark not yet checkpointed
	failed error         // a batch was not acknowledged: the watermark stops here
}

func (p *processor) Initialize(_ context.Context, shardID string) {
	p.shardID = shardID
	p.log = p.log.With().Str("shard", shardID).Logger()
	p.observer().ShardStarted(shardID)
	p.log.Info().Msg("shard lease taken")
}

func (p *processor) ProcessRecords(ctx context.Context, records []lease.Record, cp lease.Checkpointer, millisBehind int64) {
	p.observer().RecordsRead(p.shardID, len(records), millisBehind)
	err := p.process(ctx, records, cp)
	// The call returns when its batches are acknowledged and checkpointed:
	// batches overlap within a read (one GetRecords result holds many), not
	// across reads, so what a crash can leave delivered but not
	// checkpointed stays one read at most, as with the serial processor,
	// an idle stream's checkpoint never lags, and the coordinators' and
	// replay's contract (checkpoints happen inside the call) holds.
	if err == nil {
		err = p.drain(ctx, cp)
	}
	if err != nil {
		// Not checkpointed: the records will be delivered again (at least
		// once); deterministic _ids make that harmless.
		p.log.Warn().Err(err).Str("error_kind", "batch_not_acknowledged").Int("records", len(records)).Msg("batch not acknowledged; it will be re-read")
	}
}

func (p *processor) process(ctx context.Context, records []lease.Record, cp lease.Checkpointer) error {
	if p.failed != nil {
		return p.failed
	}
	if len(records) == 0 {
		return p.advance(ctx, cp, false)
	}
	s, err := p.take(ctx, cp)
	if err != nil {
		return err
	}
	for i := range records {
		r := &records[i]
		s.records = append(s.records, *r) // the caller may reuse records
		if err := p.safeUnpack(s, r.Data, len(s.records)-1); err != nil {
			s.dls = append(s.dls, sink.DeadLetter{
				Time: p.now(), Stage: deadletter.StageWire, Reason: err.Error(),
				Shard: p.shardID, Sequence: r.SequenceNumber, SubSequence: r.SubSequence,
				Raw: r.Data,
			})
			p.counts.Add("unknown", obs.Counts{Failed: 1})
		}
		if len(s.batch.Events) >= p.batchEvents || i == len(records)-1 {
			s.last = *r
			p.launch(ctx, s)
			if err := p.advance(ctx, cp, false); err != nil {
				return err
			}
			if i < len(records)-1 {
				if s, err = p.take(ctx, cp); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// prepare runs the stages over s and lists its documents; on the
// coordinator's goroutine (stages keep per-processor state).
func (p *processor) prepare(ctx context.Context, s *slot) error {
	if err := p.runChain(ctx, &s.batch); err != nil {
		return err
	}
	clear(s.perType)
	if s.perType == nil {
		s.perType = map[string]*obs.Counts{}
	}
	s.docs, s.docEvt = s.docs[:0], s.docEvt[:0]
	for i := range s.batch.Events {
		e := &s.batch.Events[i]
		c := countsFor(s.perType, e.Src.LogType)
		c.Events++
		switch e.Status {
		case stages.Keep:
			s.docs = append(s.docs, sink.Doc{Index: e.Index, ID: e.ID, Body: e.Out})
			s.docEvt = append(s.docEvt, i)
		case stages.Dropped:
			c.Excluded++
		case stages.Failed:
			c.Failed++
			s.dls = append(s.dls, p.deadLetter(s, e, "", errString(e.Err)))
		}
	}
	return nil
}

// deliver writes s and dead-letters what cannot be loaded; it returns nil
// only when every event of s is delivered, excluded or dead-lettered. It
// runs on its own goroutine: it touches only s and what is safe for
// concurrent use.
func (p *processor) deliver(ctx context.Context, s *slot) error {
	s.results = append(s.results[:0], make([]sink.Result, len(s.docs))...)
	start := time.Now()
	st, err := sink.Deliver(ctx, p.sink, s.docs, s.results, p.policy)
	p.observer().BatchDone(p.shardID, &s.batch, st, time.Since(start), err)
	if err != nil {
		return err
	}
	for k, r := range s.results {
		e := &s.batch.Events[s.docEvt[k]]
		c := countsFor(s.perType, e.Src.LogType)
		switch r.Outcome {
		case sink.Delivered:
			c.Delivered++
			if r.Overwrote {
				c.Overwritten++
			}
		case sink.Rejected:
			c.Rejected++
			dl := p.deadLetter(s, e, "opensearch", r.Reason)
			dl.Index, dl.ID = e.Index, e.ID
			s.dls = append(s.dls, dl)
		}
	}
	if len(s.dls) > 0 {
		if err := p.deadLetters.Put(ctx, s.dls); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// The dead-letter index itself refused them: the last place
			// left is the log, in full, so nothing disappears silently.
			for i := range s.dls {
				p.log.Error().Str("error_kind", "dead_letter_logged").Str("stage", s.dls[i].Stage).Str("reason", s.dls[i].Reason).
					Str("s3_bucket", s.dls[i].Bucket).Str("s3_key", s.dls[i].Key).Str("log_type", s.dls[i].LogType).Int64("ordinal", s.dls[i].Ordinal).
					Bytes("raw", s.dls[i].Raw).Msg("dead letter could not be stored")
			}
			p.log.Error().Err(err).Str("error_kind", "dead_letter_store").Msg("dead letters logged instead of indexed")
		}
	}
	for t, c := range s.perType {
		p.counts.Add(t, *c)
	}
	return nil
}

func countsFor(m map[string]*obs.Counts, logType string) *obs.Counts {
	c := m[logType]
	if c == nil {
		c = &obs.Counts{}
		m[logType] = c
	}
	return c
}

func (p *processor) deadLetter(s *slot, e *stages.Event, stage, reason string) sink.DeadLetter {
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
	if e.Unit >= 0 && e.Unit < len(s.records) {
		r := &s.records[e.Unit]
		dl.Sequence, dl.SubSequence = r.SequenceNumber, r.SubSequence
	}
	return dl
}

// safeUnpack is Unpack with a panic turned into the record's error: a
// hostile Kinesis record must not kill the worker (it would be read again
// after the restart and kill the next one: a poison pill).
func (p *processor) safeUnpack(s *slot, data []byte, unit int) (err error) {
	b := &s.batch
	n := len(b.Events)
	defer func() {
		if v := recover(); v != nil {
			clear(b.Events[n:])
			b.Events = b.Events[:n]
			st := debug.Stack()
			err = fmt.Errorf("panic while unpacking: %v (at %s)", v, panicSite(st))
			p.log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", st).Msg("unpack panicked; record dead-lettered")
		}
	}()
	return s.unpack.Unpack(data, unit, b)
}

// runChain runs the stage chain over the batch. A panic in a stage is a bug
// that one record triggered: the batch is run again one event at a time,
// and the events that panic alone are failed (stage "panic", dead-lettered
// with their bytes) while the others go on. Neither the worker nor the
// shard stops.
func (p *processor) runChain(ctx context.Context, b *stages.Batch) error {
	if b.Arena == nil {
		b.Arena = new(stages.Arena)
	}
	err, v, site := tryChain(ctx, p.chain, b)
	if v == nil {
		return err
	}
	p.log.Error().Str("panic", fmt.Sprint(v)).Str("at", site).Int("events", len(b.Events)).Msg("a stage panicked; the batch is run again one event at a time")
	for i := range b.Events {
		resetEvent(&b.Events[i])
	}
	b.Arena.Reset()
	for i := range b.Events {
		e := &b.Events[i]
		one := stages.Batch{Events: b.Events[i : i+1], Arena: b.Arena}
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
	p.log.Info().Stringer("reason", reason).Int("batches_in_flight", len(p.queue)).Msg("shard processor stopping")
	defer p.observer().ShardStopped(p.shardID, reason) // after the batches in flight
	if reason == lease.LeaseLost {
		// Another worker owns the shard: stop writing, checkpoint nothing.
		p.abandon()
		return
	}
	// Requested (graceful stop) or the shard's end: let the batches in
	// flight finish (ctx ends with the shutdown grace), checkpoint, and
	// only then return so the coordinator releases the lease.
	if err := p.drain(ctx, cp); err != nil {
		p.abandon()
		p.log.Warn().Err(err).Str("error_kind", "batch_not_acknowledged").Msg("batches in flight not acknowledged at shutdown; they will be re-read")
		return
	}
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
