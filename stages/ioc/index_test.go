package ioc

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The /16 bucket index of table4 finds what the plain binary search finds,
// for prefixes of every length anywhere in the address space (the first and
// last /16 included).
func TestTable4BucketsEqualSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		b := NewBuilder(0)
		m := b.Meta(Indicator{Provider: "p", Type: TypeIPv4})
		n := bucketMin + r.IntN(3000)
		for range n {
			var u uint32
			switch r.IntN(4) {
			case 0:
				u = r.Uint32() & 0x0003ffff // near 0.0.0.0
			case 1:
				u = r.Uint32() | 0xfffc0000 // near 255.255.255.255
			default:
				u = r.Uint32()
			}
			bits := r.IntN(33)
			if r.IntN(50) > 0 {
				bits = 8 + r.IntN(25) // few short ones: they swallow the rest
			}
			if round%2 == 0 {
				bits = 16 + r.IntN(17) // nested and short prefixes alike
			}
			a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
			b.AddPrefix(netip.PrefixFrom(a, bits).Masked(), m)
		}
		db := b.Build()
		if db.v4.first == nil {
			t.Fatalf("round %d: %d prefixes and no bucket index", round, len(db.v4.start))
		}
		plain := db.v4
		plain.first = nil
		probe := func(x uint32) {
			if got, want := db.v4.find(x), plain.find(x); got != want {
				t.Fatalf("round %d: find(%08x) = %d, binary search %d", round, x, got, want)
			}
		}
		for _, x := range []uint32{0, 1, 0xffff, 0x10000, 0xfffeffff, 0xffff0000, 0xffffffff} {
			probe(x)
		}
		for i := range db.v4.start {
			probe(db.v4.start[i])
			probe(db.v4.end[i])
			probe(db.v4.start[i] - 1)
			probe(db.v4.end[i] + 1)
		}
		for range 20000 {
			probe(r.Uint32())
		}
	}
}
