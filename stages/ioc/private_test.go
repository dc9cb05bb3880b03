package ioc

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// isPrivateRef is IsPrivate with netip.Prefix.Contains for IPv4 too (the
// implementation before the mask table).
func isPrivateRef(addr netip.Addr) bool {
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	tbl := privateV6
	if addr.Is4() {
		tbl = privateV4
	}
	for _, p := range tbl {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func TestIsPrivateMatchesPrefixes(t *testing.T) {
	check := func(a netip.Addr) {
		if got, want := IsPrivate(a), isPrivateRef(a); got != want {
			t.Fatalf("IsPrivate(%s) = %v, prefixes say %v", a, got, want)
		}
		m := netip.AddrFrom16(a.As16())
		if got, want := IsPrivate(m), isPrivateRef(m); got != want {
			t.Fatalf("IsPrivate(%s) = %v, prefixes say %v", m, got, want)
		}
	}
	for _, p := range privateV4 {
		a := p.Masked().Addr()
		check(a)
		check(a.Prev())
		b := a.As4()
		hi := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | (^uint32(0) >> p.Bits())
		end := netip.AddrFrom4([4]byte{byte(hi >> 24), byte(hi >> 16), byte(hi >> 8), byte(hi)})
		check(end)
		check(end.Next())
	}
	r := rand.New(rand.NewPCG(16, 30))
	for range 200000 {
		u := r.Uint32()
		check(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}))
	}
}
