package sink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/backoff"
)

// RetryPolicy is jittered exponential backoff for transient failures.
type RetryPolicy struct {
	// Initial is the first backoff; zero means 200ms.
	Initial time.Duration
	// Max caps one backoff; zero means 30s.
	Max time.Duration
	// OnRetry, if set, is told about each retry round (for logs and metrics).
	// lastErr is the request's error, or, when the request went through but
	// some items did not, a *PendingError describing the first of them.
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
			if err == nil {
				err = pendingError(docs, results, idx)
			}
			p.OnRetry(round+1, len(idx), wait, err)
		}
		if !backoff.Sleep(ctx, wait) {
			return st, fmt.Errorf("deliver: %d documents still pending: %w", len(idx), ctx.Err())
		}
	}
}

// PendingError says why documents the target answered for are retried: the
// first pending item's index, status and the target's error type and
// reason. A 403 security_exception (the user's role lacks a permission on
// the index) gets its own stable wording, because only an administrator can
// clear it and the operator must see which permission and index it names:
// the documents are kept and retried until it is granted, never dropped.
type PendingError struct {
	Index   string
	Status  int
	Reason  string // "type: reason" as the target wrote it
	Pending int
}

// MissingPermission reports whether the target refused the documents for
// lack of a permission (OpenSearch security plugin / fine-grained access
// control), as opposed to a block, overload or conflict.
func (e *PendingError) MissingPermission() bool {
	return e.Status == 403 && strings.HasPrefix(e.Reason, "security_exception")
}

func (e *PendingError) Error() string {
	if e.MissingPermission() {
		return fmt.Sprintf("missing OpenSearch permission on index %s: HTTP 403 %s; %d documents kept and retried until an administrator grants it",
			e.Index, e.Reason, e.Pending)
	}
	return fmt.Sprintf("%d documents not accepted yet; first: index %s: HTTP %d %s", e.Pending, e.Index, e.Status, e.Reason)
}

// pendingError describes the pending items idx, preferring a permission
// refusal (the one that needs a human) over transient ones.
func pendingError(docs []Doc, results []Result, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	first := idx[0]
	for _, i := range idx {
		if results[i].Status == 403 && strings.HasPrefix(results[i].Reason, "security_exception") {
			first = i
			break
		}
	}
	return &PendingError{Index: docs[first].Index, Status: results[first].Status, Reason: results[first].Reason, Pending: len(idx)}
}
