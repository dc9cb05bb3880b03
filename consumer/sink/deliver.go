package sink

import (
	"context"
	"fmt"
	"github.com/siemstream/siemstream/internal/backoff"
	"time"
)

// RetryPolicy is jittered exponential backoff for transient failures.
type RetryPolicy struct {
	// Initial is the first backoff; zero means 200ms.
	Initial time.Duration
	// Max caps one backoff; zero means 30s.
	Max time.Duration
	// OnRetry, if set, is told about each retry round (for logs and metrics).
	OnRetry func(round, pending int, wait time.Duration, lastErr error)
}

func (p RetryPolicy) backoff(round int) time.Duration {
	initial, maxWait := p.Initial, p.Max
	if initial <= 0 {
		initial = 200 * time.Millisecond
	}
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	return backoff.Exp(round, initial, maxWait)
}

// Stats counts what Deliver did.
type Stats struct {
	Delivered   int
	Rejected    int
	Overwritten int
	Retries     int
}

// Deliver writes docs until each is Delivered or Rejected, retrying only the
// items that failed transiently. It returns early only when ctx ends; then
// the results of undelivered docs stay Retry and the caller must not
// acknowledge them.
func Deliver(ctx context.Context, s Sink, docs []Doc, results []Result, p RetryPolicy) (Stats, error) {
	var st Stats
	idx := make([]int, len(docs))
	for i := range idx {
		idx[i] = i
	}
	var sub []Doc
	var subRes []Result
	for round := 0; ; round++ {
		sub, subRes = sub[:0], subRes[:0]
		for _, i := range idx {
			sub = append(sub, docs[i])
			subRes = append(subRes, Result{})
		}
		err := s.Write(ctx, sub, subRes)
		if err != nil {
			for k := range subRes {
				subRes[k] = Result{Outcome: Retry, Reason: err.Error()}
			}
		}
		next := idx[:0]
		for k, i := range idx {
			results[i] = subRes[k]
			switch subRes[k].Outcome {
			case Delivered:
				st.Delivered++
				if subRes[k].Overwrote {
					st.Overwritten++
				}
			case Rejected:
				st.Rejected++
			default:
				results[i].Outcome = Retry
				next = append(next, i)
			}
		}
		idx = next
		if len(idx) == 0 {
			return st, nil
		}
		st.Retries++
		wait := p.backoff(round)
		if p.OnRetry != nil {
			p.OnRetry(round+1, len(idx), wait, err)
		}
		if !backoff.Sleep(ctx, wait) {
			return st, fmt.Errorf("deliver: %d documents still pending: %w", len(idx), ctx.Err())
		}
	}
}
