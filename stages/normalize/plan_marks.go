package normalize

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/ipparse"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// Marks: when GeoIP or IoC run after normalize, a plan records where in
// the document it wrote (Event.Out) those stages find the values they look
// up and where what they add goes (stages.PlanMarks), so they enrich Out
// without a tree and without searching it:
//
//   - geoip reads "<entity>.ip" and appends geo/as at the end of the
//     entity's object: the plan marks the value and the object's closing
//     brace;
//   - ioc reads its ip/domain fields (a string or a list of strings) and
//     appends threat at the end of the root (Out's last byte).
//
// What the tree path does must be what the marks let them do, so a plan is
// compiled with marks only when (compileMarks): the entities are distinct
// and none is inside another; no entity already has a geo or as member and
// no top-level threat member exists (the stages would replace those in
// place); no marked path has an array index or lies under the user-agent
// object (the plan writes that stage's fields, which run after GeoIP and
// IoC) or under an entity's geo/as. And a record is written with marks only
// when every marked value is in Out as the stages would read it from the
// tree (markValues): a string that encode keeps and needs no escaping, or a
// non-empty list of such strings; anything else takes the tree path.

// enrichOn says which enrichment stages run after normalize
// (Config.GeoIP, Config.IOC).
type enrichOn struct{ geoip, ioc bool }

// compileMarks sets p's marks for lt; false: lt's enrichment cannot be
// marked on this plan (no plan).
func (p *outPlan) compileMarks(lt *schemas.LogType, index map[string]int16, en enrichOn) bool {
	var ents, paths []string
	add := func(path string) {
		if !slices.Contains(paths, path) {
			paths = append(paths, path)
		}
	}
	if en.geoip {
		for _, e := range lt.Geoip {
			ents = append(ents, e)
			add(e)
			add(e + ".ip")
		}
	}
	ioc := en.ioc && len(lt.IOCIP)+len(lt.IOCDomain) > 0
	if ioc {
		for _, f := range lt.IOCIP {
			add(f)
		}
		for _, f := range lt.IOCDomain {
			add(f)
		}
	}
	if len(paths) == 0 {
		return true
	}
	if len(paths) > stages.MaxMarks {
		return false
	}
	if _, ok := index["threat"]; ioc && ok {
		return false
	}
	segsOf := func(path string) ([]string, bool) {
		segs := pathSegs(doc.ParsePath(path))
		for _, s := range segs {
			if isDigitSeg(s) {
				return nil, false
			}
		}
		return segs, len(segs) > 0
	}
	// under: a is b or inside it
	under := func(a, b []string) bool { return len(a) >= len(b) && slices.Equal(a[:len(b)], b) }
	var entSegs [][]string
	for _, e := range ents {
		segs, ok := segsOf(e)
		if !ok {
			return false
		}
		for _, o := range entSegs {
			if under(segs, o) || under(o, segs) {
				return false
			}
		}
		k := strings.Join(segs, "\x00")
		if _, ok := index[k+"\x00geo"]; ok {
			return false
		}
		if _, ok := index[k+"\x00as"]; ok {
			return false
		}
		entSegs = append(entSegs, segs)
	}
	p.markNodes = make([]int16, len(paths))
	for i, path := range paths {
		segs, ok := segsOf(path)
		if !ok || p.ua.on && segs[0] == lt.UserAgentEnrichmentField {
			return false
		}
		for _, e := range entSegs {
			if len(segs) > len(e) && under(segs, e) && (segs[len(e)] == "geo" || segs[len(e)] == "as") {
				return false
			}
		}
		// the node the tree's Find would reach: none when a prefix is a
		// string (it has no members) or the path was never created
		n := int16(-1)
		for k := 1; k <= len(segs); k++ {
			m, ok := index[strings.Join(segs[:k], "\x00")]
			if !ok || k < len(segs) && !p.nodes[m].obj {
				n = -1
				break
			}
			n = m
		}
		p.markNodes[i] = n
		if n >= 0 {
			p.nodes[n].mark = int8(i + 1)
		}
	}
	p.marks = &stages.MarkNames{Paths: paths}
	p.room = geoRoom * len(ents)
	return true
}

// geoRoom is the capacity a plan reserves after Out per GeoIP entity, so
// that geoip splices geo/as into Out in place (moving the bytes after the
// entity's object) instead of copying the document: what it adds for an
// address is about 200 bytes (city, country, location, AS number and
// organisation); a larger addition takes the copy. The reserved bytes are
// never written unless used, so they cost arena space, not cache.
const geoRoom = 256

// markIPv4 is a marked value normalize validated as an IPv4 address
// (validIPMarked): its parse, and the bytes parsed (the mark is kept only
// when the node still holds them when Out is written).
type markIPv4 struct {
	v  uint32
	b  *byte
	n  int
	ok bool
}

// validIPMarked is validIP(v) for the value of marked node n: when v is
// an IPv4 address, its parse is kept for the marks (markIPv4), so geoip
// and ioc do not parse it again (PlanMarks.IPv4).
func (p *outPlan) validIPMarked(st *pstate, n int16, v []byte) bool {
	// One scan for the common case: every dotted quad ipparse's fast path
	// accepts (decimal octets ≤ 255, no leading zero) is one validIP
	// accepts; anything else is validIP's to decide, and geoip's to parse.
	a, ok := ipparse.V4(unsafe.String(unsafe.SliceData(v), len(v)))
	if !ok {
		return validIP(v)
	}
	b := a.As4()
	st.ip4[p.nodes[n].mark-1] = markIPv4{uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), unsafe.SliceData(v), len(v), true}
	return true
}

// markIPv4 gives m the IPv4 parses of the marked strings that Out holds
// as they were validated.
func (p *outPlan) markIPv4(st *pstate, m *stages.PlanMarks) {
	for k, ip := range st.ip4 {
		if !ip.ok || m.Spans[k].Kind != stages.MarkString {
			continue
		}
		if v := &st.val[p.markNodes[k]]; v.kind == pvString && unsafe.SliceData(v.b) == ip.b && len(v.b) == ip.n {
			m.IPv4[k] = ip.v
			m.IsIPv4 |= 1 << k
		}
	}
}

// markValues checks that every marked value of the record is in Out as
// the enrichment stages would read it from the tree; false: the record
// takes the tree path. write fills st.spans.
func (p *outPlan) markValues(st *pstate) bool {
	st.spans = [stages.MaxMarks]stages.MarkSpan{}
	for _, n := range p.markNodes {
		if n < 0 || !st.linked(n) || p.nodes[n].obj {
			continue
		}
		switch v := &st.val[n]; v.kind {
		case pvString:
			if doc.Removable(v.b) || !v.plain && pyjson.PlainLen(v.b) != len(v.b) {
				return false // read by the stages, not in Out as such
			}
		case pvList:
			l := st.list[v.lo:v.hi]
			if len(l) == 1 && len(l[0]) == 0 {
				return false // [""]: encode drops it
			}
			for _, x := range l {
				if pyjson.PlainLen(x) != len(x) {
					return false
				}
			}
		}
	}
	return true
}
