// Package pystr holds Python's str whitespace rule, the one es-loader's
// str.strip(), str.rstrip() and str.split() use, in one place: every stage
// and the schema loader that must strip or split like Python calls it here.
//
// Python's white space is not Go's unicode.IsSpace: it adds the ASCII
// information separators 0x1c-0x1f. The rune set (str.isspace()) is
// ' ' \t \n \v \f \r, 0x1c-0x1f, U+0085, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000.
package pystr

import (
	"strings"
	"unicode/utf8"
)

// asciiSpace[c]: c is an ASCII byte Python treats as white space.
var asciiSpace = [utf8.RuneSelf]bool{
	' ': true, '\t': true, '\n': true, '\v': true, '\f': true, '\r': true,
	0x1c: true, 0x1d: true, 0x1e: true, 0x1f: true,
}

// IsSpace reports whether r is white space for Python's str.strip/split.
func IsSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && asciiSpace[r]
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// SpaceAt reports whether b[i:] starts with a white-space rune and that
// rune's length in bytes (1 for an invalid byte).
func SpaceAt(b []byte, i int) (bool, int) {
	if c := b[i]; c < utf8.RuneSelf {
		return asciiSpace[c], 1
	}
	r, size := utf8.DecodeRune(b[i:])
	return IsSpace(r), size
}

// Strip is s.strip().
func Strip(s string) string { return strings.TrimFunc(s, IsSpace) }

// Fields is s.split() with no separator.
func Fields(s string) []string { return strings.FieldsFunc(s, IsSpace) }

// StripBytes is str.strip() on UTF-8 bytes; the result aliases b.
func StripBytes(b []byte) []byte { return RStripBytes(LStripBytes(b)) }

// LStripBytes is str.lstrip(); the result aliases b.
func LStripBytes(b []byte) []byte {
	for len(b) > 0 {
		sp, size := SpaceAt(b, 0)
		if !sp {
			break
		}
		b = b[size:]
	}
	return b
}

// RStripBytes is str.rstrip(); the result aliases b.
func RStripBytes(b []byte) []byte {
	for len(b) > 0 {
		c := b[len(b)-1]
		if c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			b = b[:len(b)-1]
			continue
		}
		r, size := utf8.DecodeLastRune(b)
		if !IsSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}

// AppendFields appends the fields of b split like str.split() with no
// separator; the fields alias b.
func AppendFields(dst [][]byte, b []byte) [][]byte {
	if isASCII(b) { // the common case: a table lookup per byte
		i := 0
		for {
			for i < len(b) && asciiSpace[b[i]] {
				i++
			}
			if i >= len(b) {
				return dst
			}
			start := i
			for i < len(b) && !asciiSpace[b[i]] {
				i++
			}
			dst = append(dst, b[start:i])
		}
	}
	i := 0
	for i < len(b) {
		for i < len(b) {
			sp, size := SpaceAt(b, i)
			if !sp {
				break
			}
			i += size
		}
		if i >= len(b) {
			break
		}
		start := i
		for i < len(b) {
			sp, size := SpaceAt(b, i)
			if sp {
				break
			}
			i += size
		}
		dst = append(dst, b[start:i])
	}
	return dst
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
