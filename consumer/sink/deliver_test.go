package sink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// refusingSink answers each item with the status and reason its script
// gives for the item's round, then delivers it.
type refusingSink struct {
	refuseRounds int
	status       int
	reason       string
	round        int
}

func (s *refusingSink) Write(_ context.Context, docs []Doc, results []Result) error {
	s.round++
	for i := range docs {
		if s.round <= s.refuseRounds {
			results[i] = Result{Outcome: classify(s.status), Status: s.status, Reason: s.reason}
			continue
		}
		results[i] = Result{Outcome: Delivered, Status: 201}
	}
	return nil
}

func (s *refusingSink) Close() error { return nil }

// TestDeliverReportsPendingItems: when the request went through but items
// were refused, OnRetry gets a *PendingError with the index, status and
// reason; a 403 security_exception is worded as a missing permission, and
// its documents are retried until delivered, never rejected.
func TestDeliverReportsPendingItems(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		status       int
		wantPerm     bool
		want         []string
	}{
		{"permission", "security_exception: no permissions for [indices:data/write/index] and User [name=w, backend_roles=[], requestedTenant=null]", 403, true,
			[]string{"missing OpenSearch permission on index log-aws-x: HTTP 403 security_exception", "no permissions for [indices:data/write/index]", "User [name=w", "2 documents kept and retried"}},
		{"block", "cluster_block_exception: index [log-aws-x] blocked by: [FORBIDDEN/8/index write (api)]", 403, false,
			[]string{"2 documents not accepted yet", "index log-aws-x: HTTP 403 cluster_block_exception"}},
		{"throttled", "es_rejected_execution_exception: rejected execution", 429, false,
			[]string{"index log-aws-x: HTTP 429 es_rejected_execution_exception"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &refusingSink{refuseRounds: 3, status: tc.status, reason: tc.reason}
			docs := []Doc{{Index: "log-aws-x"}, {Index: "log-aws-x"}}
			res := make([]Result, len(docs))
			var errs []error
			st, err := Deliver(context.Background(), s, docs, res, RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond,
				OnRetry: func(_, _ int, _ time.Duration, err error) { errs = append(errs, err) }})
			if err != nil {
				t.Fatal(err)
			}
			if st.Delivered != 2 || st.Rejected != 0 || len(errs) != 3 {
				t.Fatalf("stats %+v, %d retry reports; want 2 delivered after 3 retries", st, len(errs))
			}
			var pe *PendingError
			if !errors.As(errs[0], &pe) {
				t.Fatalf("OnRetry error %T %v, want *PendingError", errs[0], errs[0])
			}
			if pe.MissingPermission() != tc.wantPerm {
				t.Errorf("MissingPermission() = %v, want %v", pe.MissingPermission(), tc.wantPerm)
			}
			for _, w := range tc.want {
				if !strings.Contains(pe.Error(), w) {
					t.Errorf("%q lacks %q", pe.Error(), w)
				}
			}
		})
	}
}

func (*refusingSink) Health(context.Context) error { return nil }
