package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/smithy-go"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
)

// Loader loads one object into the stream; *producer.Producer is one. A
// nil error means the object is done with (see Outcome for how).
type Loader interface {
	LoadObject(ctx context.Context, o notify.Object) (producer.ObjectResult, error)
}

// permanentCodes are S3 errors no retry can fix.
var permanentCodes = map[string]string{
	"NoSuchKey":          "object does not exist",
	"NoSuchBucket":       "bucket does not exist",
	"AccessDenied":       "access denied",
	"InvalidObjectState": "object is archived (Glacier/Deep Archive): restore it first",
}

// permanent returns a short explanation when err cannot be fixed by a retry.
func permanent(err error) (string, bool) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if why, ok := permanentCodes[ae.ErrorCode()]; ok {
			return why, true
		}
	}
	return "", false
}

// retryPolicy is how often a failed load is tried again.
type retryPolicy struct {
	retries int
	backoff time.Duration
}

// loadResult is one object's load after retries.
type loadResult struct {
	res producer.ObjectResult
	// failure is empty when the object is done; else the reason for the
	// error log.
	failure  string
	err      error
	attempts int
}

// load runs LoadObject with retries. work is the context of the load itself
// (not cancelled by a graceful stop, so an in-flight object finishes); stop
// ends retrying.
func load(work, stop context.Context, l Loader, o notify.Object, rp retryPolicy, log zerolog.Logger) loadResult {
	var lr loadResult
	wait := rp.backoff
	for {
		lr.attempts++
		lr.res, lr.err = l.LoadObject(work, o)
		if lr.err == nil {
			break
		}
		if why, ok := permanent(lr.err); ok {
			lr.failure = why + ": " + lr.err.Error()
			return lr
		}
		if lr.attempts > rp.retries || stop.Err() != nil || work.Err() != nil {
			break
		}
		log.Warn().Err(lr.err).Str("error_kind", "object_load").Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", lr.res.LogType).Int("attempt", lr.attempts).
			Dur("retry_in", wait).Msg("load failed; retrying")
		if !backoff.Sleep(stop, wait) {
			break
		}
		wait *= 2
	}
	switch {
	case lr.err != nil:
		lr.failure = fmt.Sprintf("failed after %d attempt(s): %v", lr.attempts, lr.err)
	case lr.res.Outcome == producer.Corrupt:
		lr.failure = fmt.Sprintf("corrupt object, quarantined (%d records before the damage were loaded): %s", lr.res.Records, lr.res.Reason)
	case lr.res.Outcome == producer.Rejected:
		lr.failure = "rejected, quarantined: " + lr.res.Reason
	}
	return lr
}
