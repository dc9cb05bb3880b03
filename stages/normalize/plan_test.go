package normalize_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/geoip"
	"github.com/siemstream/siemstream/stages/ioc"
	"github.com/siemstream/siemstream/stages/normalize"
	"github.com/siemstream/siemstream/stages/useragent"
)

// The output plans must write exactly what the tree path writes. These
// tests run the same records through decode → normalize → useragent →
// encode twice,
// once with plans allowed for every type and once without, and require
// equal Out, Index, ID, status and error for every record.

func allTypes(string) bool { return true }

// runPlanned runs the chain over a copy of events; plan says whether
// normalize may use output plans. It returns the batch and how many events
// a plan wrote.
func runPlanned(t testing.TB, reg *schemas.Registry, events []stages.Event, plan bool, enrich ...stages.Stage) (*stages.Batch, uint64) {
	t.Helper()
	cfg := normalize.Config{Now: func() time.Time { return frozenNow }}
	ua := useragent.New(reg)
	if plan {
		cfg.Plan = allTypes
		if ua != nil {
			cfg.UserAgent = func(b []byte) *normalize.UserAgent { return (*normalize.UserAgent)(ua.Lookup(b)) }
		}
	}
	norm, err := normalize.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := append(stages.Chain{decode.New(reg), norm}, enrich...)
	if ua != nil {
		ch = append(ch, ua)
	}
	ch = append(ch, encode.New())
	b := &stages.Batch{Events: append([]stages.Event(nil), events...)}
	if err := ch.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b, norm.(*normalize.Stage).Stats().Planned
}

