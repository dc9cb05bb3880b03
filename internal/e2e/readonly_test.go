package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/consumer/sink"
)

// TestReadOnlyIndices: documents for an index that cannot be written
// (write block, closed) land in <index>_01, or the first _NN that can be,
// as es-loader writes them; an index that becomes read-only while the sink
// runs is noticed from the item errors. Nothing is dead-lettered, nothing
// is retried forever.
func TestReadOnlyIndices(t *testing.T) {
	_, s := stackOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := "log-rotest-" + randID()
	blocked, closed, later := base+"-blocked", base+"-closed", base+"-later"
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.Do(cctx, http.MethodDelete, "/"+base+"-*?expand_wildcards=all", nil)
	})
	must := func(method, path string, body any) {
		t.Helper()
		if _, err := s.Do(ctx, method, path, body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	doc := map[string]any{"@timestamp": "2025-03-14T12:00:00Z", "message": "seed"}
	// blocked and blocked_01 take no writes: documents go to blocked_02.
	for _, ix := range []string{blocked, blocked + "_01"} {
		must(http.MethodPut, "/"+ix+"/_doc/seed?refresh=true", doc)
		must(http.MethodPut, "/"+ix+"/_settings", map[string]any{"index.blocks.write": true})
	}
	must(http.MethodPut, "/"+closed+"/_doc/seed?refresh=true", doc)
	must(http.MethodPost, "/"+closed+"/_close", nil)

	cfg := sink.DefaultOpenSearchConfig()
	cfg.URLs = []string{s.OpenSearch}
	os, err := sink.NewOpenSearch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(docs []sink.Doc) sink.Stats {
		t.Helper()
		res := make([]sink.Result, len(docs))
		st, err := sink.Deliver(ctx, os, docs, res, sink.RetryPolicy{Initial: 100 * time.Millisecond, Max: time.Second})
		if err != nil {
			t.Fatalf("deliver: %v (results %+v)", err, res)
		}
		for i, r := range res {
			if r.Outcome != sink.Delivered {
				t.Errorf("doc %d (%s): %s %s", i, docs[i].Index, r.Outcome, r.Reason)
			}
		}
		return st
	}
	body := func(i int) []byte { return fmt.Appendf(nil, `{"@timestamp":"2025-03-14T12:00:00Z","n":%d}`, i) }
	deliver([]sink.Doc{
		{Index: blocked, ID: "a1", Body: body(1)},
		{Index: blocked, ID: "a2", Body: body(2)},
		{Index: closed, ID: "b1", Body: body(3)},
		{Index: later, ID: "c1", Body: body(4)},
	})
	// The index turns read-only while the sink runs (an ISM read_only step).
	must(http.MethodPut, "/"+later+"/_settings", map[string]any{"index.blocks.write": true})
	st := deliver([]sink.Doc{{Index: later, ID: "c2", Body: body(5)}})
	if st.Retries == 0 {
		t.Errorf("the write block appeared after the sink's first look, yet no retry: %+v", st)
	}

	must(http.MethodPost, "/"+base+"-*/_refresh?ignore_unavailable=true", nil)
	out, err := s.Do(ctx, http.MethodGet, "/_cat/indices/"+base+"-*?format=json&h=index,docs.count,status&expand_wildcards=all", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	gjson.ParseBytes(out).ForEach(func(_, v gjson.Result) bool {
		got[v.Get("index").String()] = v.Get(`docs\.count`).String() + "/" + v.Get("status").String()
		return true
	})
	want := map[string]string{
		blocked: "1/open", blocked + "_01": "1/open", blocked + "_02": "2/open",
		closed: "/close", closed + "_01": "1/open",
		later: "1/open", later + "_01": "1/open",
	}
	for ix, w := range want {
		if got[ix] != w {
			t.Errorf("%s: docs/status %q, want %q", ix, got[ix], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("indices %v, want %v", got, want)
	}
	t.Logf("indices after the writes: %v (retries for the index blocked meanwhile: %d)", got, st.Retries)
}
