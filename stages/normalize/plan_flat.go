package normalize

import (
	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// Flat records: decode leaves a planned type's record split but not built
// into a tree (Event.Flat, see decode.Config.Flat and stages.Flat). The plan
// reads its values from there; a record the plan does not take gets the
// tree decode would have built (unflatten), so the tree path, its status
// and its error text are what they are without flat records.

// planFlat returns the plan for the flat record f, or nil (tree path), and
// fills the record slots' values.
func (s *Stage) planFlat(sc *scratch, f *stages.Flat) *outPlan {
	st := &sc.ps
	n := f.N()
	st.sv = st.sv[:0]
	for i := range n {
		b, null := f.Field(i)
		st.sv = append(st.sv, sval{b, !null})
	}
	// one FlatKeys per header or log_pattern, so the same keys and count
	// are the same plan
	if sc.fkLT == sc.si.lt && sc.fkKeys == f.Keys && sc.fkN == n {
		return sc.fkPlan
	}
	sc.fkPlan, sc.fkLT, sc.fkKeys, sc.fkN = s.plans.get(sc.si.lt, f.Keys.Names[:n]), sc.si.lt, f.Keys, n
	return sc.fkPlan
}

// unflatten gives e, a flat record, the tree decode would have built.
func unflatten(e *stages.Event) {
	if e.Doc == nil {
		e.Doc = doc.Get()
	} else {
		e.Doc.Reset()
	}
	e.Flat.Tree(e.Doc)
	e.Flat = nil
}