// comparePlanned runs both paths and reports every difference; it returns
// how many events a plan wrote.
func comparePlanned(t testing.TB, reg *schemas.Registry, events []stages.Event, enrich ...stages.Stage) uint64 {
	t.Helper()
	tree, _ := runPlanned(t, reg, events, false, enrich...)
	plan, planned := runPlanned(t, reg, events, true, enrich...)
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
// agree on status, error, _index, _id and _source, with and without GeoIP
// and IoC after normalize.
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
		"2 123456789012 eni-1 203.0.113.77 198.51.100.23 1 1 6 1 1 1741953300 1741953360 ACCEPT OK",
		"2 123456789012 eni-1 8.8.8.8 1.1.1.1 1 1 6 1 1 1741953300 1741953360 ACCEPT OK",
	} {
		f.Add(uint8(0), []byte(l))
	}
	f.Add(uint8(1), []byte("210987654321 vpc-1 subnet-1 i-1 eni-1 5 IPv6 fe80::1 fe80::2 - - 1 1 58 1 1 1741910700 1741910760 ACCEPT 0 OK eu-west-1 az - - - - ingress - TransitGateway tgw-1"))
	f.Add(uint8(1), []byte("unknown vpc-1 subnet-1 - eni-1 5 \xc3\x89Pv4 1.1.1.1 2.2.2.2 - - 1 1 6 1 1 1741910700 1741910760 ACCEPT 0 OK - - - - - - - - - -"))
	enrich, _ := enrichStages(f, reg)
	f.Fuzz(func(t *testing.T, kind uint8, line []byte) {
		src := fuzzSources[int(kind)%len(fuzzSources)]
		ev := []stages.Event{{Src: src, Ordinal: 1, Raw: line}}
		comparePlanned(t, reg, ev)
		comparePlanned(t, reg, ev, enrich...)
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
	if n := comparePlanned(t, reg, []stages.Event{{Src: src, Ordinal: 1, Raw: line.Bytes()}}); n != 0 {
		t.Errorf("%d planned, want the tree path", n)
	}
}

// enrichStages builds the GeoIP and IoC stages over the benchmarks'
// generated databases and feed, configured for every type as
// internal/pipeline does.
func enrichStages(t testing.TB, reg *schemas.Registry) ([]stages.Stage, fixture.Enrichment) {
	t.Helper()
	e, err := fixture.WriteEnrichment(t.TempDir(), fixture.EnrichmentOptions{Networks: 20000, Indicators: 100000, Seed: 20250314})
	if err != nil {
		t.Fatal(err)
	}
	gcfg := geoip.DefaultConfig()
	gcfg.Source, gcfg.Entities = e.GeoIP, map[string][]string{}
	icfg := ioc.DefaultConfig()
	icfg.Source, icfg.LogTypes = e.IOC, map[string]ioc.Fields{}
	for _, lt := range reg.Types() {
		if len(lt.Geoip) > 0 {
			gcfg.Entities[lt.Name] = lt.Geoip
		}
		if len(lt.IOCIP)+len(lt.IOCDomain) > 0 {
			icfg.LogTypes[lt.Name] = ioc.Fields{IP: lt.IOCIP, Domain: lt.IOCDomain}
		}
	}
	g, err := geoip.New(gcfg, stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	i, err := ioc.New(icfg, stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []stages.Reloader{g, i} {
		if _, err := r.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return []stages.Stage{g, i}, e
}

// TestPlanEqualsTreeEnriched: with GeoIP and IoC after normalize, planned
// events get their enrichment spliced into Out, byte for byte what the tree
// path writes (generated objects and the golden cases; the feed always
// holds 203.0.113.77 and 198.51.100.23, which some golden records carry).
func TestPlanEqualsTreeEnriched(t *testing.T) {
	reg := loadRegistry(t, t.TempDir())
	enrich, data := enrichStages(t, reg)
	type counts struct{ planned, geo, threat int }
	seen := map[string]*counts{}
	run := func(t *testing.T, typ string, events []stages.Event) {
		c := seen[typ]
		if c == nil {
			c = &counts{}
			seen[typ] = c
		}
		c.planned += int(comparePlanned(t, reg, events, enrich...))
		tree, _ := runPlanned(t, reg, events, false, enrich...)
		for _, e := range tree.Events {
			if bytes.Contains(e.Out, []byte(`"geo":`)) {
				c.geo++
			}
			if bytes.Contains(e.Out, []byte(`"threat":`)) {
				c.threat++
			}
		}
	}
	for _, g := range []string{"vpcflowlogs", "alb"} {
		t.Run("gen/"+g, func(t *testing.T) {
			o, err := fixture.Generate(g, 20250314, 5000)
			if err != nil {
				t.Fatal(err)
			}
			r, err := fixture.Split(reg, o)
			if err != nil {
				t.Fatal(err)
			}
			src := &stages.Source{LogType: r.LogType.Name, Bucket: fixture.Bucket, Key: r.Key, Context: r.Context}
			var events []stages.Event
			for i, rec := range r.Recs {
				events = append(events, stages.Event{Src: src, Ordinal: r.Ordinals[i], Raw: rec})
			}
			run(t, g, events)
		})
	}
	// an address of the feed as an ALB client and as VPC source/destination
	feed, err := os.ReadFile(filepath.Join(data.IOC, "IOC", "TXT", "benchfeed", "bad-hosts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var bad string
	for _, l := range strings.Split(string(feed), "\n") {
		if l != "" && l[0] != '#' && !strings.Contains(l, "/") && !strings.Contains(l, "example") && !strings.HasPrefix(l, "203.") && !strings.HasPrefix(l, "198.") {
			bad = l
			break
		}
	}
	t.Run("feed-hit", func(t *testing.T) {
		albLine := `https 2025-03-14T11:55:02.000811Z app/web/50dc6c495c0c9188 ` + bad + `:61522 10.20.1.45:8443 0.000 0.044 0.000 201 201 1024 348 "POST https://api.example.com:443/v1/orders?x=1 HTTP/1.1" "okhttp/4.12.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/943f017f100becff "Root=1-65f2e4a6-0f1e2d3c4b5a69788796a5b4" "api.example.com" "-" 10 2025-03-14T11:55:01.955000Z "forward" "-" "-" "10.20.1.45:8443" "201" "-" "-"`
		run(t, "alb", []stages.Event{{Src: fuzzSources[2], Ordinal: 1, Raw: []byte(albLine)}})
		vpcLine := "2 123456789012 eni-1 10.0.0.1 " + bad + " 1 443 6 1 40 1741953600 1741953660 ACCEPT OK"
		run(t, "vpcflowlogs", []stages.Event{{Src: fuzzSources[0], Ordinal: 1, Raw: []byte(vpcLine)}})
	})
	for _, name := range goldenCases(t, "normalize", "normalize-split", "normalize-diff") {
		typ := filepath.Base(filepath.Dir(name))
		if typ != "vpcflowlogs" && typ != "alb" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(testdataDir, name)
			key, lt, obj := readCase(t, reg, base)
			run(t, typ, splitObject(t, lt, key, obj, func(*split.RecordError) {}).Events)
		})
	}
	for typ, c := range seen {
		t.Logf("%s: %d planned, %d with geo, %d with threat", typ, c.planned, c.geo, c.threat)
		if c.planned == 0 || c.geo == 0 || c.threat == 0 {
			t.Errorf("%s: the splice paths are not exercised", typ)
		}
	}
}
