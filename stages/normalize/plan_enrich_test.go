package normalize_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/geoip"
	"github.com/siemstream/siemstream/stages/ioc"
)

// enrichMode is one configuration of the GeoIP and IoC stages for the
// differential tests: the plan path (marks) and the tree path must give
// the same documents with them too.
type enrichMode struct {
	name       string
	geoIP, ioc string // data directories ("" = stage off)
	// parsed configures the stages with one entity and one field more than
	// the plans mark, so they take their parse-and-re-encode path.
	parsed bool
	// big: the GeoIP data has strings the truncation rule cuts, which the
	// stages handle through a parsed tree too
	big bool
}

var offMode = enrichMode{name: "off"}

// wideEnrichment writes GeoIP databases that cover most of the address
// space with awkward values (non-ASCII, quotes, control characters, "-",
// "null", "", missing location parts, ASN without number or name) and an
// IoC feed of wide prefixes and domains, so fuzzed and golden records hit.
// big adds city names long enough for encode's truncation rule: in
// 1.0.0.0/8 one that is cut only in a document that grows past the rule's
// size, in 52.0.0.0/8 one that makes any document that size.
func wideEnrichment(dir string, big bool) (geoDir, iocDir string, err error) {
	geoDir, iocDir = filepath.Join(dir, "geoip"), filepath.Join(dir, "ioc")
	if err := os.MkdirAll(geoDir, 0o755); err != nil {
		return "", "", err
	}
	city, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 28, IncludeReservedNetworks: true, Description: map[string]string{"en": "plan test"}})
	if err != nil {
		return "", "", err
	}
	asn, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 28, IncludeReservedNetworks: true, Description: map[string]string{"en": "plan test"}})
	if err != nil {
		return "", "", err
	}
	names := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
	loc := func(lat, lon *float64) mmdbtype.Map {
		m := mmdbtype.Map{}
		if lat != nil {
			m["latitude"] = mmdbtype.Float64(*lat)
		}
		if lon != nil {
			m["longitude"] = mmdbtype.Float64(*lon)
		}
		return m
	}
	f := func(v float64) *float64 { return &v }
	cities := []struct {
		net              string
		city, iso, cntry string
		lat, lon         *float64
		asNum            *uint64
		asOrg            string
		noCity, noASN    bool
	}{
		{net: "0.0.0.0/2", city: "Zürich", iso: "CH", cntry: `Switzer"land\`, lat: f(47.3769), lon: f(8.5417), asNum: ptr(uint64(64512)), asOrg: "Example \x01 Org"},
		{net: "64.0.0.0/2", city: "-", cntry: "null", lat: f(-0.5), asOrg: ""},
		{net: "128.0.0.0/2", noCity: true, asNum: ptr(uint64(4294967295)), asOrg: "-"},
		{net: "192.0.0.0/2", city: "", cntry: "Japan", noASN: true},
		{net: "2600::/12", city: "東京", lon: f(139.0), asNum: ptr(uint64(1)), asOrg: "v6 net"},
	}
	if big {
		cities = append(cities,
			struct {
				net              string
				city, iso, cntry string
				lat, lon         *float64
				asNum            *uint64
				asOrg            string
				noCity, noASN    bool
			}{net: "1.0.0.0/8", city: strings.Repeat("x", 40000), iso: "XX", cntry: "Big"},
			struct {
				net              string
				city, iso, cntry string
				lat, lon         *float64
				asNum            *uint64
				asOrg            string
				noCity, noASN    bool
			}{net: "52.0.0.0/8", city: strings.Repeat("y", 70000), cntry: "Bigger", asOrg: strings.Repeat("z", 33000)})
	}
	for _, c := range cities {
		_, n, err := net.ParseCIDR(c.net)
		if err != nil {
			return "", "", err
		}
		if !c.noCity {
			v := mmdbtype.Map{"city": mmdbtype.Map{"names": names(c.city)},
				"country": mmdbtype.Map{"iso_code": mmdbtype.String(c.iso), "names": names(c.cntry)}}
			if c.lat != nil || c.lon != nil {
				v["location"] = loc(c.lat, c.lon)
			}
			if err := city.Insert(n, v); err != nil {
				return "", "", err
			}
		}
		if !c.noASN {
			v := mmdbtype.Map{"autonomous_system_organization": mmdbtype.String(c.asOrg)}
			if c.asNum != nil {
				v["autonomous_system_number"] = mmdbtype.Uint32(*c.asNum)
			}
			if err := asn.Insert(n, v); err != nil {
				return "", "", err
			}
		}
	}
	for name, tree := range map[string]*mmdbwriter.Tree{"GeoLite2-City.mmdb": city, "GeoLite2-ASN.mmdb": asn} {
		out, err := os.Create(filepath.Join(geoDir, name))
		if err != nil {
			return "", "", err
		}
		w := bufio.NewWriter(out)
		if _, err := tree.WriteTo(w); err != nil {
			out.Close()
			return "", "", err
		}
		if err := w.Flush(); err != nil {
			out.Close()
			return "", "", err
		}
		if err := out.Close(); err != nil {
			return "", "", err
		}
	}
	feed := filepath.Join(iocDir, "IOC", "TXT", "wide", "feed.txt")
	if err := os.MkdirAll(filepath.Dir(feed), 0o755); err != nil {
		return "", "", err
	}
	lines := "1.0.0.0/8\n52.0.0.0/6\n198.51.100.0/24\n203.0.113.0/24\n8.8.8.8\n2600::/12\n34.0.0.0/8\nexample.com\n"
	if err := os.WriteFile(feed, []byte(lines), 0o644); err != nil {
		return "", "", err
	}
	return geoDir, iocDir, nil
}

func ptr[T any](v T) *T { return &v }

// enrichModes returns the modes a differential test runs besides "off":
// the bench fixture's data (realistic hit rates) and the wide data, the
// latter also through the stages' parse path.
func enrichModes(t testing.TB, dir string) []enrichMode {
	t.Helper()
	fix, err := fixture.WriteEnrichment(filepath.Join(dir, "fixture"), fixture.EnrichmentOptions{Networks: 2000, Indicators: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	geo, iocDir, err := wideEnrichment(filepath.Join(dir, "wide"), false)
	if err != nil {
		t.Fatal(err)
	}
	bigGeo, bigIOC, err := wideEnrichment(filepath.Join(dir, "big"), true)
	if err != nil {
		t.Fatal(err)
	}
	return []enrichMode{
		{name: "fixture", geoIP: fix.GeoIP, ioc: fix.IOC},
		{name: "wide", geoIP: geo, ioc: iocDir},
		{name: "wide-parsed", geoIP: geo, ioc: iocDir, parsed: true},
		{name: "big", geoIP: bigGeo, ioc: bigIOC, big: true},
	}
}

// enrichStages builds (once per mode and registry) the GeoIP and IoC
// stages of a mode, configured from the registry as stages/chain does.
var enrichStages = struct {
	sync.Mutex
	m map[string][2]stages.Stage
}{m: map[string][2]stages.Stage{}}

func enrichChain(t testing.TB, reg *schemas.Registry, em enrichMode) []stages.Stage {
	t.Helper()
	if em.geoIP == "" && em.ioc == "" {
		return nil
	}
	key := fmt.Sprintf("%p %s %s %v", reg, em.geoIP, em.ioc, em.parsed)
	enrichStages.Lock()
	defer enrichStages.Unlock()
	if st, ok := enrichStages.m[key]; ok {
		return st[:]
	}
	deps := stages.Deps{Registry: reg}
	gc := geoip.DefaultConfig()
	gc.Source, gc.Entities = em.geoIP, map[string][]string{}
	ic := ioc.DefaultConfig()
	ic.Source, ic.LogTypes = em.ioc, map[string]ioc.Fields{}
	for _, lt := range reg.Types() {
		if len(lt.Geoip) > 0 {
			gc.Entities[lt.Name] = append([]string(nil), lt.Geoip...)
			if em.parsed {
				gc.Entities[lt.Name] = append(gc.Entities[lt.Name], "client")
			}
		}
		if len(lt.IOCIP)+len(lt.IOCDomain) > 0 {
			f := ioc.Fields{IP: append([]string(nil), lt.IOCIP...), Domain: lt.IOCDomain}
			if em.parsed {
				f.IP = append(f.IP, "client.ip")
			}
			ic.LogTypes[lt.Name] = f
		}
	}
	g, err := geoip.New(gc, deps)
	if err != nil {
		t.Fatal(err)
	}
	i, err := ioc.New(ic, deps)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []stages.Reloader{g, i} {
		if _, err := r.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	enrichStages.m[key] = [2]stages.Stage{g, i}
	return []stages.Stage{g, i}
}
