package ref

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
	if err != nil {
		return err
	}
	if j = skipWS(raw, j); j != len(raw) {
		return fmt.Errorf("%w: extra data at byte %d", pyjson.ErrSyntax, j)
	}
	return nil
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
	d.nodes[n].first, d.nodes[n].last = Nil, Nil
	d.nodes[n].val = span{}
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
			var err error
			d.arena, i, err = pyjson.DecodeString(d.arena, s, i)
			if err != nil {
				return i, err
			}
			key := d.arena[off:]
			c := d.childBytes(n, key)
			if c == Nil {
				c = d.newNode(Null, span{uint32(off), uint32(len(key))})
				d.link(n, c)
			} else {
				d.arena = d.arena[:off] // duplicate key: keep the first position
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
			e := d.newNode(Null, span{})
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
		var err error
		d.arena, i, err = pyjson.DecodeString(d.arena, s, i)
		if err != nil {
			return i, err
		}
		d.nodes[n].kind = String
		d.nodes[n].val = span{uint32(off), uint32(len(d.arena) - off)}
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
		d.nodes[n].kind = Number
		d.nodes[n].val = d.strb(s[i:j])
		return j, nil
	}
	return i, synErr(i, "expecting value")
}
