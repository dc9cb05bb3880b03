package ioc

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Indicator is one feed row, es-loader's `ipaddress`/`domain` table row.
// Empty strings are absent keys in the output.
type Indicator struct {
	Provider    string
	Type        string // ipv4-addr, ipv6-addr or domain-name
	Name        string
	Reference   string
	FirstSeen   string
	LastSeen    string
	ModifiedAt  string
	Description string
}

// Indicator types, as es-loader writes them.
const (
	TypeIPv4   = "ipv4-addr"
	TypeIPv6   = "ipv6-addr"
	TypeDomain = "domain-name"
)

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func u128From(a netip.Addr) u128 {
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

// lastOf returns the last address of the prefix starting at s with bits
// prefix length (0..128).
func lastOf(s u128, bits int) u128 {
	switch {
	case bits >= 128:
		return s
	case bits >= 64:
		return u128{s.hi, s.lo | (^uint64(0) >> (bits - 64))}
	case bits == 0:
		return u128{^uint64(0), ^uint64(0)}
	default:
		return u128{s.hi | (^uint64(0) >> bits), ^uint64(0)}
	}
}

// rawEntry is one indicator before the index is built.
type rawEntry struct {
	start u128 // IPv4: lo holds the address
	bits  uint8
	v6    bool
	prov  uint32
	meta  uint32
	seq   uint32
}

// Builder collects indicators and builds a DB. Indicators of the same
// provider with the same value (prefix or domain) are de-duplicated: the
// first one added wins.
type Builder struct {
	metas    []Indicator
	metaProv []uint32
	metaIdx  map[Indicator]uint32
	provIdx  map[string]uint32
	entries  []rawEntry
	domains  map[string][]uint32
	nDomain  int
	seq      uint32
}

// NewBuilder makes an empty builder; sizeHint is the expected number of IP
// indicators.
func NewBuilder(sizeHint int) *Builder {
	return &Builder{
		metaIdx: map[Indicator]uint32{},
		provIdx: map[string]uint32{},
		entries: make([]rawEntry, 0, sizeHint),
		domains: map[string][]uint32{},
	}
}

// Meta interns an indicator description and returns its id.
func (b *Builder) Meta(ind Indicator) uint32 {
	if id, ok := b.metaIdx[ind]; ok {
		return id
	}
	p, ok := b.provIdx[ind.Provider]
	if !ok {
		p = uint32(len(b.provIdx))
		b.provIdx[ind.Provider] = p
	}
	id := uint32(len(b.metas))
	b.metas = append(b.metas, ind)
	b.metaProv = append(b.metaProv, p)
	b.metaIdx[ind] = id
	return id
}

// AddPrefix adds an IP or CIDR indicator (p must be masked).
func (b *Builder) AddPrefix(p netip.Prefix, meta uint32) {
	a := p.Addr()
	e := rawEntry{bits: uint8(p.Bits()), prov: b.metaProv[meta], meta: meta, seq: b.seq}
	b.seq++
	if a.Is4() {
		v := a.As4()
		e.start.lo = uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])
	} else {
		e.start = u128From(a)
		e.v6 = true
	}
	b.entries = append(b.entries, e)
}

// AddDomain adds a domain indicator; d must already be normalised
// (NormalizeDomain).
func (b *Builder) AddDomain(d string, meta uint32) {
	prov := b.metaProv[meta]
	for _, m := range b.domains[d] {
		if b.metaProv[m] == prov {
			return
		}
	}
	b.domains[d] = append(b.domains[d], meta)
	b.nDomain++
}

