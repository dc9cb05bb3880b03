package decode

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// This file reproduces what es-loader's FileFormatJson.convert_lograw_to_dict
// does with a JSON record that json.loads rejects (via_cwl and via_firelens
// messages): the error text Python 3.11's json module gives (it becomes
// error.message), and the one repair it tries, for "Invalid \escape":
// every `\x` preceded by a character other than a backslash gets its
// backslash doubled (re.sub(r'([^\\])\\x', r'\1\\\\x', lograw)) and the
// result is parsed again with strict=False (raw control characters allowed
// inside strings). Only the slow path uses it: a record that parses is never
// scanned twice.

// pyJSONError is a Python json.JSONDecodeError: msg and pos (in characters).
type pyJSONError struct {
	msg string
	pos int
}

// text is str(JSONDecodeError) for document s (s is where pos points).
func (e *pyJSONError) text(s []byte) string {
	b := byteOffset(s, e.pos)
	line := bytes.Count(s[:b], []byte{'\n'}) + 1
	col := e.pos + 1
	if nl := bytes.LastIndexByte(s[:b], '\n'); nl >= 0 {
		col = e.pos - utf8.RuneCount(s[:nl])
	}
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.msg, line, col, e.pos)
}

// byteOffset converts a character position of s into a byte offset.
func byteOffset(s []byte, pos int) int {
	b := 0
	for ; pos > 0 && b < len(s); pos-- {
		_, size := utf8.DecodeRune(s[b:])
		b += size
	}
	return b
}

const (
	pyErrEscape = `Invalid \escape`
	pyErrValue  = "Expecting value"
)

// pyJSONCheck scans s as Python 3.11's json.loads(s, strict=strict) does
// and returns its error, or nil when Python accepts s (including NaN,
// Infinity and values that are not objects). s must be valid UTF-8.
func pyJSONCheck(s []byte, strict bool) *pyJSONError {
	if bytes.HasPrefix(s, []byte("\ufeff")) {
		return &pyJSONError{"Unexpected UTF-8 BOM (decode using utf-8-sig)", 0}
	}
	sc := pyScanner{s: s, strict: strict}
	i, err := sc.value(pyWS(s, 0), 0)
	if err != nil {
		if err.msg == pyErrDepth {
			return nil
		}
		return sc.errAt(err)
	}
	if i = pyWS(s, i); i != len(s) {
		return sc.errAt(&pyErrByte{"Extra data", i})
	}
	return nil
}

// pyErrByte is an error at a byte offset (converted to characters once).
type pyErrByte struct {
	msg string
	at  int
}

type pyScanner struct {
	s      []byte
	strict bool
}

func (sc *pyScanner) errAt(e *pyErrByte) *pyJSONError {
	return &pyJSONError{e.msg, utf8.RuneCount(sc.s[:e.at])}
}

func pyWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// pyMaxDepth: deeper documents make Python raise RecursionError, not a
// JSONDecodeError: pyJSONCheck then reports nothing and the caller keeps
// its own parser's error.
const pyMaxDepth = 900

const pyErrDepth = "nesting too deep"

// value is scan_once: a value must start at s[i].
func (sc *pyScanner) value(i, depth int) (int, *pyErrByte) {
	s := sc.s
	if depth > pyMaxDepth {
		return i, &pyErrByte{pyErrDepth, i}
	}
	if i >= len(s) {
		return i, &pyErrByte{pyErrValue, i}
	}
	switch c := s[i]; {
	case c == '"':
		return sc.str(i)
	case c == '{':
		return sc.object(i+1, depth)
	case c == '[':
		return sc.array(i+1, depth)
	case c == 'n' && bytes.HasPrefix(s[i:], []byte("null")):
		return i + 4, nil
	case c == 't' && bytes.HasPrefix(s[i:], []byte("true")):
		return i + 4, nil
	case c == 'f' && bytes.HasPrefix(s[i:], []byte("false")):
		return i + 5, nil
	case c == 'N' && bytes.HasPrefix(s[i:], []byte("NaN")):
		return i + 3, nil
	case c == 'I' && bytes.HasPrefix(s[i:], []byte("Infinity")):
		return i + 8, nil
	case c == '-' && bytes.HasPrefix(s[i:], []byte("-Infinity")):
		return i + 9, nil
	}
	return sc.number(i)
}

