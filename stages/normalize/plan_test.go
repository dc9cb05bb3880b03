package normalize_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/normalize"
)

// The output plans must write exactly what the tree path writes. These
// tests run the same records through decode → normalize → encode twice,
// once with plans allowed for every type and once without, and require
// equal Out, Index, ID, status and error for every record.

func allTypes(string) bool { return true }

// runPlanned runs the chain over a copy of events; plan says whether
// normalize may use output plans. It returns the batch and how many events
// a plan wrote.
func runPlanned(t testing.TB, reg *schemas.Registry, events []stages.Event, plan bool) (*stages.Batch, uint64) {
	t.Helper()
	cfg := normalize.Config{Now: func() time.Time { return frozenNow }}
	if plan {
		cfg.Plan = allTypes
	}
	norm, err := normalize.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := &stages.Batch{Events: append([]stages.Event(nil), events...)}
	if err := (stages.Chain{decode.New(reg), norm, encode.New()}).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b, norm.(*normalize.Stage).Stats().Planned
}

// comparePlanned runs both paths and reports every difference; it returns
// how many events a plan wrote.
func comparePlanned(t testing.TB, reg *schemas.Registry, events []stages.Event) uint64 {
	t.Helper()
	tree, _ := runPlanned(t, reg, events, false)
	plan, planned := runPlanned(t, reg, events, true)
	for i := range tree.Events {
		a, b := &tree.Events[i], &plan.Events[i]
		if a.Status != b.Status || fmt.Sprint(a.Err) != fmt.Sprint(b.Err) {
			t.Errorf("record %d: status %v err %v, with plans %v err %v", a.Ordinal, a.Status, a.Err, b.Status, b.Err)
			continue
		}
		if a.Index != b.Index || a.ID != b.ID {
			t.Errorf("record %d: _index %q _id %q, with plans %q %q", a.Ordinal, a.Index, a.ID, b.Index, b.ID)
		}
		if !bytes.Equal(a.Out, b.Out) {
			t.Errorf("record %d (%q):\ntree %s\nplan %s", a.Ordinal, a.Raw, a.Out, b.Out)
		}
	}
	return planned
}

func TestPlanEqualsTreeGoldens(t *testing.T) {
	var planned uint64
	for _, name := range goldenCases(t, "normalize", "normalize-split", "normalize-diff") {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(testdataDir, name)
			reg := loadRegistry(t, filepath.Dir(base))
			key, lt, obj := readCase(t, reg, base)
			b := splitObject(t, lt, key, obj, func(*split.RecordError) {})
			n := comparePlanned(t, reg, b.Events)
			t.Logf("%d of %d records planned", n, len(b.Events))
			planned += n
		})
	}
	if planned == 0 {
		t.Error("no golden record took a plan")
	}
}

func TestPlanEqualsTreeGenerated(t *testing.T) {
	reg := loadRegistry(t, t.TempDir())
	for _, g := range gen.Types() {
		t.Run(g, func(t *testing.T) {
			o, err := fixture.Generate(g, 20250314, 3000)
			if err != nil {
				t.Fatal(err)
			}
			r, err := fixture.Split(reg, o)
			if err != nil {
				t.Skip(err)
			}
			src := &stages.Source{LogType: r.LogType.Name, Bucket: fixture.Bucket, Key: r.Key, Context: r.Context}
			var events []stages.Event
			for i, rec := range r.Recs {
				events = append(events, stages.Event{Src: src, Ordinal: r.Ordinals[i], Raw: rec})
			}
			n := comparePlanned(t, reg, events)
			t.Logf("%d of %d records planned", n, len(events))
			if (g == "vpcflowlogs" || g == "alb") && n == 0 {
				t.Errorf("%s: no record took a plan", g)
			}
		})
	}
}