// Build sorts and indexes what was added. The builder must not be used
// afterwards.
func (b *Builder) Build() *DB {
	es := b.entries
	slices.SortFunc(es, func(x, y rawEntry) int {
		if x.v6 != y.v6 {
			if !x.v6 {
				return -1
			}
			return 1
		}
		if c := x.start.cmp(y.start); c != 0 {
			return c
		}
		// Same start: the wider prefix (smaller bits) first, so a parent
		// precedes its children.
		if c := cmp.Compare(x.bits, y.bits); c != 0 {
			return c
		}
		if c := cmp.Compare(x.prov, y.prov); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	// De-duplicate (family, prefix, provider): the earliest added wins.
	w := 0
	for i := range es {
		if w > 0 {
			p := es[w-1]
			if p.v6 == es[i].v6 && p.start == es[i].start && p.bits == es[i].bits && p.prov == es[i].prov {
				continue
			}
		}
		es[w] = es[i]
		w++
	}
	es = es[:w]
	split := len(es)
	for i := range es {
		if es[i].v6 {
			split = i
			break
		}
	}
	db := &DB{metas: b.metas, domains: b.domains, nIP: len(es), nDomain: b.nDomain}
	db.refs = make([]uint32, 0, len(es))
	db.v4 = buildTable4(es[:split], &db.refs, b.metas)
	db.v6 = buildTable6(es[split:], &db.refs, b.metas)
	b.entries = nil
	return db
}

// sortRefs orders the indicators of one prefix by provider then name.
func sortRefs(refs []uint32, metas []Indicator) {
	slices.SortFunc(refs, func(x, y uint32) int {
		if c := strings.Compare(metas[x].Provider, metas[y].Provider); c != 0 {
			return c
		}
		if c := strings.Compare(metas[x].Name, metas[y].Name); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
}

// table4 holds the distinct IPv4 prefixes sorted by (start asc, end desc).
// CIDR prefixes are laminar (two are nested or disjoint), so the prefixes
// containing an address are the chain of parents of the last prefix that
// starts at or before it.
type table4 struct {
	// nets holds each prefix's start, end and parent together, so that
	// find reads one cache line where three arrays cost three (start and
	// end are only used while building).
	nets       []net4
	start, end []uint32
	parent     []int32
	refOff     []uint32 // refs of prefix i: refs[refOff[i]:refOff[i+1]]
	// first[h] is the first prefix whose start's top 16 bits are >= h
	// (65537 entries; nil for a small table). find searches only the
	// prefixes starting in x's /16, which replaces the ~17 dependent steps
	// of a binary search over 100k prefixes (each a likely cache miss on
	// the hot path) with one or two.
	first []uint32
}

type net4 struct {
	start, end uint32
	parent     int32
}

// bucketMin is the table size from which table4 keeps first: below it the
// binary search stays in a few cache lines anyway.
const bucketMin = 256

type table6 struct {
	start, end []u128
	parent     []int32
	refOff     []uint32
}

func buildTable4(es []rawEntry, refs *[]uint32, metas []Indicator) table4 {
	var t table4
	n := countDistinct(es)
	t.start = make([]uint32, 0, n)
	t.end = make([]uint32, 0, n)
	t.parent = make([]int32, 0, n)
	t.refOff = make([]uint32, 0, n+1)
	var stack []int32
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].start == es[i].start && es[j].bits == es[i].bits {
			j++
		}
		s := uint32(es[i].start.lo)
		e := s | uint32(uint64(1)<<(32-es[i].bits)-1)
		idx := int32(len(t.start))
		for len(stack) > 0 && t.end[stack[len(stack)-1]] < s {
			stack = stack[:len(stack)-1]
		}
		par := int32(-1)
		if len(stack) > 0 {
			par = stack[len(stack)-1]
		}
		t.start = append(t.start, s)
		t.end = append(t.end, e)
		t.parent = append(t.parent, par)
		t.refOff = append(t.refOff, uint32(len(*refs)))
		off := len(*refs)
		for k := i; k < j; k++ {
			*refs = append(*refs, es[k].meta)
		}
		sortRefs((*refs)[off:], metas)
		stack = append(stack, idx)
		i = j
	}
	t.refOff = append(t.refOff, uint32(len(*refs)))
	if len(t.start) >= bucketMin {
		t.first = make([]uint32, 1<<16+1)
		j := 0
		for h := range len(t.first) {
			for j < len(t.start) && int(t.start[j]>>16) < h {
				j++
			}
			t.first[h] = uint32(j)
		}
	}
	t.nets = make([]net4, len(t.start))
	for i := range t.nets {
		t.nets[i] = net4{t.start[i], t.end[i], t.parent[i]}
	}
	t.start, t.end = nil, nil // in nets
	return t
}

func buildTable6(es []rawEntry, refs *[]uint32, metas []Indicator) table6 {
	var t table6
	n := countDistinct(es)
	t.start = make([]u128, 0, n)
	t.end = make([]u128, 0, n)
	t.parent = make([]int32, 0, n)
	t.refOff = make([]uint32, 0, n+1)
	var stack []int32
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].start == es[i].start && es[j].bits == es[i].bits {
			j++
		}
		s := es[i].start
		e := lastOf(s, int(es[i].bits))
		idx := int32(len(t.start))
		for len(stack) > 0 && t.end[stack[len(stack)-1]].cmp(s) < 0 {
			stack = stack[:len(stack)-1]
		}
		par := int32(-1)
		if len(stack) > 0 {
			par = stack[len(stack)-1]
		}
		t.start = append(t.start, s)
		t.end = append(t.end, e)
		t.parent = append(t.parent, par)
		t.refOff = append(t.refOff, uint32(len(*refs)))
		off := len(*refs)
		for k := i; k < j; k++ {
			*refs = append(*refs, es[k].meta)
		}
		sortRefs((*refs)[off:], metas)
		stack = append(stack, idx)
		i = j
	}
	t.refOff = append(t.refOff, uint32(len(*refs)))
	return t
}

func countDistinct(es []rawEntry) int {
	n := 0
	for i := range es {
		if i == 0 || es[i].start != es[i-1].start || es[i].bits != es[i-1].bits {
			n++
		}
	}
	return n
}

// find returns the most specific prefix containing x, or -1. The others
// containing x are its parents (t.parent).
func (t *table4) find(x uint32) int32 {
	lo, hi := 0, len(t.nets)
	if t.first != nil {
		// Every prefix before first[h] starts below x's /16, every one
		// from first[h+1] on above it.
		h := x >> 16
		lo, hi = int(t.first[h]), int(t.first[h+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.nets[m].start <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := int32(lo - 1)
	for i >= 0 && t.nets[i].end < x {
		i = t.nets[i].parent
	}
	return i
}

func (t *table6) find(x u128) int32 {
	lo, hi := 0, len(t.start)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.start[m].cmp(x) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := int32(lo - 1)
	for i >= 0 && t.end[i].cmp(x) < 0 {
		i = t.parent[i]
	}
	return i
}
