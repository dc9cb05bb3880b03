package chain_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/chain"
)

// TestPlansAndEnrichment: normalize's output plans leave Event.Doc nil;
// with GeoIP and IoC configured, VPC documents are still enriched (through
// the marks the plans record), and without, they come out exactly the same
// minus the enrichment.
func TestPlansAndEnrichment(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := fixture.WriteEnrichment(t.TempDir(), fixture.EnrichmentOptions{Networks: 2000, Indicators: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o, err := fixture.Generate("vpcflowlogs", 1, 2000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fixture.Split(reg, o)
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts chain.Config) (docs [][]byte, enriched int) {
		for _, ev := range runChain(t, reg, r, opts) {
			if bytes.Contains(ev.Out, []byte(`"geo":`)) {
				enriched++
			}
			docs = append(docs, ev.Out)
		}
		return docs, enriched
	}
	plain, n := run(chain.Config{})
	if n != 0 {
		t.Fatalf("%d documents enriched without GeoIP", n)
	}
	rich, n := run(chain.Config{GeoIP: e.GeoIP, IOC: e.IOC})
	if n == 0 {
		t.Fatal("no document enriched with GeoIP on")
	}
	same := 0
	for i := range plain {
		if bytes.Equal(plain[i], rich[i]) {
			same++
		}
	}
	t.Logf("%d of %d documents enriched; %d unchanged by enrichment", n, len(rich), same)
	if same == 0 {
		t.Error("every document changed with enrichment on")
	}
}

// TestFlatRecordsAndExclusion: decode leaves planned types' records flat
// only when no exclusion stage reads their trees in between, so CSV rules
// still drop what they match, and the documents kept are the same.
func TestFlatRecordsAndExclusion(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "exclude_log_patterns.csv")
	if err := os.WriteFile(csv, []byte("log_type,field,pattern,pattern_type,comment\nvpcflowlogs,dstport,4.*,regex,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := fixture.Generate("vpcflowlogs", 2, 2000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fixture.Split(reg, o)
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts chain.Config) []stages.Event { return runChain(t, reg, r, opts) }
	all, excl, own := run(chain.Config{}), run(chain.Config{ExcludeCSV: csv}), run(chain.Config{OwnLogExclusion: true})
	dropped := 0
	for i := range all {
		a, e, o := &all[i], &excl[i], &own[i]
		if a.Status != stages.Keep || o.Status != stages.Keep || !bytes.Equal(a.Out, o.Out) {
			t.Fatalf("record %d: %v %v / own-log exclusion %v %v: %s\n%s", a.Ordinal, a.Status, a.Err, o.Status, o.Err, a.Out, o.Out)
		}
		if a.Flat != nil || e.Flat != nil || o.Flat != nil {
			t.Fatalf("record %d: flat after the chain", a.Ordinal)
		}
		if e.Status == stages.Dropped {
			dropped++
			if !bytes.Contains(a.Out, []byte(`"dstport":"4`)) {
				t.Errorf("record %d dropped: %s", a.Ordinal, a.Out)
			}
			continue
		}
		if bytes.Contains(a.Out, []byte(`"dstport":"4`)) || !bytes.Equal(a.Out, e.Out) {
			t.Errorf("record %d: kept by the exclusion rule (%v): %s\n%s", a.Ordinal, e.Status, a.Out, e.Out)
		}
	}
	if dropped == 0 {
		t.Error("the exclusion rule dropped nothing")
	}
	t.Logf("%d of %d records dropped", dropped, len(all))
}

// runChain runs the split object's records through a chain built with
// opts (clock fixed at fixture.T0) and returns the processed events.
func runChain(t *testing.T, reg *schemas.Registry, r *fixture.Records, opts chain.Config) []stages.Event {
	t.Helper()
	opts.Now = func() time.Time { return fixture.T0 }
	p, err := chain.New(context.Background(), opts, chain.Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ch, _ := p.Stages()
	src := &stages.Source{LogType: r.LogType.Name, Bucket: fixture.Bucket, Key: r.Key, Context: r.Context}
	b := &stages.Batch{}
	for i, rec := range r.Recs {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: r.Ordinals[i], Raw: rec})
	}
	if err := ch.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Events
}
