package e2e

// Exact delivery accounting in OpenSearch (documents and _version) and the
// fault report built from it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ---- OpenSearch accounting ----

// BucketFilter matches the documents loaded from bucket whether
// @log_s3bucket is mapped as keyword or (dynamic mapping) as text with a
// .keyword sub-field.
func BucketFilter(bucket string) map[string]any {
	return map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
		map[string]any{"term": map[string]any{"@log_s3bucket": bucket}},
		map[string]any{"term": map[string]any{"@log_s3bucket.keyword": bucket}},
	}}}
}

// CountBucket counts the documents of bucket in index (a pattern).
func (s *Stack) CountBucket(ctx context.Context, index, bucket string) (int64, error) {
	return s.Count(ctx, index, BucketFilter(bucket))
}

// Delivery is what OpenSearch holds for one bucket.
type Delivery struct {
	// Docs is the number of distinct documents.
	Docs int64
	// Duplicated counts documents written more than once (_version > 1):
	// a duplicate delivery made harmless by deterministic _ids.
	Duplicated int64
	// ExtraWrites is the sum of _version-1: index operations beyond the
	// first, i.e. duplicate deliveries of events.
	ExtraWrites int64
	MaxVersion  int64
}

// Deliveries reads the _version of every document of bucket in index
// (scroll, no _source) and sums them up.
func (s *Stack) Deliveries(ctx context.Context, index, bucket string) (Delivery, error) {
	var d Delivery
	if err := s.Refresh(ctx, index); err != nil {
		return d, err
	}
	body := map[string]any{"size": 10000, "version": true, "_source": false, "sort": []string{"_doc"}, "query": BucketFilter(bucket)}
	b, err := s.do(ctx, http.MethodPost, "/"+index+"/_search?scroll=1m&ignore_unavailable=true&allow_no_indices=true", body)
	for {
		if err != nil {
			return d, err
		}
		var r struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					Version int64 `json:"_version"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return d, fmt.Errorf("scroll response: %w", err)
		}
		if len(r.Hits.Hits) == 0 {
			if r.ScrollID != "" {
				_, _ = s.do(ctx, http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": r.ScrollID})
			}
			return d, nil
		}
		for _, h := range r.Hits.Hits {
			d.Docs++
			if h.Version > 1 {
				d.Duplicated++
				d.ExtraWrites += h.Version - 1
			}
			d.MaxVersion = max(d.MaxVersion, h.Version)
		}
		b, err = s.do(ctx, http.MethodPost, "/_search/scroll", map[string]any{"scroll": "1m", "scroll_id": r.ScrollID})
	}
}

// WaitIndexed waits until index holds exactly want documents of bucket and
// returns how long that took. It fails at once if there are more (an _id
// that should not exist).
func (s *Stack) WaitIndexed(ctx context.Context, index, bucket string, want int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var got int64
	err := WaitFor(ctx, timeout, func() (bool, error) {
		n, err := s.CountBucket(ctx, index, bucket)
		if err != nil {
			return false, nil // OpenSearch may be paused or busy: keep polling
		}
		got = n
		if n > want {
			return false, fmt.Errorf("%d documents of %s in %s, more than the %d events loaded", n, bucket, index, want)
		}
		return n == want, nil
	})
	if err != nil {
		return time.Since(start), fmt.Errorf("indexed %d of %d: %w", got, want, err)
	}
	return time.Since(start), nil
}

// ---- fault report ----

// FaultReport is the one line a fault test logs (fixed format, grep FAULT).
type FaultReport struct {
	Fault       string
	Coordinator string
	In          int64 // events loaded
	Indexed     int64 // distinct documents at the end
	Delivery    Delivery
	// Resent is the events sent to Kinesis more than once by producers
	// (stream events - loaded events): duplicates that are expected.
	Resent int64
	// Bound is the most consumer-side duplicate deliveries the fault can
	// explain (in-flight, un-checkpointed work); -1 = not computed.
	Bound    int64
	Recovery time.Duration
	Extra    string
}

// ConsumerDuplicates is the duplicate deliveries not explained by producer
// re-sends.
func (r FaultReport) ConsumerDuplicates() int64 { return r.Delivery.ExtraWrites - r.Resent }

func (r FaultReport) String() string {
	bound := "n/a"
	if r.Bound >= 0 {
		bound = strconv.FormatInt(r.Bound, 10)
	}
	s := fmt.Sprintf("FAULT %s: coordinator=%s in=%d indexed=%d lost=%d duplicates=%d extra_writes=%d resent=%d consumer_dups=%d bound=%s recovery=%s",
		r.Fault, r.Coordinator, r.In, r.Indexed, r.In-r.Indexed, r.Delivery.Duplicated, r.Delivery.ExtraWrites, r.Resent,
		r.ConsumerDuplicates(), bound, r.Recovery.Round(10*time.Millisecond))
	if r.Extra != "" {
		s += " " + r.Extra
	}
	return s
}
