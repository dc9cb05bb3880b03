package normalize

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"testing"
	"time"

	"unicode/utf8"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/useragent"
)

// idEvents returns generated ALB and VPC Flow Logs records interleaved
// (a window then holds two objects), with some lines changed so that
// hashIDs must leave them to runPlan: invalid UTF-8, padding to strip.
func idEvents(t *testing.T, reg *schemas.Registry) []stages.Event {
	t.Helper()
	var per [][]stages.Event
	for _, g := range []string{"alb", "vpcflowlogs"} {
		o, err := fixture.Generate(g, 20250314, 500)
		if err != nil {
			t.Fatal(err)
		}
		r, err := fixture.Split(reg, o)
		if err != nil {
			t.Fatal(err)
		}
		src := &stages.Source{LogType: r.LogType.Name, Bucket: fixture.Bucket, Key: r.Key, Context: r.Context}
		var evs []stages.Event
		for i, rec := range r.Recs {
			switch i % 37 {
			case 5:
				rec = append(append([]byte(" \t"), rec...), "  "...)
			case 9:
				rec = append(bytes.Clone(rec), 0xff)
			}
			evs = append(evs, stages.Event{Src: src, Ordinal: r.Ordinals[i], Raw: rec})
		}
		per = append(per, evs)
	}
	var out []stages.Event
	for i := 0; i < len(per[0]) || i < len(per[1]); i += 7 {
		for _, evs := range per {
			out = append(out, evs[min(i, len(evs)):min(i+7, len(evs))]...)
		}
	}
	return out
}

// planConfig allows plans for every type, with the user-agent stage ua
// after normalize.
func planConfig(t *testing.T, reg *schemas.Registry) (Config, *useragent.Stage) {
	t.Helper()
	uc := useragent.DefaultConfig()
	uc.Fields = map[string]string{}
	for _, lt := range reg.Types() {
		if lt.UserAgentEnrichmentField != "" {
			uc.Fields[lt.Name] = lt.UserAgentEnrichmentField
		}
	}
	ua, err := useragent.New(uc, stages.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Now:       func() time.Time { return time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC) },
		Plan:      func(string) bool { return true },
		UserAgent: func(b []byte) *UserAgent { return (*UserAgent)(ua.Lookup(b)) },
	}, ua
}

// runIDs runs decode (flat records) → normalize (plans) → useragent → encode over a
// copy of events; slowID turns idPre off.
func runIDs(t *testing.T, reg *schemas.Registry, events []stages.Event, slowID bool) (*stages.Batch, Stats) {
	t.Helper()
	deps := stages.Deps{Registry: reg}
	all := func(string) bool { return true }
	dec, err := decode.New(decode.Config{Flat: all}, deps)
	cfg, ua := planConfig(t, reg)
	norm, err2 := New(cfg, deps)
	enc, err3 := encode.New(encode.DefaultConfig(), deps)
	if err := errors.Join(err, err2, err3); err != nil {
		t.Fatal(err)
	}
	norm.slowID = slowID
	b := &stages.Batch{Events: append([]stages.Event(nil), events...)}
	if err := (stages.Chain{dec, norm, ua, enc}).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b, norm.Stats()
}

// TestIDPreEqualsPerRecord: the _id (and everything else) of planned
// records is the same with the window's md5s computed up front (md5x) as
// with runPlan hashing each record. Run it with -tags purego for
// md5x's crypto/md5 fallback.
func TestIDPreEqualsPerRecord(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	events := idEvents(t, reg)
	fast, fs := runIDs(t, reg, events, false)
	ref, rs := runIDs(t, reg, events, true)
	if fs != rs || fs.Planned < uint64(len(events))/2 {
		t.Fatalf("stats %+v, slowID %+v; want equal, most of %d records planned", fs, rs, len(events))
	}
	for i := range fast.Events {
		f, s := &fast.Events[i], &ref.Events[i]
		if f.Status != s.Status || f.ID != s.ID || f.Index != s.Index || !bytes.Equal(f.Out, s.Out) {
			t.Fatalf("record %q:\n got %v %s %s %s\nwant %v %s %s %s", events[i].Raw, f.Status, f.Index, f.ID, f.Out, s.Status, s.Index, s.ID, s.Out)
		}
	}
}

// TestHashIDs: hashIDs takes the planned records whose @message is a
// sub-slice of the record, with message's bytes and their md5, and leaves
// the others to runPlan.
func TestHashIDs(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deps := stages.Deps{Registry: reg}
	dec, err := decode.New(decode.Config{Flat: func(string) bool { return true }}, deps)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := planConfig(t, reg)
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	events := idEvents(t, reg)[:100]
	b := &stages.Batch{Events: events, Arena: new(stages.Arena)}
	if err := dec.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	sc := &scratch{}
	s.hashIDs(sc, b)
	if len(sc.pre.at) != len(events) {
		t.Fatalf("%d entries for %d events", len(sc.pre.at), len(events))
	}
	took := 0
	for i := range events {
		e := &events[i]
		k := sc.pre.at[i]
		sc.via = viaMeta{&noEnvelope}
		s.loadSource(sc, e.Src)
		want, err := message(sc, sc.si.lt, e)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case k < 0 && e.Status == stages.Keep && bytes.Equal(want, e.Raw) && utf8.Valid(e.Raw):
			t.Errorf("record %d (%q) left to runPlan", i, e.Raw)
		case k < 0:
		case !bytes.Equal(sc.pre.msg[k], want):
			t.Errorf("record %d: @message %q, want %q", i, sc.pre.msg[k], want)
		case sc.pre.sum[k] != md5.Sum(want):
			t.Errorf("record %d: md5 %x, want %x", i, sc.pre.sum[k], md5.Sum(want))
		default:
			took++
			if !utf8.Valid(e.Raw) {
				t.Errorf("record %d (%q): taken, not valid UTF-8", i, e.Raw)
			}
		}
	}
	if took < len(events)*3/4 {
		t.Errorf("%d of %d records taken", took, len(events))
	}
}
