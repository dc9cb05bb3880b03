package geoip

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// A working set well inside the cache stays cached: the bucket must depend
// on every byte of the address (a hash whose bucket bits ignored the low
// bytes once kept four IPv4 entries in all).
func TestCacheKeepsWorkingSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var addrs []netip.Addr
	for i := range 3000 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		u := r.Uint32()
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}))
		addrs = append(addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i), 14: byte(i >> 8)}))
	}
	c := newCache(1 << 16)
	for _, a := range addrs {
		c.put(a, &Result{})
	}
	miss := 0
	for _, a := range addrs {
		if r, ok := c.get(a); !ok || r == nil {
			miss++
		}
	}
	if miss > len(addrs)/100 {
		t.Fatalf("%d of %d addresses missing from a cache of %d entries", miss, len(addrs), 1<<16)
	}
}
