package main

import (
	"bytes"
	"testing"
	"time"
)

// TestBulkBodies: requests are cut at item boundaries, never above size
// (an item larger than size goes alone), and together hold every item
// once, in order.
func TestBulkBodies(t *testing.T) {
	set := &bulkItemSet{}
	for _, n := range []int{10, 20, 5, 30, 10, 1} {
		set.buf = append(set.buf, bytes.Repeat([]byte{byte('a' + len(set.ends))}, n)...)
		set.ends = append(set.ends, len(set.buf))
	}
	for _, c := range []struct {
		size int
		want []int // body lengths
	}{
		{1000, []int{76}},
		{30, []int{30, 5, 30, 11}},
		{35, []int{35, 30, 11}},
		{1, []int{10, 20, 5, 30, 10, 1}},
	} {
		got := set.bodies(c.size)
		var lens []int
		var all []byte
		for _, b := range got {
			lens = append(lens, len(b))
			all = append(all, b...)
		}
		if !bytes.Equal(all, set.buf) {
			t.Errorf("size %d: bodies do not add up to the items", c.size)
		}
		if len(lens) != len(c.want) {
			t.Errorf("size %d: bodies %v, want %v", c.size, lens, c.want)
			continue
		}
		for i := range lens {
			if lens[i] != c.want[i] {
				t.Errorf("size %d: bodies %v, want %v", c.size, lens, c.want)
				break
			}
		}
	}
	if b := (&bulkItemSet{}).bodies(10); len(b) != 0 {
		t.Errorf("no items: %d bodies", len(b))
	}
}

// TestE2EFractions: the sustained rate is judged against OpenSearch alone
// at the same added latency; a run too short for a sustained rate falls
// back to the whole-run rate.
func TestE2EFractions(t *testing.T) {
	e := &e2eResult{events: 10000, docs: 10000, bulkDocs: 10000,
		alone: []aloneResult{
			{delay: 0, best: bulkLevel{clients: 4, took: time.Second}},                          // 10,000 docs/s
			{delay: 100 * time.Millisecond, best: bulkLevel{clients: 8, took: 2 * time.Second}}, // 5,000 docs/s
		}}
	run := e2eRun{e2eVariant: e2eVariant{4, 0}, delivered: 2 * time.Second, searchable: 2 * time.Second, firstSeen: time.Second, firstDocs: 1000}
	if got := run.sustained(e.docs); got != 9000 {
		t.Fatalf("sustained %v, want 9000", got)
	}
	if got := e.fraction(run); got != 0.9 {
		t.Fatalf("fraction %v, want 0.9", got)
	}
	if got := e.wholeFraction(run); got != 0.5 {
		t.Fatalf("whole fraction %v, want 0.5", got)
	}
	slow := e2eRun{e2eVariant: e2eVariant{1, 100 * time.Millisecond}, searchable: 4 * time.Second}
	if got := e.fraction(slow); got != 0.5 {
		t.Fatalf("fraction without a sustained rate %v, want 0.5 (2,500 of 5,000)", got)
	}
	if got := e.fraction(e2eRun{e2eVariant: e2eVariant{1, 50 * time.Millisecond}, searchable: time.Second}); got != 0 {
		t.Fatalf("fraction without a baseline %v, want 0", got)
	}
}

// TestLimitCuts counts the consumer's bulk-concurrency halvings by cause
// from its JSON log, and nothing else.
func TestLimitCuts(t *testing.T) {
	log := `{"level":"info","message":"progress"}
{"level":"warn","error_kind":"bulk_backpressure","bulk_concurrency":4,"cause":"429","message":"bulk concurrency adapted"}
{"level":"warn","error_kind":"bulk_retry","round":1,"message":"documents not accepted yet; retrying"}
{"level":"warn","error_kind":"bulk_backpressure","bulk_concurrency":2,"cause":"429","message":"bulk concurrency adapted"}
{"level":"warn","error_kind":"bulk_backpressure","bulk_concurrency":1,"cause":"latency","message":"bulk concurrency adapted"}
not json "bulk_backpressure"
`
	got := limitCuts(log)
	if len(got) != 2 || got["429"] != 2 || got["latency"] != 1 {
		t.Fatalf("cuts %v, want 429: 2, latency: 1", got)
	}
	if c := cutsCell(got); c != "429: 2, latency: 1" {
		t.Fatalf("cell %q", c)
	}
	if c := cutsCell(limitCuts("")); c != "0" {
		t.Fatalf("cell %q, want 0", c)
	}
}

// TestSumCounter reads one counter's samples out of Prometheus text, every
// label set added, other metrics (and a longer name it prefixes) left out.
func TestSumCounter(t *testing.T) {
	text := []byte(`# HELP siemstream_events_delivered_total Documents OpenSearch acknowledged.
# TYPE siemstream_events_delivered_total counter
siemstream_events_delivered_total{log_type="alb"} 12
siemstream_events_delivered_total{log_type="vpcflowlogs"} 1.0005e+06
siemstream_events_delivered_total_extra 99
siemstream_events_total{log_type="alb"} 7
`)
	if got := sumCounter(text, "siemstream_events_delivered_total"); got != 1000512 {
		t.Fatalf("sum %d, want 1000512", got)
	}
	if got := sumCounter([]byte("siemstream_events_delivered_total 5\n"), "siemstream_events_delivered_total"); got != 5 {
		t.Fatalf("sum without labels %d, want 5", got)
	}
	if got := sumCounter(nil, "x"); got != 0 {
		t.Fatalf("empty text: %d", got)
	}
}

// TestBulkLevelRate: the OpenSearch-alone rate is timed like the end-to-end
// sustained rate, from the first acknowledgement to the last, and falls
// back to the whole time when the first request was the only one.
func TestBulkLevelRate(t *testing.T) {
	l := bulkLevel{took: 3 * time.Second, first: time.Second, firstDocs: 1000}
	if got := l.rate(11000); got != 5000 {
		t.Fatalf("rate %v, want 5000 (10,000 docs in 2 s)", got)
	}
	one := bulkLevel{took: 2 * time.Second, first: 2 * time.Second, firstDocs: 1000}
	if got := one.rate(1000); got != 500 {
		t.Fatalf("one request: rate %v, want 500", got)
	}
	if got := (bulkLevel{took: time.Second}).rate(100); got != 100 {
		t.Fatalf("no first: rate %v, want 100", got)
	}
}
