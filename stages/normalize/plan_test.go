package normalize_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/siemstream/siemstream/stages/useragent"
)

// The output plans must write exactly what the tree path writes. These
// tests run the same records through decode → normalize → useragent →
// encode three times: without plans, with plans allowed for every type
// reading decode's trees, and with plans reading decode's flat records
// (decode.Config.Flat, as stages/chain runs them), and require equal Out,
// Index, ID, status and error for every record.

func allTypes(string) bool { return true }

// runPlanned runs the chain over a copy of events; plan says whether
// normalize may use output plans, flat whether decode leaves their records
// flat. It returns the batch and how many events a plan wrote.
func runPlanned(t testing.TB, reg *schemas.Registry, events []stages.Event, plan, flat bool, em enrichMode) (*stages.Batch, uint64) {
	t.Helper()
	cfg := normalize.Config{Now: func() time.Time { return frozenNow }}
	deps := stages.Deps{Registry: reg}
	uc := useragent.DefaultConfig()
	uc.Fields = map[string]string{}
	for _, lt := range reg.Types() {
		if lt.UserAgentEnrichmentField != "" {
			uc.Fields[lt.Name] = lt.UserAgentEnrichmentField
		}
	}
	ua, err := useragent.New(uc, deps)
	if err != nil {
		t.Fatal(err)
	}
	if plan {
		cfg.Plan = allTypes
		cfg.UserAgent = func(b []byte) *normalize.UserAgent { return (*normalize.UserAgent)(ua.Lookup(b)) }
		cfg.GeoIP, cfg.IOC = em.geoIP != "", em.ioc != ""
	}
	norm, err := normalize.New(cfg, deps)
	dc := decode.DefaultConfig()
	if plan && flat {
		dc.Flat = allTypes
	}
	dec, err2 := decode.New(dc, deps)
	enc, err3 := encode.New(encode.DefaultConfig(), deps)
	if err := errors.Join(err, err2, err3); err != nil {
		t.Fatal(err)
	}
	ch := stages.Chain{dec, norm}
	ch = append(ch, enrichChain(t, reg, em)...)
	ch = append(ch, ua, enc)
	b := &stages.Batch{Events: append([]stages.Event(nil), events...)}
	if err := ch.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b, norm.Stats().Planned
}

// comparePlanned runs both paths, with the enrichment stages of em, and
// reports every difference; it returns how many events a plan wrote and how
// many planned documents got geo and threat members.
func comparePlanned(t testing.TB, reg *schemas.Registry, events []stages.Event, em enrichMode) (planned, geo, threat int) {
	planned, geo, threat, _ = comparePlannedBig(t, reg, events, em)
	return planned, geo, threat
}

// comparePlannedBig is comparePlanned that also counts the planned
// documents with threat whose Out may hold a string the truncation rule
// cuts (re-encoded through a tree).
func comparePlannedBig(t testing.TB, reg *schemas.Registry, events []stages.Event, em enrichMode) (planned, geo, threat, bigThreat int) {
	t.Helper()
	tree, _ := runPlanned(t, reg, events, false, false, em)
	plan, _ := runPlanned(t, reg, events, true, false, em)
	flat, n := runPlanned(t, reg, events, true, true, em)
	for i := range tree.Events {
		a := &tree.Events[i]
		for _, b := range []*stages.Event{&plan.Events[i], &flat.Events[i]} {
			way := "plans"
			if b == &flat.Events[i] {
				way = "flat plans"
			}
			if a.Status != b.Status || fmt.Sprint(a.Err) != fmt.Sprint(b.Err) {
				t.Errorf("%s: record %d: status %v err %v, with %s %v err %v", em.name, a.Ordinal, a.Status, a.Err, way, b.Status, b.Err)
				continue
			}
			if a.Index != b.Index || a.ID != b.ID {
				t.Errorf("%s: record %d: _index %q _id %q, with %s %q %q", em.name, a.Ordinal, a.Index, a.ID, way, b.Index, b.ID)
			}
			if !bytes.Equal(a.Out, b.Out) {
				t.Errorf("%s: record %d (%q):\ntree %s\n%s %s", em.name, a.Ordinal, a.Raw, a.Out, way, b.Out)
			}
			if b.Flat != nil {
				t.Errorf("%s: record %d: a flat record after normalize", em.name, a.Ordinal)
			}
		}
		if b := &flat.Events[i]; b.Marks != nil {
			if b.Marks.Stale && !em.parsed && !em.big {
				t.Errorf("%s: record %d: enriched through a parsed tree, not its marks", em.name, a.Ordinal)
			}
			if bytes.Contains(b.Out, []byte(`"geo":`)) || bytes.Contains(b.Out, []byte(`"as":`)) {
				geo++
			}
			if bytes.Contains(b.Out, []byte(`"threat":`)) {
				threat++
			}
			if b.Marks.Big && bytes.Contains(b.Out, []byte(`"threat":`)) {
				bigThreat++ // Out re-encoded through a tree with threat, not cut
			}
		}
	}
	return int(n), geo, threat, bigThreat
}

