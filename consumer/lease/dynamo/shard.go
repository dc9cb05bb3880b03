package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/backoff"
)

// minGetRecordsInterval keeps GetRecords within 5 calls/s/shard.
const minGetRecordsInterval = 200 * time.Millisecond

// runShard drives one tenure: wait for the parents' SHARD_END, then read
// and process until the lease is lost, the worker stops, or the shard ends.
func (c *Coordinator) runShard(t *tenure) {
	if t.checkpointPos().seq == ShardEnd {
		t.setState(stateEnded)
		return
	}
	if len(t.parents) > 0 {
		t.setState(stateWaiting)
		if !c.waitParents(t) {
			return
		}
	}
	for attempt := 0; ; attempt++ {
		if c.consume(t) {
			return
		}
		if c.stop.Err() != nil || t.ctx.Err() != nil {
			return
		}
		// The processor did not checkpoint SHARD_END: read the shard
		// again from its checkpoint with a new processor.
		if !backoff.Sleep(t.ctx, c.backoff(attempt, false)) {
			return
		}
	}
}

// waitParents returns true once every parent lease is at SHARD_END or gone;
// false when the worker stops or the lease is lost first.
func (c *Coordinator) waitParents(t *tenure) bool {
	for attempt := 0; ; attempt++ {
		ended := c.endedSignal()
		pending, err := c.pendingParents(t.ctx, t.parents)
		if err == nil && len(pending) == 0 {
			c.log.Info().Str("shard", t.key).Strs("parents", t.parents).Msg("parents done; starting shard")
			return true
		}
		if err != nil && t.ctx.Err() == nil {
			c.log.Warn().Err(err).Str("shard", t.key).Msg("cannot read parent leases")
		} else if attempt == 0 {
			c.log.Info().Str("shard", t.key).Strs("waiting_for", pending).Msg("waiting for parent shards to reach SHARD_END")
		}
		timer := time.NewTimer(ms(c.cfg.ParentShardPollIntervalMillis))
		select {
		case <-c.stop.Done():
		case <-t.ctx.Done():
		case <-ended:
		case <-timer.C:
		}
		timer.Stop()
		if c.stop.Err() != nil || t.ctx.Err() != nil {
			return false
		}
	}
}

func (c *Coordinator) pendingParents(ctx context.Context, parents []string) ([]string, error) {
	var pending []string
	for _, p := range parents {
		l, ok, err := c.table.get(ctx, p)
		if err != nil {
			return nil, err
		}
		if ok && l.Checkpoint != ShardEnd {
			pending = append(pending, p)
		}
	}
	return pending, nil
}

// batch is one GetRecords result handed from the fetcher to the processor.
type batch struct {
	records  []lease.Record
	behind   int64
	end      bool
	children []ktypes.ChildShard
}

// consume runs one processor over the shard from the tenure's checkpoint.
// It returns true when done with the tenure: stopped, lost, or the shard
// end was checkpointed; false when the processor did not checkpoint
// SHARD_END.
func (c *Coordinator) consume(t *tenure) bool {
	p := c.factory()
	t.processing.Store(true)
	defer t.processing.Store(false)
	p.Initialize(t.ctx, t.key)
	t.setState(stateReading)
	t.mu.Lock()
	t.delivered, t.ended = nil, false
	t.mu.Unlock()

	fctx, cancelFetch := context.WithCancel(t.ctx)
	stopFetch := context.AfterFunc(c.stop, cancelFetch)
	defer stopFetch()
	f := &fetcher{c: c, t: t, shard: t.key, start: t.checkpointPos()}
	batches := make(chan batch, 1)
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		f.run(fctx, batches)
	}()
	defer func() {
		cancelFetch()
		<-fetchDone
	}()

	cp := checkpointer{t: t}
	reason := lease.Requested
