package geoip

import (
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/ipparse"
	"github.com/siemstream/siemstream/stages"
)

// Events written by normalize's output plan have no tree: their _source is
// already in Event.Out, and Event.Marks says where each entity's ip value
// is and where its object closes (stages.PlanMarks). enrichOut looks the
// address up as enrich does and appends what enrich would add to the
// entity's object (geo, then as, at its end), encoded as encode would
// encode those nodes: in place when the plan left room after Out (see
// stages.PlanMarks), else rebuilding Out once per event for all its
// entities.
// A case the marks cannot express exactly (a result with a string long
// enough for encode's truncation rule, marks that do not name this stage's
// entities) parses Out into a tree, enriches that and encodes it again.

// resolved caches, for one plan's mark names, each entity's span indexes.
type resolved struct {
	names *stages.MarkNames
	ok    bool
	idx   [stages.MaxMarks]struct{ obj, ip int8 }
}

func (rs *resolved) resolve(names *stages.MarkNames, ents []entity) bool {
	if names == rs.names {
		return rs.ok
	}
	rs.names, rs.ok = names, false
	if len(ents) > stages.MaxMarks {
		return false
	}
	for j, ent := range ents {
		o, ip := names.Index(ent.name), names.Index(ent.ipName)
		if o < 0 || ip < 0 {
			return false
		}
		rs.idx[j].obj, rs.idx[j].ip = int8(o), int8(ip)
	}
	rs.ok = true
	return true
}

// enrichOut is enrich, for every entity, on an event with Marks.
func enrichOut(e *stages.Event, ents []entity, db *DB, a *stages.Arena, rs *resolved) (looked, found uint64) {
	m := e.Marks
	if m.Stale || m.Big || !rs.resolve(m.Names, ents) {
		return enrichParsed(e, ents, db, a)
	}
	type add struct {
		at int
		r  *Result
	}
	var adds [stages.MaxMarks]add
	n := 0
	for j := range ents {
		ip := m.Spans[rs.idx[j].ip]
		if ip.Kind != stages.MarkString {
			continue // enrich reads strings only
		}
		r := lookupMarked(db, m, int(rs.idx[j].ip), e.Out[ip.Off:ip.End])
		looked++
		if r.Empty() {
			continue
		}
		found++
		obj := m.Spans[rs.idx[j].obj]
		if obj.Kind != stages.MarkObject {
			continue
		}
		if r.long {
			return enrichParsed(e, ents, db, a)
		}
		// in offset order (entities are few)
		k := n
		for ; k > 0 && adds[k-1].at > int(obj.Off); k-- {
			adds[k] = adds[k-1]
		}
		if k > 0 && adds[k-1].at == int(obj.Off) {
			return enrichParsed(e, ents, db, a) // one object twice: enrich replaces in place
		}
		adds[k] = add{int(obj.Off), r}
		n++
	}
	if n == 0 {
		return looked, found
	}
	var lens [stages.MaxMarks]int
	total := 0
	for k := range n {
		lens[k] = len(adds[k].r.enc)
		total += lens[k]
	}
	if old := len(e.Out); cap(e.Out)-old >= total {
		// in place, in the room the plan left after Out: from the last
		// insertion back, move the bytes after it, then write it
		out := e.Out[:old+total]
		end, shift := old, total
		for k := n - 1; k >= 0; k-- {
			at := adds[k].at
			copy(out[at+shift:], out[at:end])
			shift -= lens[k]
			copy(out[at+shift:], adds[k].r.enc)
			end = at
		}
		e.Out = out
	} else {
		out := a.Free()
		prev := 0
		for k := range n {
			out = append(out, e.Out[prev:adds[k].at]...)
			out = append(out, adds[k].r.enc...)
			prev = adds[k].at
		}
		out = append(out, e.Out[prev:]...)
		e.Out = a.Keep(out)
	}
	for k := n - 1; k >= 0; k-- { // from the end, so earlier offsets still hold
		m.Shift(adds[k].at, lens[k])
	}
	return looked, found
}

