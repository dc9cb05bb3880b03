package producer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/producer/pack"
)

// PutRecords limits (per request).
const (
	maxPutEntries = 500
	maxPutBytes   = 5 << 20
)

// putter batches entries into PutRecords calls and retries failed entries
// only, with jittered backoff, until every entry is accepted or ctx ends.
type putter struct {
	ctx     context.Context
	p       *Producer
	log     zerolog.Logger
	batcher *pack.Batcher
	entries int
	reqs    []ktypes.PutRecordsRequestEntry
}

func newPutter(ctx context.Context, p *Producer, log zerolog.Logger) *putter {
	b, err := pack.NewBatcher(maxPutEntries, maxPutBytes)
	if err != nil {
		panic(err) // constants above are valid
	}
	return &putter{ctx: ctx, p: p, log: log, batcher: b}
}

// add is the packer's emit callback.
func (u *putter) add(e pack.Entry) error {
	if ready := u.batcher.Add(e); ready != nil {
		return u.put(ready)
	}
	return nil
}

func (u *putter) flush() error {
	if ready := u.batcher.Flush(); len(ready) > 0 {
		return u.put(ready)
	}
	return nil
}

func (u *putter) put(entries []pack.Entry) error {
	u.reqs = u.reqs[:0]
	for i := range entries {
		u.reqs = append(u.reqs, ktypes.PutRecordsRequestEntry{
			Data: entries[i].Data, PartitionKey: aws.String(entries[i].PartitionKey),
			ExplicitHashKey: aws.String(entries[i].ExplicitHashKey),
		})
	}
	pending := u.reqs
	for attempt := 0; ; attempt++ {
		out, err := u.putOnce(pending)
		var failed []ktypes.PutRecordsRequestEntry
		code := ""
		switch {
		case errors.Is(err, errPutNotAnswered):
			// Logged once per call: the debug line below is rate-limited.
			u.log.Warn().Err(err).Str("error_kind", "kinesis_timeout").Int("entries", len(pending)).Int("attempt", attempt+1).Msg("PutRecords not answered in time; sending the entries again")
			failed, code = pending, err.Error()
		case err != nil:
			if !retryablePutError(err) {
				return fmt.Errorf("put %d records to %s: %w", len(pending), u.p.cfg.Stream, err)
			}
			failed, code = pending, err.Error()
		default:
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					failed = append(failed, pending[i])
					code = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
				}
			}
		}
		u.entries += len(pending) - len(failed)
		if len(failed) == 0 {
			return nil
		}
		wait := putBackoff(attempt, u.p.cfg.PutRetryMax)
		ev := u.log.Debug()
		if attempt > 0 && attempt%5 == 0 {
			ev = u.log.Warn()
		}
		ev.Int("failed", len(failed)).Int("attempt", attempt+1).Str("error", code).Dur("backoff", wait).Msg("PutRecords entries not accepted; retrying those only")
		if !backoff.Sleep(u.ctx, wait) {
			return fmt.Errorf("put records to %s: %d entries still failing: %w", u.p.cfg.Stream, len(failed), u.ctx.Err())
		}
		pending = failed
	}
}

// errPutNotAnswered marks a PutRecords call given up after PutTimeout.
var errPutNotAnswered = errors.New("PutRecords not answered in time")

// putOnce is one PutRecords call bounded by PutTimeout: a server that
// accepted it and never answers must not hold the worker for good.
func (u *putter) putOnce(pending []ktypes.PutRecordsRequestEntry) (*kinesis.PutRecordsOutput, error) {
	ctx, cancel := context.WithTimeout(u.ctx, u.p.cfg.PutTimeout)
	defer cancel()
	out, err := u.p.kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &u.p.cfg.Stream, Records: pending})
	if err != nil && u.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w (%s): %w", errPutNotAnswered, u.p.cfg.PutTimeout, err)
	}
	return out, err
}

// retryablePutError: throttling and server trouble are retried; validation
// errors (a bug or a misconfigured stream) are not.
func retryablePutError(err error) bool {
	var nf *ktypes.ResourceNotFoundException
	var inv *ktypes.InvalidArgumentException
	if errors.As(err, &nf) || errors.As(err, &inv) {
		return false
	}
	return true
}

func putBackoff(attempt int, maxWait time.Duration) time.Duration {
	return backoff.Exp(attempt, 100*time.Millisecond, maxWait)
}