loop:
	for {
		select {
		case <-t.ctx.Done():
			break loop
		case b, ok := <-batches:
			if !ok || c.stop.Err() != nil {
				break loop // stopping: a fetched batch not yet processed is read again later
			}
			t.mu.Lock()
			t.behind = b.behind
			if n := len(b.records); n > 0 {
				last := b.records[n-1]
				t.delivered = &position{seq: last.SequenceNumber, sub: last.SubSequence}
			}
			t.mu.Unlock()
			if len(b.records) > 0 {
				c.log.Debug().Str("shard", t.key).Int("records", len(b.records)).Int64("millis_behind_latest", b.behind).Msg("records")
				p.ProcessRecords(t.ctx, b.records, cp, b.behind)
			}
			if t.lost.Load() {
				break loop
			}
			if b.end {
				reason = lease.ShardEnd
				children := make([]string, 0, len(b.children))
				for _, ch := range b.children {
					children = append(children, aws.ToString(ch.ShardId))
				}
				if len(children) == 0 {
					var err error
					if children, err = c.childShards(t.ctx, t.key); err != nil {
						c.log.Warn().Err(err).Str("shard", t.key).Msg("cannot list child shards; childShardIds left empty")
					}
				}
				slices.Sort(children)
				t.mu.Lock()
				t.ended, t.children = true, children
				t.mu.Unlock()
				break loop
			}
			if c.stop.Err() != nil {
				break loop
			}
		}
	}
	if t.lost.Load() {
		reason = lease.LeaseLost
	}
	c.log.Info().Str("shard", t.key).Stringer("reason", reason).Msg("shutting down shard processor")
	p.Shutdown(t.ctx, reason, cp)
	if reason != lease.ShardEnd {
		return true
	}
	if t.checkpointPos().seq != ShardEnd {
		c.log.Error().Str("shard", t.key).Msg("processor did not checkpoint SHARD_END at shard end; re-reading the shard from its checkpoint")
		return false
	}
	t.setState(stateEnded)
	c.createChildLeases(t, f.children)
	c.kick(c.kickSync)
	return true
}

// createChildLeases creates leases for the ChildShards of a GetRecords
// shard end (KCL 2.x behaviour) so children start without waiting for
// shard sync.
func (c *Coordinator) createChildLeases(t *tenure, children []ktypes.ChildShard) {
	created := false
	for _, ch := range children {
		id := aws.ToString(ch.ShardId)
		if id == "" || c.filter != nil && !c.filter[id] {
			continue
		}
		l := Lease{Key: id, Checkpoint: TrimHorizon, Parents: slices.Sorted(slices.Values(ch.ParentShards))}
		if ch.HashKeyRange != nil {
			l.StartingHashKey, l.EndingHashKey = aws.ToString(ch.HashKeyRange.StartingHashKey), aws.ToString(ch.HashKeyRange.EndingHashKey)
		}
		ok, err := c.table.create(c.bg, l)
		if err != nil {
			c.log.Warn().Err(err).Str("shard", id).Msg("cannot create child lease; shard sync will")
			continue
		}
		if ok {
			created = true
			c.log.Info().Str("shard", id).Strs("parents", l.Parents).Str("from", t.key).Msg("child lease created")
		}
	}
	if created {
		c.kick(c.kickTaker)
	}
}

// fetcher reads one shard ahead of the processor (one batch buffered).
type fetcher struct {
	c        *Coordinator
	t        *tenure
	shard    string
	start    position  // where this tenure starts: the lease's checkpoint
	skip     *position // drop user records up to here (resume)
	iter     *string
	lastSeq  string // last Kinesis record fetched, for iterator renewal
	lastCall time.Time
	scratch  [][]byte
	children []ktypes.ChildShard
	// fromTrim: the AT_TIMESTAMP iterator was not answered in time, so the
	// shard is read from TRIM_HORIZON (see atTimestamp); notBefore drops
	// the records that arrived before the timestamp until the first one
	// that did not, where AT_TIMESTAMP would have started.
	fromTrim  bool
	notBefore time.Time
}

