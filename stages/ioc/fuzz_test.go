package ioc

import (
	"net/netip"
	"testing"
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