// number is _match_number: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, taking
// the fraction and exponent only when complete.
func (sc *pyScanner) number(i int) (int, *pyErrByte) {
	s := sc.s
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	digits := func(k int) int {
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		return k
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		j = digits(j)
	default:
		return i, &pyErrByte{pyErrValue, i}
	}
	if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
		j = digits(j + 1)
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if e := digits(k); e > k {
			j = e
		}
	}
	return j, nil
}

func (sc *pyScanner) object(i, depth int) (int, *pyErrByte) {
	s := sc.s
	i = pyWS(s, i)
	if i < len(s) && s[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return i, &pyErrByte{"Expecting property name enclosed in double quotes", i}
		}
		var err *pyErrByte
		if i, err = sc.str(i); err != nil {
			return i, err
		}
		i = pyWS(s, i)
		if i >= len(s) || s[i] != ':' {
			return i, &pyErrByte{"Expecting ':' delimiter", i}
		}
		if i, err = sc.value(pyWS(s, i+1), depth+1); err != nil {
			return i, err
		}
		i = pyWS(s, i)
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		if i >= len(s) || s[i] != ',' {
			return i, &pyErrByte{"Expecting ',' delimiter", i}
		}
		i = pyWS(s, i+1)
	}
}

func (sc *pyScanner) array(i, depth int) (int, *pyErrByte) {
	s := sc.s
	i = pyWS(s, i)
	if i < len(s) && s[i] == ']' {
		return i + 1, nil
	}
	for {
		var err *pyErrByte
		if i, err = sc.value(i, depth+1); err != nil {
			return i, err
		}
		i = pyWS(s, i)
		if i < len(s) && s[i] == ']' {
			return i + 1, nil
		}
		if i >= len(s) || s[i] != ',' {
			return i, &pyErrByte{"Expecting ',' delimiter", i}
		}
		i = pyWS(s, i+1)
	}
}

// str is scanstring (C version): s[begin] is the opening quote.
func (sc *pyScanner) str(begin int) (int, *pyErrByte) {
	s := sc.s
	unterminated := &pyErrByte{"Unterminated string starting at", begin}
	i := begin + 1
	for {
		for i < len(s) && s[i] != '"' && s[i] != '\\' {
			if sc.strict && s[i] < 0x20 {
				return i, &pyErrByte{"Invalid control character at", i}
			}
			i++
		}
		if i >= len(s) {
			return i, unterminated
		}
		if s[i] == '"' {
			return i + 1, nil
		}
		// backslash at i
		if i+1 >= len(s) {
			return i, unterminated
		}
		switch s[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
			continue
		case 'u':
		default:
			return i, &pyErrByte{pyErrEscape, i}
		}
		// \uXXXX: Python needs the 4 digits and at least one more byte
		end := i + 6
		if end >= len(s) {
			return i, &pyErrByte{`Invalid \uXXXX escape`, i + 1}
		}
		c, ok := hex4(s[i+2 : end])
		if !ok {
			return i, &pyErrByte{`Invalid \uXXXX escape`, i + 1}
		}
		if c >= 0xd800 && c <= 0xdbff && end+6 < len(s) && s[end] == '\\' && s[end+1] == 'u' {
			c2, ok := hex4(s[end+2 : end+6])
			if !ok {
				return end, &pyErrByte{`Invalid \uXXXX escape`, end + 1}
			}
			if c2 >= 0xdc00 && c2 <= 0xdfff {
				end += 6
			}
		}
		i = end
	}
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// doubleBackslashX is es-loader's re.sub(r'([^\\])\\x', r'\1\\\\x', s):
// left to right, non-overlapping, a `\x` preceded by a character that is
// not a backslash becomes `\\x`. dst is reused.
func doubleBackslashX(dst, s []byte) []byte {
	dst = dst[:0]
	i := 0
	for i < len(s) {
		if i+2 < len(s) && s[i] != '\\' && s[i+1] == '\\' && s[i+2] == 'x' {
			dst = append(dst, s[i], '\\', '\\', 'x')
			i += 3
			continue
		}
		dst = append(dst, s[i])
		i++
	}
	return dst
}

// escapeControlInStrings rewrites raw control characters inside string
// literals as \u00XX escapes, so that a strict parser reads s as Python's
// json.loads(s, strict=False) does (control characters outside strings
// stay, and stay errors). A control character right after a backslash is
// left alone: it is an invalid escape either way.
func escapeControlInStrings(dst, s []byte) []byte {
	const hexd = "0123456789abcdef"
	dst = dst[:0]
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !in:
			in = c == '"'
		case c == '\\':
			if i+1 < len(s) {
				dst = append(dst, c)
				i++
				c = s[i]
			}
		case c == '"':
			in = false
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
