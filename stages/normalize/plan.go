package normalize

import (
	"strings"
	"sync"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
)

// ecsPlan lets mapECS append ECS targets to the fresh ECS object without
// looking keys up, when the configuration guarantees that no two targets
// collide: all targets distinct and none a prefix of another. Intermediate
// objects ("source" for source.ip) are created once per document and their
// nodes remembered.
type ecsPlan struct {
	fast bool
	// direct: fast, and no entry reads under a top-level key that the
	// mapping writes (ECS and static targets, "ecs", "cloud"), so mapECS
	// may write into the record while it still reads it
	direct bool
	// per ECS entry: index of its parent object in objs (-1: the ECS root)
	parent []int
	leaf   []string
	objs   []planObj
	// src: where the entries read (any type, fast or not)
	src srcPlan
}

type planObj struct {
	parent int // -1: ECS root
	key    string
}

var plans sync.Map // *schemas.LogType -> *ecsPlan

func planFor(lt *schemas.LogType) *ecsPlan {
	if p, ok := plans.Load(lt); ok {
		return p.(*ecsPlan)
	}
	p := buildPlan(lt)
	plans.Store(lt, p)
	return p
}

func buildPlan(lt *schemas.LogType) *ecsPlan {
	p := &ecsPlan{fast: true, src: buildSrcPlan(lt)}
	seen := map[string]bool{}
	for _, f := range lt.ECS {
		seen[f.Target] = true
	}
	if len(seen) != len(lt.ECS) {
		p.fast = false
		return p
	}
	for _, f := range lt.ECS {
		for other := range seen {
			if other != f.Target && strings.HasPrefix(other, f.Target+".") {
				p.fast = false
				return p
			}
		}
		// "ecs" and "cloud.provider" are written before the mappings
		if f.Target == "ecs" || strings.HasPrefix(f.Target, "ecs.") || f.Target == "cloud" || f.Target == "cloud.provider" {
			p.fast = false
			return p
		}
	}
	index := map[string]int{}
	var objIdx func(path []string) int
	objIdx = func(path []string) int {
		if len(path) == 0 {
			return -1
		}
		k := strings.Join(path, ".")
		if i, ok := index[k]; ok {
			return i
		}
		parent := objIdx(path[:len(path)-1])
		p.objs = append(p.objs, planObj{parent: parent, key: path[len(path)-1]})
		index[k] = len(p.objs) - 1
		return len(p.objs) - 1
	}
	for _, f := range lt.ECS {
		segs := strings.Split(f.Target, ".")
		p.parent = append(p.parent, objIdx(segs[:len(segs)-1]))
		p.leaf = append(p.leaf, segs[len(segs)-1])
	}
	p.direct = disjointTargets(lt)
	return p
}

// disjointTargets reports whether no ECS entry of lt reads a record path
// whose first segment is the first segment of a path the mapping writes.
func disjointTargets(lt *schemas.LogType) bool {
	written := map[string]bool{"ecs": true, "cloud": true}
	for _, f := range lt.ECS {
		written[strings.SplitN(f.Target, ".", 2)[0]] = true
	}
	for _, f := range lt.StaticECS {
		if f.Path.Len() == 0 {
			return false
		}
		written[f.Path.Seg(0)] = true
	}
	reads := func(ps []doc.Path) bool {
		for _, p := range ps {
			if p.Len() == 0 || written[p.Seg(0)] {
				return true
			}
		}
		return false
	}
	for _, f := range lt.ECS {
		if reads(f.Alternatives) {
			return false
		}
		for _, g := range f.Groups {
			if reads(g) {
				return false
			}
		}
	}
	return true
}

// objNode returns (creating if needed) intermediate object i under E, and
// whether it is an object of the record that has members (old: writes
// into it need lookups). Only in direct mode (E is the
// record's root) can an object be old; objects of a detached E are new.
func (p *ecsPlan) objNode(d *doc.Doc, E doc.Node, sc *scratch, i int, direct bool) (doc.Node, bool) {
	if i < 0 {
		return E, direct
	}
	nodes, old := sc.planNodes, sc.planOld
	if nodes[i] != doc.Nil {
		return nodes[i], old[i]
	}
	parent, pold := p.objNode(d, E, sc, p.objs[i].parent, direct)
	key := p.objs[i].key
	var n doc.Node
	switch {
	case p.objs[i].parent < 0 && key == "cloud":
		// E may already hold it (cloud.provider is set before the
		// mappings; "ecs" and cloud.provider targets never take the
		// plan), and in direct mode the record has none: new either way.
		n = d.SetObject(E, key)
	case pold:
		// a member of the record's object: an object there is merged
		// into; anything else is replaced in place by a new, empty one
		// (one lookup). An empty object has no member to collide with:
		// it is appended to like a new one.
		n = d.SetObject(parent, key)
		old[i] = d.First(n) != doc.Nil
	default:
		// any other object is new to E: no scan of E's members
		n = d.AddObject(parent, key)
	}
	nodes[i] = n
	return n, old[i]
}

