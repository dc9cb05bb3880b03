package doc

import (
	"errors"
	"fmt"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// ErrNotObject is returned by ParseObject when the JSON value is valid but
// not an object.
var ErrNotObject = errors.New("JSON value is not an object")

// ParseObject parses raw (one JSON object, surrounding whitespace allowed)
// into the root object of d, which should be empty. It follows Python's
// json.loads: a repeated key keeps its first position and takes the last
// value; invalid UTF-8 bytes in strings are dropped. On error the document
// content is unspecified (Reset it).
func (d *Doc) ParseObject(raw []byte) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		if pyjson.Valid(raw) {
			return ErrNotObject
		}
		return fmt.Errorf("%w: expecting '{' at byte %d", pyjson.ErrSyntax, i)
	}
	j, err := d.parseInto(raw, i, 1, 0)
	d.parsed()
	if err != nil {
		return err
	}
	if j = skipWS(raw, j); j != len(raw) {
		return fmt.Errorf("%w: extra data at byte %d", pyjson.ErrSyntax, j)
	}
	return nil
}

// ParseValue parses one JSON value and sets it as obj[key].
func (d *Doc) ParseValue(obj Node, key string, raw []byte) error {
	c := d.member(obj, key)
	j, err := d.parseInto(raw, skipWS(raw, 0), c, 0)
	d.parsed()
	if err != nil {
		return err
	}
	if j = skipWS(raw, j); j != len(raw) {
		return fmt.Errorf("%w: extra data at byte %d", pyjson.ErrSyntax, j)
	}
	return nil
}

// parsed ends a parse. A slow Doc (Doc.slow) forgets which strings the
// parser found plain, so that nothing it encodes or dumps relies on a mark.
func (d *Doc) parsed() {
	if d.slow {
		for i := range d.nodes {
			d.nodes[i].kplain, d.nodes[i].vplain = false, false
		}
	}
}

func skipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func synErr(i int, msg string) error {
	return fmt.Errorf("%w: %s at byte %d", pyjson.ErrSyntax, msg, i)
}

const maxDepth = 900

// parseInto parses the value at s[i] into existing node n.
func (d *Doc) parseInto(s []byte, i int, n Node, depth int) (int, error) {
	if i >= len(s) {
		return i, synErr(i, "expecting value")
	}
	if depth > maxDepth {
		return i, synErr(i, "nesting too deep")
	}
	d.setKind(n, Null, span{})
	switch c := s[i]; {
	case c == '{':
		d.nodes[n].kind = Object
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return i, synErr(i, "expecting property name enclosed in double quotes")
			}
			off := len(d.arena)
			var plain bool
			var err error
			if i, plain, err = d.parseString(s, i); err != nil {
				return i, err
			}
			key := d.arena[off:]
			var c Node
			var h uint32
			if n == 1 { // the root's index: hash the key once
				h = hashKey(unsafeString(key))
				c = d.rootLookup(unsafeString(key), h)
			} else {
				c = d.childBytes(n, key)
			}
			switch {
			case c != Nil:
				d.arena = d.arena[:off] // duplicate key: keep the first position
			case n == 1:
				c = d.newNode(Null, span{uint32(off), uint32(len(key))}, plain)
				d.linkRoot(c, h)
			default:
				c = d.newNode(Null, span{uint32(off), uint32(len(key))}, plain)
				d.link(n, c)
			}
			i = skipWS(s, i)
			if i >= len(s) || s[i] != ':' {
				return i, synErr(i, "expecting ':' delimiter")
			}
			i, err = d.parseInto(s, skipWS(s, i+1), c, depth+1)
			if err != nil {
				return i, err
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, synErr(i, "unterminated object")
			}
			if s[i] == '}' {
				return i + 1, nil
			}
			if s[i] != ',' {
				return i, synErr(i, "expecting ',' delimiter")
			}
			i = skipWS(s, i+1)
		}
	case c == '[':
		d.nodes[n].kind = Array
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, nil
		}
		for {
			e := d.newNode(Null, span{}, false)
			d.link(n, e)
			var err error
			i, err = d.parseInto(s, i, e, depth+1)
			if err != nil {
				return i, err
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, synErr(i, "unterminated array")
			}
			if s[i] == ']' {
				return i + 1, nil
			}
			if s[i] != ',' {
				return i, synErr(i, "expecting ',' delimiter")
			}
			i = skipWS(s, i+1)
		}
	case c == '"':
		off := len(d.arena)
		plain, err := false, error(nil)
		if i, plain, err = d.parseString(s, i); err != nil {
			return i, err
		}
		x := &d.nodes[n]
		x.kind = String
		x.val = span{uint32(off), uint32(len(d.arena) - off)}
		x.vplain = plain
		return i, nil
	case c == 't':
		if len(s)-i >= 4 && string(s[i:i+4]) == "true" {
			d.nodes[n].kind = True
			return i + 4, nil
		}
	case c == 'f':
		if len(s)-i >= 5 && string(s[i:i+5]) == "false" {
			d.nodes[n].kind = False
			return i + 5, nil
		}
	case c == 'n':
		if len(s)-i >= 4 && string(s[i:i+4]) == "null" {
			d.nodes[n].kind = Null
			return i + 4, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		j, _, err := pyjson.ScanNumber(s, i)
		if err != nil {
			return j, err
		}
		d.setKind(n, Number, d.strb(s[i:j]))
		return j, nil
	}
	return i, synErr(i, "expecting value")
}

// parseString appends the decoded string literal at s[i] (a '"') to the
// arena and returns the index after it; plain reports that the literal had
// no escapes and only plain text, which the encoder then copies as is.
func (d *Doc) parseString(s []byte, i int) (next int, plain bool, err error) {
	off := len(d.arena)
	var j int
	d.arena, j = pyjson.AppendPlainRun(d.arena, s, i+1)
	if j < len(s) && s[j] == '"' {
		return j + 1, true, nil
	}
	d.arena = d.arena[:off] // escapes or non-ASCII: decode it properly
	d.arena, next, err = pyjson.DecodeString(d.arena, s, i)
	return next, false, err
}
