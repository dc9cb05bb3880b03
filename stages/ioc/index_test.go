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
			t.Fatalf("round %d: %d prefixes and no bucket index", round, len(db.v4.nets))
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
		for _, n := range db.v4.nets {
			probe(n.start)
			probe(n.end)
			probe(n.start - 1)
			probe(n.end + 1)
		}
		for range 20000 {
			probe(r.Uint32())
		}
	}
}

// enrich with a memo of addresses that matched nothing answers what Enrich
// answers, over a stream where addresses repeat and share memo slots.
func TestEnrichMemoEqualsEnrich(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	b := NewBuilder(0)
	m := b.Meta(Indicator{Provider: "p", Type: TypeIPv4, Name: "n"})
	for range 2000 {
		u := 0x2c000000 | r.Uint32()&0x0003ffff // 44.0.0.0/14
		a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
		b.AddPrefix(netip.PrefixFrom(a, 24+r.IntN(9)).Masked(), m)
	}
	db := b.Build()
	memo := &v4memo{db: db}
	var pool []string
	for range 600 {
		u := 0x2c000000 | r.Uint32()&0x0003ffff
		pool = append(pool, netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}).String())
	}
	pool = append(pool, "10.0.0.1", "::ffff:44.0.0.1", "2400::1", "not an address")
	for range 20000 {
		ips := []Value{{Value: pool[r.IntN(len(pool))], Fields: []string{"source.ip"}}}
		got, _ := db.enrich(ips, nil, nil, memo)
		want, _ := db.Enrich(ips, nil, nil)
		if (got == nil) != (want == nil) || got != nil && len(got.Enrichments) != len(want.Enrichments) {
			t.Fatalf("%s: with memo %+v, without %+v", ips[0].Value, got, want)
		}
	}
}