// srcPlan is the table of the distinct record paths a type's ECS entries
// read, and of their prefixes: CloudTrail reads sourceIPAddress for
// source.ip, source.address and related.ip, eventName twice, and five
// alternatives under requestParameters/responseElements. mapECS resolves
// each entry at most once per document, from its parent prefix's node, so
// a shared prefix is walked once (srcState). No entry's path changes
// while the entries are read: the ECS object is built apart and merged at
// the end, or (ecsPlan.direct) written into the record under top-level
// keys that no entry reads, so the memo stays exact for the whole mapping
// loop.
type srcPlan struct {
	ents []srcEnt
	// per ECS entry: its Alternatives (scalar) as entry indexes, or its
	// Groups (list) as one slice of entry indexes per group
	alts   [][]int32
	groups [][][]int32
}

type srcEnt struct {
	parent int32    // entry of the prefix without the last segment (-1: the root)
	seg    doc.Path // the last segment alone
}

func buildSrcPlan(lt *schemas.LogType) srcPlan {
	var sp srcPlan
	index := map[string]int32{}
	var ent func(p doc.Path, n int) int32
	ent = func(p doc.Path, n int) int32 {
		if n == 0 {
			return -1
		}
		segs := make([]string, n)
		for i := range n {
			segs[i] = p.Seg(i)
		}
		// segments never hold '.', so the dotted prefix names it
		k := strings.Join(segs, ".")
		if i, ok := index[k]; ok {
			return i
		}
		parent := ent(p, n-1)
		sp.ents = append(sp.ents, srcEnt{parent: parent, seg: doc.ParsePath(segs[n-1])})
		i := int32(len(sp.ents) - 1)
		index[k] = i
		return i
	}
	paths := func(ps []doc.Path) []int32 {
		out := make([]int32, len(ps))
		for i, p := range ps {
			out[i] = ent(p, p.Len())
		}
		return out
	}
	sp.alts = make([][]int32, len(lt.ECS))
	sp.groups = make([][][]int32, len(lt.ECS))
	for i, f := range lt.ECS {
		if f.List {
			for _, g := range f.Groups {
				sp.groups[i] = append(sp.groups[i], paths(g))
			}
			continue
		}
		sp.alts[i] = paths(f.Alternatives)
	}
	return sp
}

// srcState is one document's resolution of a srcPlan: an entry's node is
// known when its gen is the document's (reset bumps gen instead of
// clearing the table).
type srcState struct {
	ents []srcVal
	gen  uint32
}

type srcVal struct {
	gen uint32
	n   doc.Node
	ip  int8 // validIP of the entry's string value: 0 unknown, 1 valid, 2 not
}

func (st *srcState) reset(n int) {
	st.gen++
	if len(st.ents) < n || st.gen == 0 {
		st.ents = make([]srcVal, max(n, len(st.ents)))
		st.gen = 1
	}
}

// find is d.Find of entry i's path.
func (sp *srcPlan) find(d *doc.Doc, st *srcState, i int32) doc.Node {
	v := &st.ents[i]
	if v.gen == st.gen {
		return v.n
	}
	e := &sp.ents[i]
	from := d.Root()
	if e.parent >= 0 {
		from = sp.find(d, st, e.parent)
	}
	n := doc.Nil
	if from != doc.Nil {
		n = d.FindFrom(from, e.seg)
	}
	*v = srcVal{gen: st.gen, n: n}
	return n
}

// value is pyValue of entry i's path.
func (sp *srcPlan) value(d *doc.Doc, st *srcState, i int32) doc.Node {
	n := sp.find(d, st, i)
	if n == doc.Nil || d.Kind(n) == doc.Null || d.IsEmptyString(n) {
		return doc.Nil
	}
	return n
}

// first is firstValue over entries alts; it also returns the entry.
func (sp *srcPlan) first(d *doc.Doc, st *srcState, alts []int32) (doc.Node, int32) {
	for _, i := range alts {
		if v := sp.value(d, st, i); v != doc.Nil {
			return v, i
		}
	}
	return doc.Nil, -1
}

// validIP is validIP of entry i's string value v, memoised per document.
func (st *srcState) validIP(d *doc.Doc, i int32, v doc.Node) bool {
	e := &st.ents[i] // resolved (v is its value) in this document
	switch e.ip {
	case 1:
		return true
	case 2:
		return false
	}
	ok := validIP(d.Bytes(v))
	e.ip = 2
	if ok {
		e.ip = 1
	}
	return ok
}
