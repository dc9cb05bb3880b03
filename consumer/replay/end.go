package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/internal/wire"
)

// KinesisReader is the part of the Kinesis client the end finder uses.
type KinesisReader interface {
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// bisectDone: the backward search stops when the last record in range is
// known to lie in a stretch of arrival time this short; that stretch is
// then read forward (at most one second of the shard's writes).
const bisectDone = time.Second

// probeTimeout bounds one AT_TIMESTAMP GetShardIterator call. Kinesis
// answers at once, with an iterator at the tip when nothing arrived at or
// after the timestamp; kinesalite never answers that case. A call that
// times out is taken as "nothing at or after": every such conclusion is
// checked by reading forward from a known position (see FindEnd), so the
// timeout costs time, never records.
const probeTimeout = time.Second

// DefaultCallTimeout bounds every other Kinesis call of a replay
// (GetShardIterator, GetRecords, each ListShards page) when the caller
// gives 0. A server that accepts a call and never answers (a half-open
// connection after a NAT or load-balancer drop) would otherwise hold the
// shard's end search, and so the replay, for good; a call not answered in
// time is retried like any transient error. Kinesis answers in well under
// a second.
const DefaultCallTimeout = 30 * time.Second

// errNotAnswered marks a call given up after its call timeout.
var errNotAnswered = errors.New("kinesis call not answered in time")

// bounded runs one Kinesis call with at most d (0 = DefaultCallTimeout) to
// answer; a call cut by that deadline, ctx itself still live, returns an
// error wrapping errNotAnswered (retryable).
func bounded[T any](ctx context.Context, d time.Duration, call func(context.Context) (T, error)) (T, error) {
	if d <= 0 {
		d = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	o, err := call(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		var zero T
		return zero, fmt.Errorf("%w (%s): %w", errNotAnswered, d, err)
	}
	return o, err
}

// FindEnd fixes where a replay of rng stops on one shard: the last Kinesis
// record that arrived at or before rng.To, with the index of its last user
// record, or Empty when no record arrived in the range.
//
// Kinesis reads only forward, and AT_TIMESTAMP(t) starts at the first
// record that arrived at or after t. So:
//
//  1. AT_TIMESTAMP(From): no record, or the first one after To → Empty.
//  2. AT_TIMESTAMP(To) read forward: records arriving at To itself are in
//     range; the last of them is the end.
//  3. Otherwise the end arrived before To: search for it by time with
//     single-record probes, galloping from both ends (To-1s, First+1s,
//     To-2s, First+2s, …) and then bisecting, until a stretch of ≤ 1s
//     holds it; read that stretch.
//  4. Read forward from the end found (AFTER_SEQUENCE_NUMBER) until a
//     record after To, the tip or the end of a closed shard: any record in
//     range the probes missed moves the end there.
//
// The cost is O(log(gap)) probes (gap = the shorter of To minus the last
// arrival and the last minus the first arrival; at most about 70
// GetShardIterator+GetRecords pairs for a day-long window) plus about one second of the
// shard's data, whatever the length of the range: the range itself is never
// read twice. A closed shard needs nothing special: its reads end (no next
// iterator) after its last record. Nothing depends on a record arriving
// after To.
//
// callTimeout bounds each GetShardIterator (but AT_TIMESTAMP probes, see
// probeTimeout) and GetRecords call; 0 = DefaultCallTimeout.
func FindEnd(ctx context.Context, kin KinesisReader, stream, shard string, rng Range, callTimeout time.Duration) (lease.ReplayEnd, error) {
	f := &finder{kin: kin, stream: stream, shard: shard, to: rng.To, callTimeout: callTimeout}
	end := lease.ReplayEnd{From: rng.From, To: rng.To}
	first, err := f.first(ctx, rng.From)
	if err != nil {
		return end, err
	}
	if first == nil && f.timedOut {
		// "Nothing at or after From" came from a timeout: make sure by
		// reading from the oldest record kept.
		err := f.read(ctx, f.input(ktypes.ShardIteratorTypeTrimHorizon, time.Time{}, ""), 1000, func(r *ktypes.Record) bool {
			if arrival(r).Before(rng.From) {
				return true
			}
			first = r
			return false
		})
		if err != nil {
			return end, err
		}
	}
	if first == nil || arrival(first).After(rng.To) {
		end.Empty = true
		return end, nil
	}
	end.FirstArrival = arrival(first)
	last, err := f.lastFrom(ctx, rng.To)
	if err != nil {
		return end, err
	}
	if last == nil {
		// lo: a record in range arrived at or after it; hi: none did.
		// Gallop from both ends at once (To-1s, First+1s, To-2s,
		// First+2s, …): from To when the shard was busy until To, from
		// First when it went quiet early (a past window, a stopped
		// fleet), then bisect what is left.
		lo, hi := end.FirstArrival, rng.To
		back, fwd := true, true
		for step := bisectDone; (back || fwd) && hi.Sub(lo) > bisectDone; step *= 2 {
			if t := rng.To.Add(-step); back && t.After(lo) && t.Before(hi) {
				ok, err := f.inRangeAtOrAfter(ctx, t)
				if err != nil {
					return end, err
				}
				if ok {
					lo, back = t, false
				} else {
					hi = t
				}
			} else if !rng.To.Add(-step).After(lo) {
				back = false
			}
			if t := end.FirstArrival.Add(step); fwd && t.After(lo) && t.Before(hi) {
				ok, err := f.inRangeAtOrAfter(ctx, t)
				if err != nil {
					return end, err
				}
				if ok {
					lo = t
				} else {
					hi, fwd = t, false
				}
			} else if !end.FirstArrival.Add(step).Before(hi) {
				fwd = false
			}
		}
		for hi.Sub(lo) > bisectDone {
			mid := lo.Add(hi.Sub(lo) / 2)
			ok, err := f.inRangeAtOrAfter(ctx, mid)
			if err != nil {
				return end, err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		if last, err = f.lastFrom(ctx, lo); err != nil {
			return end, err
		}
		if last == nil {
			last = first
		}
	}
	// Whatever the probes concluded, nothing in range follows the end.
	for {
		var next *ktypes.Record
		err := f.read(ctx, f.input(ktypes.ShardIteratorTypeAfterSequenceNumber, time.Time{}, aws.ToString(last.SequenceNumber)), 1000,
			func(r *ktypes.Record) bool {
				if arrival(r).After(rng.To) {
					return false
				}
				next = r
				return true
			})
		if err != nil {
			return end, err
		}
		if next == nil {
			break
		}
		last = next
	}
	end.SequenceNumber = aws.ToString(last.SequenceNumber)
	end.LastArrival = arrival(last)
	// The sub-records of an aggregate share its arrival time, so a range
	// never ends inside one: the end is its last user record. A record
	// that fails the KPL checks is one plain record, as the coordinators
	// deliver it.
	users, _, err := wire.AppendUserRecords(nil, last.Data)
	end.LastSubSequence = int64(len(users)) - 1
	if err != nil || len(users) == 0 {
		end.LastSubSequence = 0
	}
	return end, nil
}

type finder struct {
	kin      KinesisReader
	stream   string
	shard    string
	to       time.Time
	timedOut bool // an AT_TIMESTAMP probe was answered by the timeout
	// callTimeout bounds the other calls (0 = DefaultCallTimeout).
	callTimeout time.Duration
}

func arrival(r *ktypes.Record) time.Time { return aws.ToTime(r.ApproximateArrivalTimestamp) }

func (f *finder) input(typ ktypes.ShardIteratorType, t time.Time, seq string) *kinesis.GetShardIteratorInput {
	in := &kinesis.GetShardIteratorInput{StreamName: &f.stream, ShardId: &f.shard, ShardIteratorType: typ}
	switch typ {
	case ktypes.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(t)
	case ktypes.ShardIteratorTypeAfterSequenceNumber:
		in.StartingSequenceNumber = aws.String(seq)
	}
	return in
}

// inRangeAtOrAfter reports whether the first record at or after t arrived
// at or before To.
func (f *finder) inRangeAtOrAfter(ctx context.Context, t time.Time) (bool, error) {
	r, err := f.first(ctx, t)
	return err == nil && r != nil && !arrival(r).After(f.to), err
}

// first returns the first record that arrived at or after t, or nil when
// none did (the read caught up with the tip or reached a closed shard's
// end).
func (f *finder) first(ctx context.Context, t time.Time) (*ktypes.Record, error) {
	var found *ktypes.Record
	err := f.read(ctx, f.input(ktypes.ShardIteratorTypeAtTimestamp, t, ""), 1, func(r *ktypes.Record) bool {
		found = r
		return false
	})
	return found, err
}

// lastFrom reads forward from AT_TIMESTAMP(t) and returns the last record
// that arrived at or before To (nil if the first one read is after To or
// there is none).
func (f *finder) lastFrom(ctx context.Context, t time.Time) (*ktypes.Record, error) {
	var last *ktypes.Record
	err := f.read(ctx, f.input(ktypes.ShardIteratorTypeAtTimestamp, t, ""), 1000, func(r *ktypes.Record) bool {
		if arrival(r).After(f.to) {
			return false
		}
		last = r
		return true
	})
	return last, err
}

var errProbeTimeout = errors.New("AT_TIMESTAMP iterator not answered in time")

// read visits records from the iterator in until visit returns false, the
// shard ends, or a read returns nothing while at the tip. An AT_TIMESTAMP
// iterator not answered within probeTimeout reads nothing.
func (f *finder) read(ctx context.Context, in *kinesis.GetShardIteratorInput, limit int32, visit func(*ktypes.Record) bool) error {
	var iter *string
	err := f.retry(ctx, func() error {
		if in.ShardIteratorType != ktypes.ShardIteratorTypeAtTimestamp {
			o, err := bounded(ctx, f.callTimeout, func(ctx context.Context) (*kinesis.GetShardIteratorOutput, error) {
				return f.kin.GetShardIterator(ctx, in)
			})
			if err == nil {
				iter = o.ShardIterator
			}
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		o, err := f.kin.GetShardIterator(cctx, in)
		if err != nil && ctx.Err() == nil && cctx.Err() != nil {
			return errProbeTimeout
		}
		if err == nil {
			iter = o.ShardIterator
		}
		return err
	})
	if errors.Is(err, errProbeTimeout) {
		f.timedOut = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("shard %s: %s iterator: %w", f.shard, in.ShardIteratorType, err)
	}
	for iter != nil {
		var o *kinesis.GetRecordsOutput
		err := f.retry(ctx, func() error {
			var err error
			o, err = bounded(ctx, f.callTimeout, func(ctx context.Context) (*kinesis.GetRecordsOutput, error) {
				return f.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(limit)})
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("shard %s: get records: %w", f.shard, err)
		}
		for i := range o.Records {
			if !visit(&o.Records[i]) {
				return nil
			}
		}
		if len(o.Records) == 0 && aws.ToInt64(o.MillisBehindLatest) == 0 {
			return nil // at the tip
		}
		iter = o.NextShardIterator
	}
	return nil // a closed shard, read to its end
}

// retry runs call until it succeeds, retrying throttling and transient
// errors with backoff (a replay competes with live consumers for the
// shard's 5 reads/s); it gives up after 10 attempts or when ctx ends.
func (f *finder) retry(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || ctx.Err() != nil || attempt >= 9 || !retryable(err) {
			return err
		}
		if !backoff.Sleep(ctx, backoff.Exp(attempt, 200*time.Millisecond, 5*time.Second)) {
			return ctx.Err()
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, errProbeTimeout) {
		return false
	}
	var inv *ktypes.InvalidArgumentException
	var nf *ktypes.ResourceNotFoundException
	if errors.As(err, &inv) || errors.As(err, &nf) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient {
		code := ae.ErrorCode()
		return code == "ProvisionedThroughputExceededException" || code == "LimitExceededException" ||
			code == "ThrottlingException" || code == "KMSThrottlingException"
	}
	return true // server faults, connection errors
}