// lookupMarked is DB.LookupString of span k's value b; a valid IPv4
// address is kept in the marks for ioc (PlanMarks.IPv4).
func lookupMarked(db *DB, m *stages.PlanMarks, k int, b []byte) *Result {
	bit := uint8(1) << k
	if m.IsIPv4&bit != 0 { // "1.2.3.4" has digits: LookupString's rule holds
		v := m.IPv4[k]
		return db.Lookup(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	// No copy: the string lives only for the parse, which keeps its input
	// only in its error, dropped.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	if !hasDigit(s) {
		return nil
	}
	a, err := ipparse.Addr(s)
	if err != nil {
		return nil
	}
	if a.Is4() {
		v := a.As4()
		m.IPv4[k] = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		m.IsIPv4 |= bit
	}
	return db.Lookup(a)
}

// enrichParsed enriches a parsed copy of Out and encodes it back. Out is
// encode's output of the plan's tree after del_none; what enrich adds to
// it is encoded the same whether the members del_none dropped are there or
// not (the entity's object holds its address, so it is in Out).
func enrichParsed(e *stages.Event, ents []entity, db *DB, a *stages.Arena) (looked, found uint64) {
	d := doc.Get()
	defer doc.Put(d)
	if err := d.ParseObject(e.Out); err != nil {
		return 0, 0 // cannot happen: Out is encode's JSON
	}
	for _, ent := range ents {
		l, f := enrich(d, ent, db)
		looked += l
		found += f
	}
	if found == 0 {
		return looked, found
	}
	out, truncated := d.AppendEncode(a.Free())
	e.Out = a.Keep(out)
	e.Marks.Stale = true
	e.Marks.Big = !truncated // maybe a string the rule cuts once the document grows
	return looked, found
}

// big: a string of r is long enough for encode's truncation rule.
func (r *Result) big() bool {
	long := func(s string) bool { return len(s) >= doc.TruncateFieldBytes }
	if g := r.Geo; g != nil && (long(g.CityName) || long(g.CountryISOCode) || long(g.CountryName)) {
		return true
	}
	return r.AS != nil && long(r.AS.Organization)
}

// appendGeoAS appends `,"geo":{…},"as":{…}`: the members enrich adds to an
// entity's object (which already has a member, its ip) as encode writes
// them (internal/doc's appenders), del_none included: null ("" from the
// database) and "-", "null", "[]" strings are left out, and so are objects
// left empty.
func appendGeoAS(dst []byte, r *Result) []byte {
	if g := r.Geo; g != nil {
		mark := len(dst)
		dst = append(dst, `,"geo":{`...)
		body := len(dst)
		dst = doc.AppendStringMember(dst, body, `"city_name":`, g.CityName)
		dst = doc.AppendStringMember(dst, body, `"country_iso_code":`, g.CountryISOCode)
		dst = doc.AppendStringMember(dst, body, `"country_name":`, g.CountryName)
		if g.HasLon || g.HasLat {
			if len(dst) > body {
				dst = append(dst, ',')
			}
			dst = append(dst, `"location":{`...)
			if g.HasLon {
				dst = append(dst, `"lon":`...)
				dst = append(dst, g.lonText...)
			}
			if g.HasLat {
				if g.HasLon {
					dst = append(dst, ',')
				}
				dst = append(dst, `"lat":`...)
				dst = append(dst, g.latText...)
			}
			dst = append(dst, '}')
		}
		if len(dst) == body {
			dst = dst[:mark]
		} else {
			dst = append(dst, '}')
		}
	}
	if as := r.AS; as != nil {
		mark := len(dst)
		dst = append(dst, `,"as":{`...)
		body := len(dst)
		if as.HasNumber {
			dst = append(dst, `"number":`...)
			dst = strconv.AppendInt(dst, int64(as.Number), 10) // as enrich's SetInt
		}
		if !doc.RemovableText(as.Organization) {
			if len(dst) > body {
				dst = append(dst, ',')
			}
			dst = append(dst, `"organization":{"name":`...)
			dst = doc.AppendQuotedText(dst, as.Organization)
			dst = append(dst, '}')
		}
		if len(dst) == body {
			dst = dst[:mark]
		} else {
			dst = append(dst, '}')
		}
	}
	return dst
}
