package chain_test

import (
	"bytes"
	"context"
	"log/slog"
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
		for _, ev := range b.Events {
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
