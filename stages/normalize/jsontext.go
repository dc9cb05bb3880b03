package normalize

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
)

// jtPlan resolves a log type's json_to_text paths in one pass per parent
// object instead of one lookup per path: CloudTrail lists 34 paths, 31 of
// them under requestParameters or responseElements, while a record's
// requestParameters holds a handful of members. So for each parent shared
// by at least jtGroupMin paths, the parent is found once and its members
// are looked up in the set of listed last segments; every other path is
// looked up on its own. The hits are then handled in the configured order,
// so the result (and the first error) is what looking every path up in
// order gives.
type jtPlan struct {
	direct []int // indexes into LogType.JSONToText looked up one by one
	groups []jtGroup
}

type jtGroup struct {
	parent doc.Path
	last   map[string][]int // last segment -> indexes of the paths ending so
}

// jtGroupMin: a parent shared by fewer paths is cheaper to look up per path.
const jtGroupMin = 3

// jtHit is a path (index) whose value is set and truthy.
type jtHit struct {
	i int
	v doc.Node
}

// jtPlans caches plans per log type (types are immutable once loaded).
type jtPlans struct{ m sync.Map } // *schemas.LogType -> *jtPlan

func (c *jtPlans) get(lt *schemas.LogType) *jtPlan {
	if p, ok := c.m.Load(lt); ok {
		return p.(*jtPlan)
	}
	p := buildJTPlan(lt.JSONToText)
	c.m.Store(lt, p)
	return p
}

func buildJTPlan(paths []doc.Path) *jtPlan {
	byParent := map[string][]int{}
	var order []string
	p := &jtPlan{}
	for i, path := range paths {
		s := path.String()
		dot := strings.LastIndexByte(s, '.')
		// One segment: a root lookup, already hashed. A last segment of
		// digits indexes an array, never an object member.
		if dot < 0 || isDigitSeg(s[dot+1:]) {
			p.direct = append(p.direct, i)
			continue
		}
		if _, ok := byParent[s[:dot]]; !ok {
			order = append(order, s[:dot])
		}
		byParent[s[:dot]] = append(byParent[s[:dot]], i)
	}
	for _, parent := range order {
		idx := byParent[parent]
		if len(idx) < jtGroupMin {
			p.direct = append(p.direct, idx...)
			continue
		}
		g := jtGroup{parent: doc.ParsePath(parent), last: map[string][]int{}}
		for _, i := range idx {
			g.last[paths[i].Last()] = append(g.last[paths[i].Last()], i)
		}
		p.groups = append(p.groups, g)
	}
	slices.Sort(p.direct)
	return p
}

// isDigitSeg says whether a path segment is all digits (a list index in
// es-loader's dotted paths).
func isDigitSeg(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// jsonToText follows LogParser.clean_multi_type_field.
func (s *Stage) jsonToText(sc *scratch, lt *schemas.LogType, d *doc.Doc) error {
	if len(lt.JSONToText) == 0 {
		return nil
	}
	hits := sc.jtHits[:0]
	if s.slowJSONToText {
		for i, p := range lt.JSONToText {
			if v := pyValue(d, p); v != doc.Nil && d.Truthy(v) {
				hits = append(hits, jtHit{i, v})
			}
		}
		sc.jtHits = hits
		return sc.jsonToTextHits(lt, d, hits)
	}
	plan := s.jt.get(lt)
	for _, i := range plan.direct {
		if v := pyValue(d, lt.JSONToText[i]); v != doc.Nil && d.Truthy(v) {
			hits = append(hits, jtHit{i, v})
		}
	}
	for gi := range plan.groups {
		g := &plan.groups[gi]
		obj := d.Find(g.parent)
		if obj == doc.Nil || d.Kind(obj) != doc.Object {
			continue
		}
		for c := d.First(obj); c != doc.Nil; c = d.Next(c) {
			idx, ok := g.last[string(d.Key(c))]
			if !ok {
				continue
			}
			// a member added twice (not by the parser, which keeps one):
			// the first is the one a lookup finds
			if d.Child(obj, string(d.Key(c))) != c {
				continue
			}
			if d.Kind(c) == doc.Null || d.IsEmptyString(c) || !d.Truthy(c) {
				continue
			}
			for _, i := range idx {
				hits = append(hits, jtHit{i, c})
			}
		}
	}
	sc.jtHits = hits
	slices.SortFunc(hits, func(a, b jtHit) int { return a.i - b.i })
	return sc.jsonToTextHits(lt, d, hits)
}

// jsonToTextHits converts the hits (in the configured order) into a new
// object merged into the root, as es-loader does.
func (sc *scratch) jsonToTextHits(lt *schemas.LogType, d *doc.Doc, hits []jtHit) error {
	if len(hits) == 0 {
		return nil
	}
	tmp := doc.Nil
	for _, h := range hits {
		if err := sc.jsonToTextOne(d, lt.JSONToText[h.i], h.v, &tmp); err != nil {
			return err
		}
	}
	if tmp != doc.Nil {
		d.Merge(d.Root(), tmp)
	}
	return nil
}

// jsonToTextOne writes str(v) of the truthy value v at p into *tmp (made on
// first use), unless str(v) is v itself.
func (sc *scratch) jsonToTextOne(d *doc.Doc, p doc.Path, v doc.Node, tmp *doc.Node) error {
	var text []byte
	switch k := d.Kind(v); {
	case k == doc.True || k == doc.False || (k == doc.Number && isIntNumber(d.Bytes(v))):
		text = d.AppendPyStr(sc.buf[:0], v)
	case k == doc.Number:
		return fmt.Errorf("json_to_text field %s holds a float (es-loader raises TypeError)", p)
	case k == doc.String:
		if !containsByte(d.Bytes(v), '{') {
			return nil // str(v) == v
		}
		text = doc.AppendPyStrRepr(sc.buf[:0], d.Bytes(v))
	case k == doc.Object:
		text = d.AppendPyRepr(sc.buf[:0], v) // '{' in dict tests keys only; str(dict) == repr(dict)
	default: // array
		text = d.AppendPyRepr(sc.buf[:0], v)
	}
	sc.buf = text
	if *tmp == doc.Nil {
		*tmp = d.NewObject()
	}
	obj, last := d.ParentAt(*tmp, p)
	d.SetStringBytes(obj, last, text)
	return nil
}