func TestPlanEqualsTreeGoldens(t *testing.T) {
	modes := append([]enrichMode{offMode}, enrichModes(t, t.TempDir())...)
	planned := map[string]int{}
	var geo, threat int
	for _, name := range goldenCases(t, "normalize", "normalize-split", "normalize-diff") {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(testdataDir, name)
			reg := loadRegistry(t, filepath.Dir(base))
			key, lt, obj := readCase(t, reg, base)
			b := splitObject(t, lt, key, obj, func(*split.RecordError) {})
			for _, em := range modes {
				n, g, th := comparePlanned(t, reg, b.Events, em)
				t.Logf("%s: %d of %d records planned, %d with geo, %d with threat", em.name, n, len(b.Events), g, th)
				planned[em.name] += n
				geo, threat = geo+g, threat+th
			}
		})
	}
	for _, em := range modes {
		if planned[em.name] == 0 {
			t.Errorf("%s: no golden record took a plan", em.name)
		}
	}
	if geo == 0 || threat == 0 {
		t.Errorf("planned golden records enriched: %d with geo, %d with threat; want some of each", geo, threat)
	}
}

func TestPlanEqualsTreeGenerated(t *testing.T) {
	reg := loadRegistry(t, t.TempDir())
	modes := append([]enrichMode{offMode}, enrichModes(t, t.TempDir())...)
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
			if nf, nk := flatDecoded(t, reg, events); (g == "vpcflowlogs" || g == "alb") && nf < nk*9/10 {
				t.Errorf("%s: %d of %d decoded records flat, want nearly all", g, nf, nk)
			}
			for _, em := range modes {
				n, geo, threat, bigThreat := comparePlannedBig(t, reg, events, em)
				t.Logf("%s: %d of %d records planned, %d with geo, %d with threat", em.name, n, len(events), geo, threat)
				if g != "vpcflowlogs" && g != "alb" {
					continue
				}
				if n == 0 {
					t.Errorf("%s: %s: no record took a plan", em.name, g)
				}
				// (the fixture's feed matches a minority of the generators'
				// records, the wide one many)
				if em.geoIP != "" && geo == 0 || em.name != "fixture" && em.ioc != "" && threat == 0 {
					t.Errorf("%s: %s: %d planned documents with geo, %d with threat; want some of each", em.name, g, geo, threat)
				}
				if em.big && g == "alb" && bigThreat == 0 {
					t.Errorf("%s: %s: no planned document with a long string got threat", em.name, g)
				}
			}
		})
	}
}

