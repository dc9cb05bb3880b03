package ref

import "strings"

// Path is a pre-split dotted path. Build it once (at config load) with
// ParsePath and use it for every event.
type Path struct {
	segs []seg
	s    string
}

type seg struct {
	key string
	idx int    // >= 0 when key is all ASCII digits: indexes arrays only
	h   uint32 // hashKey(key)
}

// ParsePath splits a dotted path ("a.b.0.c"). A segment of ASCII digits
// indexes an array and never matches an object key, as in es-loader
// (utils.value_from_nesteddict_by_dottedkey turns it into an int).
func ParsePath(dotted string) Path {
	p := Path{s: dotted}
	for _, k := range strings.Split(dotted, ".") {
		idx := -1
		if k != "" && isDigits(k) {
			idx = 0
			for i := 0; i < len(k); i++ {
				idx = idx*10 + int(k[i]-'0')
				if idx > 1<<30 {
					idx = 1 << 30
				}
			}
		}
		p.segs = append(p.segs, seg{key: k, idx: idx, h: hashKey(k)})
	}
	return p
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the dotted form.
func (p Path) String() string { return p.s }

// Len is the number of segments.
func (p Path) Len() int { return len(p.segs) }

// Last is the last segment.
func (p Path) Last() string {
	if len(p.segs) == 0 {
		return ""
	}
	return p.segs[len(p.segs)-1].key
}

// Seg returns segment i.
func (p Path) Seg(i int) string { return p.segs[i].key }

// IsZero reports an empty path.
func (p Path) IsZero() bool { return len(p.segs) == 0 }

// Find walks p from the root and returns the node, or Nil when a segment is
// missing (or indexes something that is not an array).
func (d *Doc) Find(p Path) Node { return d.FindFrom(1, p) }

// FindFrom walks p from n.
func (d *Doc) FindFrom(n Node, p Path) Node {
	for _, s := range p.segs {
		switch {
		case n == Nil:
			return Nil
		case s.idx >= 0:
			n = d.Index(n, s.idx)
		case n == 1:
			n = d.rootLookup(s.key, s.h)
		default:
			n = d.Child(n, s.key)
		}
	}
	return n
}

// FindDotted is Find for a dotted string, parsed on the fly without
// allocating.
func (d *Doc) FindDotted(dotted string) Node {
	n := Node(1)
	for {
		i := strings.IndexByte(dotted, '.')
		k := dotted
		if i >= 0 {
			k = dotted[:i]
		}
		if k != "" && isDigits(k) {
			idx := 0
			for j := 0; j < len(k) && idx < 1<<30; j++ {
				idx = idx*10 + int(k[j]-'0')
			}
			n = d.Index(n, idx)
		} else {
			n = d.Child(n, k)
		}
		if n == Nil || i < 0 {
			return n
		}
		dotted = dotted[i+1:]
	}
}

// ObjectAt returns the object at p (from the root), creating missing
// objects and replacing non-object values on the way, as
// put_value_into_nesteddict + merge_dicts do. Digit segments are treated as
// object keys here.
func (d *Doc) ObjectAt(p Path) Node {
	return d.objectAt(1, p.segs)
}

func (d *Doc) objectAt(n Node, segs []seg) Node {
	for _, s := range segs {
		n = d.SetObject(n, s.key)
	}
	return n
}

// ParentAt returns the object that holds the last segment of p, creating it
// as ObjectAt does; with the last key it is what setters need.
func (d *Doc) ParentAt(obj Node, p Path) (Node, string) {
	if len(p.segs) == 0 {
		return obj, ""
	}
	return d.objectAt(obj, p.segs[:len(p.segs)-1]), p.segs[len(p.segs)-1].key
}

// SetStringPath sets the string at dotted path p (from the root).
func (d *Doc) SetStringPath(p Path, val string) Node {
	obj, k := d.ParentAt(1, p)
	return d.SetString(obj, k, val)
}

// SetStringBytesPath sets the string at dotted path p (from the root).
func (d *Doc) SetStringBytesPath(p Path, val []byte) Node {
	obj, k := d.ParentAt(1, p)
	return d.SetStringBytes(obj, k, val)
}