// run sends batches until the shard ends or ctx is done; it closes out.
func (f *fetcher) run(ctx context.Context, out chan<- batch) {
	defer close(out)
	if validSeq(f.start.seq) {
		s := f.start
		f.skip = &s
	}
	for {
		b, ok := f.next(ctx)
		if !ok {
			return
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if b.end {
			return
		}
	}
}

// next returns the next non-empty batch (or the shard end), retrying every
// error with backoff; false when ctx is done.
func (f *fetcher) next(ctx context.Context) (batch, bool) {
	c := f.c
	errs := 0
	for {
		if f.iter == nil {
			it, err := f.getIterator(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return batch{}, false
				}
				throttled := isThrottle(err)
				kind := "kinesis_iterator"
				if errors.Is(err, errNotAnswered) {
					kind = "kinesis_timeout"
				}
				c.log.Warn().Err(err).Str("error_kind", kind).Str("shard", f.shard).Msg("GetShardIterator failed; retrying")
				if !backoff.Sleep(ctx, c.backoff(errs, throttled)) {
					return batch{}, false
				}
				errs++
				continue
			}
			f.iter = it
		}
		if !backoff.Sleep(ctx, minGetRecordsInterval-time.Since(f.lastCall)) {
			return batch{}, false
		}
		f.lastCall = time.Now()
		o, err := bounded(ctx, c.cfg.callTimeout(), func(ctx context.Context) (*kinesis.GetRecordsOutput, error) {
			return c.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: f.iter, Limit: aws.Int32(int32(c.cfg.MaxRecords))})
		})
		if err != nil {
			if ctx.Err() != nil {
				return batch{}, false
			}
			var expired *ktypes.ExpiredIteratorException
			var invalid *ktypes.InvalidArgumentException
			switch {
			case errors.As(err, &expired):
				c.log.Info().Str("shard", f.shard).Msg("shard iterator expired; getting a new one from the last record read")
				f.iter = nil
				continue
			case isThrottle(err):
				c.log.Warn().Err(err).Str("error_kind", "kinesis_throttled").Str("shard", f.shard).Msg("GetRecords throttled; backing off")
			case errors.Is(err, errNotAnswered):
				// The iterator is still valid (5 min): ask again with it.
				c.log.Warn().Err(err).Str("error_kind", "kinesis_timeout").Str("shard", f.shard).Msg("GetRecords not answered in time; retrying")
			case errors.As(err, &invalid):
				c.log.Warn().Err(err).Str("error_kind", "kinesis_iterator").Str("shard", f.shard).Msg("GetRecords refused the iterator; getting a new one")
				f.iter = nil
			default:
				c.log.Warn().Err(err).Str("error_kind", "kinesis_get_records").Str("shard", f.shard).Msg("GetRecords failed; retrying")
				if errs >= 2 {
					f.iter = nil // maybe the iterator is the problem
				}
			}
			if !backoff.Sleep(ctx, c.backoff(errs, isThrottle(err))) {
				return batch{}, false
			}
			errs++
			continue
		}
		errs = 0
		var b batch
		b.behind = aws.ToInt64(o.MillisBehindLatest)
		var bad int
		b.records, f.scratch, bad = userRecords(nil, o.Records, &f.skip, f.scratch)
		if !f.notBefore.IsZero() {
			b.records = f.dropBefore(b.records)
		}
		if bad > 0 {
			c.log.Warn().Str("shard", f.shard).Int("records", bad).Msg("KPL aggregate failed its digest or protobuf checks; delivered as a plain record")
		}
		if n := len(o.Records); n > 0 {
			f.lastSeq = aws.ToString(o.Records[n-1].SequenceNumber)
		}
		f.iter = o.NextShardIterator
		if f.iter == nil || len(o.ChildShards) > 0 {
			b.end, b.children = true, o.ChildShards
			f.children = o.ChildShards
			return b, true
		}
		if len(b.records) > 0 {
			return b, true
		}
		f.t.mu.Lock()
		f.t.behind = b.behind
		f.t.mu.Unlock()
		if len(o.Records) == 0 && !backoff.Sleep(ctx, ms(c.cfg.IdleTimeBetweenReadsInMillis)) {
			return batch{}, false
		}
	}
}

// getIterator starts after the last record fetched, else at the tenure's
// checkpoint: AT_SEQUENCE_NUMBER for a sequence number (the skip drops what
// was checkpointed), or the sentinel's iterator type.
func (f *fetcher) getIterator(ctx context.Context) (*string, error) {
	c := f.c
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(c.cfg.StreamName), ShardId: aws.String(f.shard)}
	switch {
	case f.lastSeq != "":
		in.ShardIteratorType = ktypes.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(f.lastSeq)
	case validSeq(f.start.seq):
		in.ShardIteratorType = ktypes.ShardIteratorTypeAtSequenceNumber
		in.StartingSequenceNumber = aws.String(f.start.seq)
	case f.start.seq == Latest:
		in.ShardIteratorType = ktypes.ShardIteratorTypeLatest
	case f.start.seq == AtTimestamp && !c.cfg.TimestampAtInitialPositionInStream.IsZero() && !f.fromTrim:
		return f.atTimestamp(ctx, in)
	case f.start.seq == AtTimestamp && f.fromTrim:
		in.ShardIteratorType = ktypes.ShardIteratorTypeTrimHorizon
	default:
		if f.start.seq != TrimHorizon {
			c.log.Error().Str("shard", f.shard).Str("checkpoint", f.start.seq).
				Msg("checkpoint is not a sequence number or usable sentinel; reading from TRIM_HORIZON (duplicates, no loss)")
		}
		in.ShardIteratorType = ktypes.ShardIteratorTypeTrimHorizon
	}
	o, err := f.shardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get %s iterator for %s: %w", in.ShardIteratorType, f.shard, err)
	}
	return o.ShardIterator, nil
}

