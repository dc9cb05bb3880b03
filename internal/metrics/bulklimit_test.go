package metrics

import (
	"strings"
	"testing"

	"github.com/siemstream/siemstream/consumer"
)

var _ consumer.BulkLimitObserver = (*ConsumerObserver)(nil)

// TestBulkLimitMetrics: the gauge follows the limit and every halving is
// counted by its cause, on /metrics.
func TestBulkLimitMetrics(t *testing.T) {
	m := New(Build{})
	c := m.Consumer(nil)
	for _, ch := range []struct {
		limit int
		cause string
	}{{8, ""}, {4, consumer.Cause429}, {2, consumer.Cause429}, {1, consumer.CauseLatency}, {2, consumer.CauseRecovered}, {1, consumer.CauseFailure}, {2, consumer.CauseRecovered}, {3, consumer.CauseRecovered}} {
		c.BulkLimit(ch.limit, ch.cause)
	}
	code, body := get(t, serve(t, m, nil)+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"siemstream_bulk_concurrency_limit 3\n",
		`siemstream_bulk_concurrency_decreases_total{outcome="429"} 2` + "\n",
		`siemstream_bulk_concurrency_decreases_total{outcome="latency"} 1` + "\n",
		`siemstream_bulk_concurrency_decreases_total{outcome="failure"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `outcome="recovered"`) || strings.Contains(body, `decreases_total{outcome=""}`) {
		t.Errorf("a growth or the start counted as a decrease:\n%s", body)
	}
}
