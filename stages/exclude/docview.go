package exclude

import (
	"strconv"

	"github.com/siemstream/siemstream/internal/doc"
)

// docRecord is a Record over an event's document.
type docRecord struct {
	d   *doc.Doc
	buf []byte // scratch for number text
}

// Visit implements Record. Path segments are object keys only (es-loader's
// pattern dicts are matched with `key in log_dict`).
func (r *docRecord) Visit(path []string, m Matcher) ([]byte, bool) {
	return r.visit(r.d.Root(), path, m)
}

func (r *docRecord) visit(n doc.Node, path []string, m Matcher) ([]byte, bool) {
	d := r.d
	switch d.Kind(n) {
	case doc.Array:
		for c := d.First(n); c != doc.Nil; c = d.Next(c) {
			if hit, ok := r.visit(c, path, m); ok {
				return hit, true
			}
		}
		return nil, false
	case doc.Object:
		if len(path) == 0 {
			return nil, false
		}
		c := d.Child(n, path[0])
		if c == doc.Nil {
			return nil, false
		}
		return r.visit(c, path[1:], m)
	}
	if len(path) != 0 {
		return nil, false
	}
	switch d.Kind(n) {
	case doc.String:
		return test(m, d.Bytes(n))
	case doc.Number:
		r.buf = d.FormatNumberPython(r.buf[:0], n)
		return test(m, r.buf)
	case doc.True:
		return test(m, pyTrue)
	case doc.False:
		return test(m, pyFalse)
	case doc.Null:
		return test(m, pyNone)
	}
	return nil, false
}

var (
	pyTrue  = []byte("True")
	pyFalse = []byte("False")
	pyNone  = []byte(PyNone)
)

// toJMES converts a document node to the values JMESPath works on:
// map[string]any, []any, string, float64, bool, nil (numbers as float64,
// as the JMESPath implementation compares them).
func toJMES(d *doc.Doc, n doc.Node) any {
	switch d.Kind(n) {
	case doc.Null, doc.Invalid:
		return nil
	case doc.True:
		return true
	case doc.False:
		return false
	case doc.Number:
		f, err := strconv.ParseFloat(string(d.Bytes(n)), 64)
		if err != nil {
			return string(d.Bytes(n))
		}
		return f
	case doc.String:
		return string(d.Bytes(n))
	case doc.Array:
		out := make([]any, 0, 4)
		for c := d.First(n); c != doc.Nil; c = d.Next(c) {
			out = append(out, toJMES(d, c))
		}
		return out
	}
	out := make(map[string]any)
	for c := d.First(n); c != doc.Nil; c = d.Next(c) {
		out[string(d.Key(c))] = toJMES(d, c)
	}
	return out
}
