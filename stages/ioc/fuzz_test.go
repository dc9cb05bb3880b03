package ioc

import (
	"net/netip"
	"testing"

	"github.com/siemstream/siemstream/internal/ipparse"
)

func FuzzAddFeedIoC(f *testing.F) {
	f.Add([]byte("1.2.3.4\n10.0.0.0/8\n2001:db8::/32\nevil.example.com\n# c\n"), []byte(stixBundle))
	f.Add([]byte("::ffff:1.2.3.4/120\n0.0.0.0/0\n::/0\n"), []byte(`{"id":"x","objects":[{"pattern":"[url:value = 'http://[::1]:80/\\'x']"}]}`))
	f.Fuzz(func(t *testing.T, txt, stix []byte) {
		b := NewBuilder(0)
		AddBuiltIn(b)
		AddTXT(b, File{Key: "IOC/TXT/p/f.txt", Data: txt})
		_, _ = AddSTIX2(b, File{Key: "IOC/STIX2/p/f.json", Data: stix})
		db := b.Build()
		for _, a := range []string{"1.2.3.4", "172.104.242.173", "2400::1", "255.255.255.255", "::ffff:1.2.3.4"} {
			db.MatchIP(nil, netip.MustParseAddr(a))
		}
		db.MatchDomain(nil, "evil.example.com")
	})
}

// FuzzValueParseIP: an address GeoIP parsed for a marked value
// (stages.PlanMarks.Addr, by ipparse.Addr) gives Enrich exactly what
// ParseIP of the text gives.
func FuzzValueParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::", "::1", "fe80::1%eth0", "fe80::1%", "::ffff:1.2.3.4", "1.2.3.04", "2001:DB8::1", "x1.2.3.4", "1.2.3.4 ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ipparse.Addr(s)
		if err != nil {
			a = netip.Addr{}
		}
		v := Value{Value: s, ip: a, ipKnown: true}
		got, gotOK := v.parseIP()
		want, wantOK := ParseIP(s)
		if gotOK != wantOK || gotOK && got != want {
			t.Fatalf("%q: shared parse %v %v, ParseIP %v %v", s, got, gotOK, want, wantOK)
		}
	})
}
