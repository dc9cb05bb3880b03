package geoip

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/siemstream/siemstream/stages"
)

// lookupMarked gives what LookupString gives, whether it parses the value
// itself or finds it parsed in the marks; an IPv4 address is kept in the
// marks for ioc, nothing else is.
func TestLookupMarkedEqualsLookupString(t *testing.T) {
	db := mustDB(t, 1024)
	for _, s := range []string{"81.2.69.142", "81.2.69.1", "10.1.2.3", "1.128.0.1", "8.8.8.8", "::", "::ffff:81.2.69.142",
		"fe80::1%eth0", "not-an-ip-1", "", "081.2.69.142", "2001:db8::1"} {
		want := db.LookupString(s)
		var m stages.PlanMarks
		for pass := range 2 {
			if got := lookupMarked(db, &m, 3, []byte(s)); got != want {
				t.Errorf("%q pass %d: %+v, LookupString %+v", s, pass, got, want)
			}
		}
		a, err := netip.ParseAddr(s)
		if v4 := err == nil && a.Is4(); (m.IsIPv4 == 1<<3) != v4 || v4 && m.IPv4[3] != uint32(a.As4()[0])<<24|uint32(a.As4()[1])<<16|uint32(a.As4()[2])<<8|uint32(a.As4()[3]) {
			t.Errorf("%q: IsIPv4 %08b IPv4 %08x", s, m.IsIPv4, m.IPv4[3])
		}
	}
}

// The /16s Lookup skips (DB.v4none) are exactly those where no database
// has a network: every address of the test databases' networks (a /8 and
// an /11 among them) is looked up, and random addresses answer the same
// with and without the bitmap.
func TestNoDataSixteens(t *testing.T) {
	db := mustDB(t, 0)
	var sixteens int
	for h := range 1 << 16 {
		if db.v4none[h/64]&(1<<(h%64)) == 0 {
			sixteens++
		}
	}
	// 10/8: 256, 1.128/11: 32, and the /16s of 81.2.69, 89.160.20,
	// 216.160.83, 192.0.2, 198.51.100, 203.0.113
	if want := 256 + 32 + 6; sixteens != want {
		t.Errorf("%d /16s with data, want %d", sixteens, want)
	}
	plain := *db
	plain.v4none = nil
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 300000 {
		u := r.Uint32()
		if i%3 == 0 { // near the networks
			u = []uint32{0x0a000000, 0x01800000, 0x51024500, 0xcb007100}[i%4] ^ (u & 0x00ffffff >> (i % 24))
		}
		a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
		if got, want := db.Lookup(a), plain.Lookup(a); got.Empty() != want.Empty() {
			t.Fatalf("%s: %+v, without the bitmap %+v", a, got, want)
		}
	}
}
