package schemas

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"

	"github.com/siemstream/siemstream/internal/doc"
)

// Small helpers shared by the per-type transforms (Python dict access with
// the failure modes the sf_ scripts rely on).

// at follows keys from n through objects: Nil when a step is missing or
// not an object (Python would raise KeyError/TypeError).
func at(d *doc.Doc, n doc.Node, keys ...string) doc.Node {
	for _, k := range keys {
		if d.Kind(n) != doc.Object {
			return doc.Nil
		}
		n = d.Child(n, k)
		if n == doc.Nil {
			return doc.Nil
		}
	}
	return n
}

// str is the string value at keys under n ("" and false when absent or
// not a string).
func str(d *doc.Doc, n doc.Node, keys ...string) (string, bool) {
	return strOf(d, at(d, n, keys...))
}

// objectAt returns obj[key] when it is an object, creating it (replacing a
// non-object value) otherwise, as Python `obj[key] = {}` would.
func objectAt(d *doc.Doc, obj doc.Node, key string) doc.Node {
	if c := d.Child(obj, key); d.Kind(c) == doc.Object {
		return c
	}
	return d.SetObject(obj, key)
}

// number returns a JSON number node's value.
func number(d *doc.Doc, n doc.Node) (float64, bool) {
	if d.Kind(n) != doc.Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(d.Bytes(n)), 64)
	return f, err == nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// swapSourceDestination is
//
//	logdata['source'], logdata['destination'] = logdata.get('destination'), logdata.get('source')
//
// followed by deleting whichever of the two is now empty.
func swapSourceDestination(d *doc.Doc) {
	root := d.Root()
	src, dst := d.Child(root, "source"), d.Child(root, "destination")
	d.Delete(root, "source")
	d.Delete(root, "destination")
	if dst != doc.Nil && d.Truthy(dst) {
		d.Move(root, "source", dst)
	}
	if src != doc.Nil && d.Truthy(src) {
		d.Move(root, "destination", src)
	}
}

// strIn is Python `s in (a, b, ...)`.
func strIn(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// freshObject sets obj[key] to a new empty object, replacing any value (an
// existing object included), as Python `obj[key] = {}` does; doc.SetObject
// would keep an existing object's members.
func freshObject(d *doc.Doc, obj doc.Node, key string) doc.Node {
	d.SetNull(obj, key)
	return d.SetObject(obj, key)
}
