package ref

import (
	"unicode"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// AppendPyStr appends Python's str() of the value json.loads would have
// produced for n: strings as is, numbers as Python int/float, True/False/
// None, dicts and lists as their repr. es-loader stringifies values this
// way (ECS scalars, json_to_text, sf_ scripts).
func (d *Doc) AppendPyStr(dst []byte, n Node) []byte {
	if d.nodes[n].kind == String {
		return append(dst, d.Bytes(n)...)
	}
	return d.AppendPyRepr(dst, n)
}

// AppendPyRepr appends Python's repr() of the value of n.
func (d *Doc) AppendPyRepr(dst []byte, n Node) []byte {
	switch d.nodes[n].kind {
	case Null, Invalid:
		return append(dst, "None"...)
	case True:
		return append(dst, "True"...)
	case False:
		return append(dst, "False"...)
	case Number:
		return pyjson.AppendNumber(dst, d.Bytes(n))
	case String:
		return AppendPyStrRepr(dst, d.Bytes(n))
	case Array:
		dst = append(dst, '[')
		for c := d.nodes[n].first; c != Nil; c = d.nodes[c].next {
			if c != d.nodes[n].first {
				dst = append(dst, ',', ' ')
			}
			dst = d.AppendPyRepr(dst, c)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for c := d.nodes[n].first; c != Nil; c = d.nodes[c].next {
		if c != d.nodes[n].first {
			dst = append(dst, ',', ' ')
		}
		dst = AppendPyStrRepr(dst, d.Key(c))
		dst = append(dst, ':', ' ')
		dst = d.AppendPyRepr(dst, c)
	}
	return append(dst, '}')
}

const lowerHex = "0123456789abcdef"

// AppendPyStrRepr appends Python's repr() of the string s.
func AppendPyStrRepr(dst, s []byte) []byte {
	quote := byte('\'')
	hasSingle, hasDouble := false, false
	for _, c := range s {
		switch c {
		case '\'':
			hasSingle = true
		case '"':
			hasDouble = true
		}
	}
	if hasSingle && !hasDouble {
		quote = '"'
	}
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r < 0x20 || r == 0x7f:
			dst = append(dst, '\\', 'x', lowerHex[r>>4], lowerHex[r&0xf])
		case r < 0x80 || (r != ' ' && unicode.IsPrint(r)) || r == ' ':
			dst = utf8.AppendRune(dst, r)
		case r < 0x100:
			dst = append(dst, '\\', 'x', lowerHex[r>>4], lowerHex[r&0xf])
		case r < 0x10000:
			dst = append(dst, '\\', 'u', lowerHex[r>>12], lowerHex[r>>8&0xf], lowerHex[r>>4&0xf], lowerHex[r&0xf])
		default:
			dst = append(dst, '\\', 'U', '0', '0', lowerHex[r>>20&0xf], lowerHex[r>>16&0xf], lowerHex[r>>12&0xf], lowerHex[r>>8&0xf], lowerHex[r>>4&0xf], lowerHex[r&0xf])
		}
	}
	return append(dst, quote)
}

// Truthy is Python's bool() of the value of n.
func (d *Doc) Truthy(n Node) bool {
	switch d.nodes[n].kind {
	case True:
		return true
	case String:
		return d.nodes[n].val.n > 0
	case Number:
		for _, c := range d.Bytes(n) {
			if c >= '1' && c <= '9' {
				return true
			}
			if c == 'e' || c == 'E' {
				break
			}
		}
		return false
	case Object, Array:
		return d.nodes[n].first != Nil
	}
	return false
}
