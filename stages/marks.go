package stages

// PlanMarks is what normalize's output plan records, while it writes an
// event's _source straight into Event.Out (Event.Doc nil), for the
// enrichment stages that run after it (geoip, ioc): where in Out they find
// the values they look up, and where what they add goes. With it they enrich
// the written document without a tree and without searching Out, and the
// result is byte for byte what the tree path would encode.
//
// Names says which path each span is of; it is shared by every event of one
// plan, so a stage resolves its configured paths to span indexes once per
// Names, not per event. A name is a path as the stages' configurations spell
// it: a GeoIP entity ("source": a MarkObject span, its closing brace) or a
// looked-up field ("source.ip", "related.ip": a MarkString or MarkList span
// of its value).
//
// Offsets are into the current Out. A stage that rewrites Out moves the
// spans with it (Shift), or sets Stale when it rewrote Out through a tree.
//
// Out may have spare capacity (cap(Out) > len(Out)): room the plan
// reserved for what the enrichment stages add, which belongs to the event
// and holds nothing. A stage that adds to Out may write there and extend
// Out in place (moving the bytes after an insertion point, then Shift)
// instead of copying the document; when the room is short it copies.
type PlanMarks struct {
	Names *MarkNames
	Spans [MaxMarks]MarkSpan
	// Stale: Out was rewritten through a tree (doc.Doc), so Spans no longer
	// point into it; a later stage reads Out by parsing it.
	Stale bool
	// Big: Out may hold a string that encode's truncation rule cuts once the
	// document is large enough, and it is not cut yet; a stage that adds to
	// Out must then re-encode it through a tree (doc.Doc.AppendEncode) so the
	// rule is applied to the whole document as encode would.
	Big bool
	// IPv4[i] is span i's MarkString value parsed as an IP address
	// (internal/ipparse.Addr) when bit i of IsIPv4 is set: a valid IPv4
	// address without zone. The first stage that parses a marked address
	// keeps it for the next: normalize's plan when it validated the value
	// as an IP, else geoip, whose parse then serves ioc (other values,
	// rare, are parsed by each). The values never change while the
	// event is in a chain, so a rewrite of Out keeps them. Four bytes an
	// address, so that zeroing the marks per event stays cheap.
	IPv4   [MaxMarks]uint32
	IsIPv4 uint8
}

// MaxMarks bounds the marks of one event; a plan that would need more takes
// the tree path.
const MaxMarks = 8

// MarkNames are the paths of a plan's marks, in span order.
type MarkNames struct{ Paths []string }

// Index returns the span index of path, or -1.
func (n *MarkNames) Index(path string) int {
	for i, p := range n.Paths {
		if p == path {
			return i
		}
	}
	return -1
}

// MarkKind says what a span holds.
type MarkKind uint8

const (
	// MarkNone: the tree would find no string, list or object there
	// (absent, null, or not of that kind).
	MarkNone MarkKind = iota
	// MarkString: Out[Off:End] is the string's value, which needs no JSON
	// escaping (so it is the value's bytes).
	MarkString
	// MarkList: Out[Off:End] is the list's elements between the brackets,
	// `"a","b"`, none of which needs escaping; the list is not empty.
	MarkList
	// MarkObject: Out[Off] is the object's closing brace, where a member
	// added to it goes (End is unused).
	MarkObject
)

// MarkSpan is one mark.
type MarkSpan struct {
	Kind     MarkKind
	Off, End int32
}

// Shift moves the spans after an insertion of n bytes at offset at (an
// object's closing brace, never inside a value): spans from at on move by n.
func (m *PlanMarks) Shift(at, n int) {
	for i := range m.Spans {
		if s := &m.Spans[i]; s.Kind != MarkNone && int(s.Off) >= at {
			s.Off += int32(n)
			s.End += int32(n)
		}
	}
}

// ListElems calls f with each element of a MarkList value (`"a","b"`).
func ListElems(v []byte, f func([]byte)) {
	// elements need no escaping, so none holds a quote
	for len(v) >= 2 {
		j := 1
		for j < len(v) && v[j] != '"' {
			j++
		}
		f(v[1:j])
		if j+2 > len(v) {
			return
		}
		v = v[j+2:] // past `",`
	}
}
