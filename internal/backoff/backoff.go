// Package backoff is the waiting every retry loop of siemstream shares:
// jittered exponential delays, and a sleep that ends with its context.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Exp is base doubled per attempt (attempt 0 waits about base), capped at
// max, drawn uniformly from [d/2, d] so that a fleet of workers does not
// retry in lockstep.
func Exp(attempt int, base, max time.Duration) time.Duration {
	d := base << min(attempt, 32)
	if d > max || d <= 0 {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx is done; false means ctx is done.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
