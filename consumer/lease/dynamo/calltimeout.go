package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errNotAnswered marks a Kinesis call given up after
// KinesisCallTimeoutMillis (the server accepted it and never answered). It
// is a transient error: the caller's usual retry and backoff apply.
var errNotAnswered = errors.New("kinesis call not answered in time")

// bounded runs one Kinesis call with at most d to answer. A call cut by
// that deadline (ctx itself still live) returns an error wrapping
// errNotAnswered; a ctx that ends returns the call's own error.
func bounded[T any](ctx context.Context, d time.Duration, call func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	o, err := call(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return o, fmt.Errorf("%w (%s): %w", errNotAnswered, d, err)
	}
	return o, err
}

// callTimeout bounds one Kinesis call other than AT_TIMESTAMP
// GetShardIterator (AtTimestampTimeoutMillis).
func (c Config) callTimeout() time.Duration { return ms(c.KinesisCallTimeoutMillis) }

// syncErrorKind is the error_kind of a failed shard sync: kinesis_timeout
// for a ListShards page not answered in time, else shard_sync.
func syncErrorKind(err error) string {
	if errors.Is(err, errNotAnswered) {
		return "kinesis_timeout"
	}
	return "shard_sync"
}