// shardIterator is one GetShardIterator bounded by KinesisCallTimeoutMillis.
func (f *fetcher) shardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
	return bounded(ctx, f.c.cfg.callTimeout(), func(ctx context.Context) (*kinesis.GetShardIteratorOutput, error) {
		return f.c.kin.GetShardIterator(ctx, in)
	})
}

// atTimestamp gets the AT_TIMESTAMP iterator of the configured timestamp,
// waiting at most AtTimestampTimeoutMillis for the answer. Kinesis answers
// at once, with an iterator at the tip when nothing arrived at or after the
// timestamp; kinesalite never answers that case, and waiting for it would
// leave the shard unread for good (a closed one would never reach
// SHARD_END, so its children would never start). Not answered in time, the
// shard is read from TRIM_HORIZON instead and the records that arrived
// before the timestamp are dropped (dropBefore): the same records as
// AT_TIMESTAMP, at the cost of reading the older ones.
func (f *fetcher) atTimestamp(ctx context.Context, in *kinesis.GetShardIteratorInput) (*string, error) {
	c := f.c
	ts := c.cfg.TimestampAtInitialPositionInStream
	// Kinesis (and kinesalite) refuse a timestamp in the future.
	if !backoff.Sleep(ctx, time.Until(ts)) {
		return nil, ctx.Err()
	}
	in.ShardIteratorType = ktypes.ShardIteratorTypeAtTimestamp
	in.Timestamp = aws.Time(ts)
	timeout := ms(c.cfg.AtTimestampTimeoutMillis)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	o, err := c.kin.GetShardIterator(tctx, in)
	unanswered := err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded)
	cancel()
	if err == nil {
		return o.ShardIterator, nil
	}
	if !unanswered {
		return nil, fmt.Errorf("get %s iterator for %s: %w", in.ShardIteratorType, f.shard, err)
	}
	c.log.Warn().Str("shard", f.shard).Time("timestamp", ts).Dur("timeout", timeout).
		Msg("AT_TIMESTAMP iterator not answered in time (an emulator never answers it when nothing arrived at or after the timestamp); reading from TRIM_HORIZON and dropping the records that arrived before the timestamp")
	f.fromTrim, f.notBefore = true, ts
	th := &kinesis.GetShardIteratorInput{StreamName: in.StreamName, ShardId: in.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon}
	o, err = f.shardIterator(ctx, th)
	if err != nil {
		return nil, fmt.Errorf("get %s iterator for %s: %w", th.ShardIteratorType, f.shard, err)
	}
	return o.ShardIterator, nil
}

// dropBefore removes the records that arrived before notBefore, up to the
// first one that did not: AT_TIMESTAMP starts at that one and keeps
// everything after it. The sub-records of an aggregate share its arrival.
func (f *fetcher) dropBefore(recs []lease.Record) []lease.Record {
	i := 0
	for i < len(recs) && recs[i].ArrivalTime.Before(f.notBefore) {
		i++
	}
	if i < len(recs) {
		f.notBefore = time.Time{}
	}
	return recs[i:]
}

// isThrottle reports Kinesis/KMS throttling errors.
func isThrottle(err error) bool {
	var pte *ktypes.ProvisionedThroughputExceededException
	var le *ktypes.LimitExceededException
	var kt *ktypes.KMSThrottlingException
	if errors.As(err, &pte) || errors.As(err, &le) || errors.As(err, &kt) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "ThrottlingException" || ae.ErrorCode() == "Throttling")
}
