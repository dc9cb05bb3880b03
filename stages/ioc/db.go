package ioc

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/siemstream/siemstream/internal/ipparse"
)

// DB is a built, immutable IoC index: IPv4 and IPv6 prefixes (all matching
// prefixes of an address are found, most specific first) and domains (exact
// match, optionally parent domains). Safe for concurrent use.
type DB struct {
	metas   []Indicator
	refs    []uint32
	v4      table4
	v6      table6
	domains map[string][]uint32
	nIP     int
	nDomain int

	// Stats describes the load that built the index.
	Stats LoadStats

	// MatchParents also matches the parent domains of a looked-up name
	// (a.b.example.com matches an indicator example.com). Off by default, as
	// in es-loader (exact match only).
	MatchParents bool
}

// Counts reports the number of distinct IP and domain indicators.
func (db *DB) Counts() (ips, domains int) { return db.nIP, db.nDomain }

// ParseIP parses an address the way es-loader's IoC lookup accepts it: only
// hex digits, ':' and '.' (no zone), and a valid IPv4 or IPv6 address.
func ParseIP(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
			return netip.Addr{}, false
		}
	}
	a, err := ipparse.Addr(s)
	return a, err == nil
}

// MatchIP appends to dst the indicators whose prefix contains addr, most
// specific prefix first, then by provider and name. Private addresses
// (IsPrivate) never match. An IPv4-mapped IPv6 address is looked up as IPv4.
func (db *DB) MatchIP(dst []*Indicator, addr netip.Addr) []*Indicator {
	addr = addr.WithZone("")
	if !addr.IsValid() || IsPrivate(addr) {
		return dst
	}
	addr = addr.Unmap()
	var (
		i      int32
		parent []int32
		refOff []uint32
	)
	if addr.Is4() {
		v := addr.As4()
		i = db.v4.find(uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3]))
		parent, refOff = db.v4.parent, db.v4.refOff
	} else {
		i = db.v6.find(u128From(addr))
		parent, refOff = db.v6.parent, db.v6.refOff
	}
	for ; i >= 0; i = parent[i] {
		for _, m := range db.refs[refOff[i]:refOff[i+1]] {
			dst = append(dst, &db.metas[m])
		}
	}
	return dst
}

// NormalizeDomain lower-cases a name and drops one trailing dot. It returns
// "" for a value that cannot be a domain name.
func NormalizeDomain(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" || len(s) > 253 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			return normalizeSlow(s)
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c >= 0x80) {
			return ""
		}
	}
	return s
}

func normalizeSlow(s string) string {
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c >= 0x80) {
			return ""
		}
	}
	return s
}

// MatchDomain appends to dst the indicators for name (normalised with
// NormalizeDomain), and with MatchParents those of its parent domains
// (nearest first; a bare top-level label is never matched as a parent).
func (db *DB) MatchDomain(dst []*Indicator, name string) []*Indicator {
	d := NormalizeDomain(name)
	if d == "" || len(db.domains) == 0 {
		return dst
	}
	for _, m := range db.domains[d] {
		dst = append(dst, &db.metas[m])
	}
	if !db.MatchParents {
		return dst
	}
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return dst
		}
		d = d[i+1:]
		if strings.IndexByte(d, '.') < 0 {
			return dst
		}
		for _, m := range db.domains[d] {
			dst = append(dst, &db.metas[m])
		}
	}
}

// Value is one looked-up value and the document fields that hold it.
type Value struct {
	Value  string
	Fields []string
	// ip is Value parsed by internal/ipparse.Addr (the zero Addr when it
	// is not an address), when ipKnown: GeoIP parsed it already.
	ip      netip.Addr
	ipKnown bool
}

// parseIP is ParseIP(v.Value), from the address GeoIP parsed when it did:
// ParseIP's characters are those of a valid address without a zone.
func (v *Value) parseIP() (netip.Addr, bool) {
	if v.ipKnown {
		return v.ip, v.ip.IsValid() && v.ip.Zone() == ""
	}
	return ParseIP(v.Value)
}