// flatDecoded runs decode with flat records over events and counts the
// flat and the kept records.
func flatDecoded(t testing.TB, reg *schemas.Registry, events []stages.Event) (flat, kept int) {
	dec, err := decode.New(decode.Config{Flat: allTypes}, stages.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	b := &stages.Batch{Events: append([]stages.Event(nil), events...)}
	if err := (stages.Chain{dec}).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Events {
		if e.Status == stages.Keep {
			kept++
			if e.Flat != nil {
				flat++
			}
		}
	}
	b.Reset()
	return flat, kept
}

// fuzzSources are the objects FuzzPlanEqualsTree puts its line into: a VPC
// Flow Logs object with the default and with a custom header, an ALB
// object.
var fuzzSources = []*stages.Source{
	{LogType: "vpcflowlogs", Bucket: bucket,
		Key:     "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_20250314T1155Z_5f3e2a1b.log.gz",
		Context: []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")},
	{LogType: "vpcflowlogs", Bucket: bucket,
		Key:     "AWSLogs/210987654321/vpcflowlogs/eu-west-1/2025/03/14/x.log.gz",
		Context: []byte("account-id vpc-id subnet-id instance-id interface-id version type srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol packets bytes start end action tcp-flags log-status region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path resource-type tgw-id\n")},
	{LogType: "alb", Bucket: bucket,
		Key: "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_20250314T1155Z_10.20.1.25_1ab2c3d4.log.gz"},
}

// FuzzPlanEqualsTree: whatever the line, the plan path and the tree path
// agree on status, error, _index, _id and _source.
func FuzzPlanEqualsTree(f *testing.F) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []string{"normalize/vpcflowlogs/default-v2", "normalize/vpcflowlogs/custom-v5", "normalize-split/vpcflowlogs/imperfect"} {
		obj, _ := os.ReadFile(filepath.Join(testdataDir, c+".log"))
		lines := bytes.Split(obj, []byte("\n"))
		for _, l := range lines[1:] {
			f.Add(uint8(0), l)
			f.Add(uint8(1), l)
		}
	}
	for _, c := range []string{"normalize/alb/web-prod", "normalize-split/alb/imperfect"} {
		obj, _ := os.ReadFile(filepath.Join(testdataDir, c+".log"))
		for _, l := range bytes.Split(obj, []byte("\n")) {
			f.Add(uint8(2), l)
		}
	}
	for _, l := range []string{
		"2 123456789012 eni-0c1d2e3f4a5b6c7d8 - - - - - - - 1741953300 1741953360 - NODATA",
		"2 123456789012 eni-0c1d2e3f4a5b6c7d8 - - - - - - - 1741953300 1741953360 - SKIPDATA",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 99999999999999999999999 1 6 1 1 1741953300 99999999999999999999999 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 1 6 1 1 1741953300 1741953360 \"AC\\CEPT\" OK",
		"2 123456789012 eni-\xff\xfe 10.0.0.1 10.0.0.2 1 1 17 1 1 1741953300 1741953360 REJECT \x01OK\x7f",
		"2 123456789012 eni-1 10.0.0.01 ::1 1 1 47 1 1 1741953300 1741953360 ACCEPT OK extra fields here",
		"2 123456789012 eni-1 10.0.0.1",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 1 6 1 1 1741953300 -1 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 1 6 1 1 1741953300 1e3 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 1 6 1 1 1741953300 null ACCEPT OK",
	} {
		f.Add(uint8(0), []byte(l))
	}
	f.Add(uint8(1), []byte("210987654321 vpc-1 subnet-1 i-1 eni-1 5 IPv6 fe80::1 fe80::2 - - 1 1 58 1 1 1741910700 1741910760 ACCEPT 0 OK eu-west-1 az - - - - ingress - TransitGateway tgw-1"))
	f.Add(uint8(1), []byte("unknown vpc-1 subnet-1 - eni-1 5 \xc3\x89Pv4 1.1.1.1 2.2.2.2 - - 1 1 6 1 1 1741910700 1741910760 ACCEPT 0 OK - - - - - - - - - -"))
	modes := append([]enrichMode{offMode}, enrichModes(f, f.TempDir())...)
	f.Fuzz(func(t *testing.T, kind uint8, line []byte) {
		src := fuzzSources[int(kind)%len(fuzzSources)]
		for _, em := range modes {
			comparePlanned(t, reg, []stages.Event{{Src: src, Ordinal: 1, Raw: line}}, em)
		}
	})
}

// TestPlanWideHeader: a CSV header with more keys than a plan holds takes
// the tree path (and still equals it).
func TestPlanWideHeader(t *testing.T) {
	reg := loadRegistry(t, t.TempDir())
	var hdr, line bytes.Buffer
	hdr.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	line.WriteString("2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1741953600 1741953660 ACCEPT OK")
	for i := range 6000 { // more keys than a plan holds, the line still short
		fmt.Fprintf(&hdr, " x%d", i)
		line.WriteString(" 1")
	}
	src := &stages.Source{LogType: "vpcflowlogs", Bucket: bucket, Key: fuzzSources[0].Key, Context: hdr.Bytes()}
	if n, _, _ := comparePlanned(t, reg, []stages.Event{{Src: src, Ordinal: 1, Raw: line.Bytes()}}, offMode); n != 0 {
		t.Errorf("%d planned, want the tree path", n)
	}
}
