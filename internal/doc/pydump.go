package doc

import (
	"bytes"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// AppendPyDumpQuoted appends to msg the Python json.dumps(...,
// ensure_ascii=False) form of the root object (what pyjson.Append prints
// for the JSON text the document was parsed from) and to q the same text
// as the contents of a JSON string literal (pyjson.AppendQuoted of it,
// without the surrounding quotes), in one walk of the tree.
//
// normalize builds a JSON record's @message this way instead of parsing the
// raw record a second time, and hands q to SetStringBytesQuoted so the
// encoder does not escape the message again. It equals pyjson.Append of the
// parsed text only when the tree is exactly what ParseObject made of it and
// PyDumpSafe holds for the text; callers check both.
func (d *Doc) AppendPyDumpQuoted(msg, q []byte) ([]byte, []byte) {
	return d.pyDump(msg, q, 1)
}

// PyDumpSafe reports whether AppendPyDumpQuoted prints the tree parsed
// from raw as pyjson.Append prints raw. Every escape decodes to text that
// AppendQuoted writes back as pyjson does, except a \uD800-\uDFFF escape
// (a lone surrogate keeps its escape in pyjson but cannot be held as
// UTF-8): raw must have none. An escaped backslash before "ud" makes this
// say false too, which only costs the slower way.
func PyDumpSafe(raw []byte) bool {
	for i := 0; i < len(raw); i += 2 { // past the backslash and the escaped byte
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return true
		}
		i += j
		if i+2 < len(raw) && raw[i+1] == 'u' && (raw[i+2] == 'd' || raw[i+2] == 'D') {
			return false
		}
	}
	return true
}

func (d *Doc) pyDump(msg, q []byte, n Node) ([]byte, []byte) {
	x := &d.nodes[n]
	switch x.kind {
	case Object:
		msg, q = append(msg, '{'), append(q, '{')
		for c := x.first; c != Nil; c = d.nodes[c].next {
			if c != x.first {
				msg, q = append(msg, ',', ' '), append(q, ',', ' ')
			}
			msg, q = pyDumpString(msg, q, d.bytes(d.nodes[c].key), d.nodes[c].kplain)
			msg, q = append(msg, ':', ' '), append(q, ':', ' ')
			msg, q = d.pyDump(msg, q, c)
		}
		return append(msg, '}'), append(q, '}')
	case Array:
		msg, q = append(msg, '['), append(q, '[')
		for c := x.first; c != Nil; c = d.nodes[c].next {
			if c != x.first {
				msg, q = append(msg, ',', ' '), append(q, ',', ' ')
			}
			msg, q = d.pyDump(msg, q, c)
		}
		return append(msg, ']'), append(q, ']')
	case String:
		return pyDumpString(msg, q, d.bytes(x.val), x.vplain)
	case Number:
		start := len(msg)
		msg = pyjson.AppendNumber(msg, d.bytes(x.val))
		return msg, append(q, msg[start:]...) // digits, sign, '.', 'e', "Infinity": nothing to escape
	case True:
		return append(msg, "true"...), append(q, "true"...)
	case False:
		return append(msg, "false"...), append(q, "false"...)
	}
	return append(msg, "null"...), append(q, "null"...)
}

// pyDumpString writes s as a string literal to msg and that literal,
// escaped, to q.
func pyDumpString(msg, q, s []byte, plain bool) ([]byte, []byte) {
	if plain {
		msg = append(msg, '"')
		msg = append(msg, s...)
		msg = append(msg, '"')
		q = append(q, '\\', '"')
		q = append(q, s...)
		return msg, append(q, '\\', '"')
	}
	start := len(msg)
	msg = pyjson.AppendQuoted(msg, s)
	mark := len(q)
	q = pyjson.AppendQuoted(q, msg[start:])
	n := copy(q[mark:], q[mark+1:len(q)-1]) // drop the literal's own quotes
	return msg, q[:mark+n]
}

// SetStringBytesQuoted is SetStringBytes with the value's JSON string
// literal contents already escaped (pyjson.AppendQuoted of val without its
// quotes): the encoder copies quoted instead of escaping val. One member of
// a document can carry it (normalize's @message); a later change to that
// member's value makes the encoder escape the new value as usual.
func (d *Doc) SetStringBytesQuoted(obj Node, key string, val, quoted []byte) Node {
	c := d.SetStringBytes(obj, key, val)
	d.quoted = quotedVal{n: c, val: d.nodes[c].val, q: d.strb(quoted)}
	return c
}

// quotedVal is the pre-escaped value of member n while n still holds the
// string at val (spans are never reused before Reset, so an equal span
// means an unchanged value).
type quotedVal struct {
	n      Node
	val, q span
}

// quotedFor returns the pre-escaped contents of string node c, if any.
func (d *Doc) quotedFor(c Node, x *node) ([]byte, bool) {
	if c != d.quoted.n || c == Nil || x.kind != String || x.val != d.quoted.val {
		return nil, false
	}
	return d.bytes(d.quoted.q), true
}