// Enrichment is one threat.enrichments entry.
type Enrichment struct {
	Indicator *Indicator
	// IP is indicator.ip (the looked-up address as written in the
	// document), for IP matches.
	IP string
	// Atomic is matched.atomic (the looked-up domain as written), for domain
	// matches.
	Atomic string
	// Fields is matched.field: every configured field holding the value.
	Fields []string
}

// Matched is threat.matched, each list sorted and de-duplicated.
type Matched struct {
	Providers, Types, Indicators, Names []string
}

// Result is the enrichment of one document.
type Result struct {
	Enrichments []Enrichment
	Matched     Matched
}

// Enrich looks up IP values and domain values (each with the fields holding
// it, in first-seen order) and returns the enrichments: for each value in
// order, one entry per matching indicator (the same address in two feeds of
// different providers gives two entries). It returns nil when nothing
// matches. scratch is reused between calls to avoid allocation.
func (db *DB) Enrich(ips, domains []Value, scratch []*Indicator) (*Result, []*Indicator) {
	return db.enrich(ips, domains, scratch, nil)
}

// v4memo remembers IPv4 addresses that match nothing in db, so that an
// address seen again (the frequent ones of a stream) costs one compare
// instead of a lookup in the feed's tables, which are cache misses on the
// hot path. Direct-mapped: a new address takes its slot. It belongs to one
// goroutine's scratch.
type v4memo struct {
	db   *DB
	keys [256]uint64 // address | 1<<32; 0: empty
}

// none reports whether addr is remembered as matching nothing; slot is
// where it goes otherwise.
func (m *v4memo) none(a [4]byte) (bool, *uint64) {
	u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	k := uint64(u) | 1<<32
	slot := &m.keys[(u*0x9e3779b1)>>24]
	return *slot == k, slot
}

// enrich is Enrich with memo (nil: none), which must belong to db.
func (db *DB) enrich(ips, domains []Value, scratch []*Indicator, memo *v4memo) (*Result, []*Indicator) {
	var res *Result
	for i := range ips {
		v := &ips[i]
		addr, ok := v.parseIP()
		if !ok {
			continue
		}
		if memo != nil && addr.Is4() {
			if IsPrivate(addr) {
				continue // never matches; and kept out of the memo, which
				// the private side of every VPC flow would otherwise fill
			}
			a := addr.As4()
			none, slot := memo.none(a)
			if none {
				continue
			}
			if scratch = db.MatchIP(scratch[:0], addr); len(scratch) == 0 {
				*slot = uint64(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3])) | 1<<32
				continue
			}
		} else {
			scratch = db.MatchIP(scratch[:0], addr)
		}
		for _, ind := range scratch {
			if res == nil {
				res = &Result{}
			}
			res.Enrichments = append(res.Enrichments, Enrichment{Indicator: ind, IP: v.Value, Fields: v.Fields})
		}
	}
	for _, v := range domains {
		scratch = db.MatchDomain(scratch[:0], v.Value)
		for _, ind := range scratch {
			if res == nil {
				res = &Result{}
			}
			res.Enrichments = append(res.Enrichments, Enrichment{Indicator: ind, Atomic: v.Value, Fields: v.Fields})
		}
	}
	if res == nil {
		return nil, scratch
	}
	m := &res.Matched
	for _, e := range res.Enrichments {
		m.Providers = append(m.Providers, e.Indicator.Provider)
		m.Types = append(m.Types, e.Indicator.Type)
		if e.IP != "" {
			m.Indicators = append(m.Indicators, e.IP)
		}
		if e.Atomic != "" {
			m.Indicators = append(m.Indicators, e.Atomic)
		}
		if e.Indicator.Name != "" {
			m.Names = append(m.Names, e.Indicator.Name)
		}
	}
	for _, l := range []*[]string{&m.Providers, &m.Types, &m.Indicators, &m.Names} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return res, scratch
}
