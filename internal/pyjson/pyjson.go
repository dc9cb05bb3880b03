// Package pyjson re-serialises JSON text exactly as Python's
// json.dumps(json.loads(text), ensure_ascii=False) would print it.
//
// es-loader (the Python loader siemstream replaces) uses that string as the
// @message of every JSON record and, for JSON log types without doc_id, takes
// the MD5 of it as the document _id. Reproducing it byte for byte keeps _ids
// stable across the migration.
//
// Rules reproduced (CPython 3.11 json module, default options):
//   - separators ", " and ": ", no indentation, key order as in the input;
//   - a key repeated in one object keeps its first position and takes the
//     last value (dict semantics of json.loads);
//   - strings: non-ASCII kept as UTF-8; `"` `\` and control characters
//     escaped (\n \r \t \b \f, others \u00XX with lower-case hex); `/` and
//     DEL are not escaped; \uXXXX surrogate pairs are combined; invalid UTF-8
//     bytes are dropped (es-loader decodes objects with errors='ignore');
//   - numbers: integers (no fraction, no exponent) as Python int (so "-0"
//     prints "0"), everything else as Python repr(float) (1e5 -> 100000.0,
//     1e-05, 1e+16, -0.0; overflow prints Infinity / -Infinity as Python does);
//   - true, false, null.
//
// Deliberate differences: NaN/Infinity literals in the input (which Python's
// json.loads accepts) are rejected as invalid JSON; a lone UTF-16 surrogate
// escape is printed as its \uXXXX escape (Python would fail to encode it).
//
// The functions append to a caller-supplied buffer and allocate nothing in
// the common case (objects with up to 64 keys per level and no escapes in
// repeated keys). They copy eight bytes at a time and may write up to 16
// bytes past the length they return, inside dst's spare capacity: the
// source must not live in that spare capacity.
package pyjson

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// ErrSyntax is wrapped by every error Append returns for malformed input.
var ErrSyntax = errors.New("invalid JSON")

// maxDepth bounds nesting like Python's recursion limit does (roughly).
const maxDepth = 900

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }
func (e *syntaxError) Unwrap() error { return ErrSyntax }

// Append appends the Python json.dumps(..., ensure_ascii=False) form of the
// single JSON value in src (surrounding whitespace allowed) to dst.
// On error dst is returned unchanged (truncated to its original length).
func Append(dst, src []byte) ([]byte, error) {
	return appendOpt(dst, src, false, false)
}

// AppendASCII is Append with Python's default ensure_ascii=True: every
// non-ASCII character and DEL are written as \uXXXX escapes. es-loader
// measures the size of a document with this form (65536-character rule).
func AppendASCII(dst, src []byte) ([]byte, error) {
	return appendOpt(dst, src, true, false)
}

// appendOpt is Append (ascii false) or AppendASCII; slow takes the plain
// path (see state.slow), which only the tests ask for.
func appendOpt(dst, src []byte, ascii, slow bool) ([]byte, error) {
	st := statePool.Get().(*state)
	st.src = src
	st.ascii = ascii
	st.slow = slow
	st.members = st.members[:0]
	st.keys = st.keys[:0]
	n0 := len(dst)
	i := skipWS(src, 0)
	out, j, err := st.value(dst, i, 0)
	if err == nil {
		j = skipWS(src, j)
		if j != len(src) {
			err = &syntaxError{j, "extra data after the value"}
		}
	}
	st.src = nil
	statePool.Put(st)
	if err != nil {
		return dst[:n0], err
	}
	return out, nil
}

// Valid reports whether src holds exactly one JSON value that Append accepts.
func Valid(src []byte) bool {
	i := skipWS(src, 0)
	j, err := skipValue(src, i, 0)
	if err != nil {
		return false
	}
	return skipWS(src, j) == len(src)
}

type member struct {
	kOff, kLen int // decoded key: in state.keys, or in src when inSrc
	vOff, vEnd int // raw value span in src
	final      int // index (relative) of the member whose value is printed; -1 = dropped
	h          uint32
	inSrc      bool
}

// quote appends the decoded key k as a string literal.
func (st *state) quote(dst, k []byte) []byte {
	if st.slow {
		return appendQuotedSlow(dst, k, st.ascii)
	}
	return appendQuoted(dst, k, st.ascii)
}

func (st *state) key(m *member) []byte {
	if m.inSrc {
		return st.src[m.kOff : m.kOff+m.kLen]
	}
	return st.keys[m.kOff : m.kOff+m.kLen]
}

// keyHash is a cheap hash of a member name: it only filters the duplicate
// check (names are compared when hashes match), so speed matters more than
// quality. Its top six bits pick the object's bloom-filter bit.
func keyHash(k []byte) uint32 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f
	n := len(k)
	x := uint64(n) * m2
	switch {
	case n >= 8:
		x ^= binary.LittleEndian.Uint64(k)*m1 ^ binary.LittleEndian.Uint64(k[n-8:])
	case n >= 4:
		x ^= uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[n-4:]))<<32
	case n > 0:
		x ^= uint64(k[0]) | uint64(k[n/2])<<8 | uint64(k[n-1])<<16
	}
	x *= m1
	return uint32(x >> 32)
}

type state struct {
	src   []byte
	ascii bool
	// slow: take the plain, obviously correct path instead of every fast
	// one (byte-at-a-time copies and escapes, each key decoded and
	// compared with all before it). The differential tests and fuzz
	// targets compare the two; production never sets it.
	slow    bool
	members []member
	keys    []byte
}

var statePool = sync.Pool{New: func() any { return &state{members: make([]member, 0, 64), keys: make([]byte, 0, 512)} }}

func skipWS(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (st *state) value(dst []byte, i, depth int) ([]byte, int, error) {
	s := st.src
	if i >= len(s) {
		return dst, i, &syntaxError{i, "expecting value"}
	}
	if depth > maxDepth {
		return dst, i, &syntaxError{i, "nesting too deep"}
	}
	switch c := s[i]; {
	case c == '{':
		return st.object(dst, i, depth)
	case c == '[':
		dst = append(dst, '[')
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return append(dst, ']'), i + 1, nil
		}
		for n := 0; ; n++ {
			if n > 0 {
				dst = append(dst, ',', ' ')
			}
			var err error
			dst, i, err = st.value(dst, i, depth+1)
			if err != nil {
				return dst, i, err
			}
			var more bool
			if i, more, err = nextItem(s, i, ']'); err != nil || !more {
				if err == nil {
					dst = append(dst, ']')
				}
				return dst, i, err
			}
		}
	case c == '"':
		start := len(dst)
		dst = append(dst, '"')
		dst, j, err := appendUnquoted(dst, s, i, st.ascii, st.slow)
		if err != nil {
			return dst[:start], j, err
		}
		return append(dst, '"'), j, nil
	case c == 't':
		if hasPrefix(s[i:], "true") {
			return append(dst, "true"...), i + 4, nil
		}
	case c == 'f':
		if hasPrefix(s[i:], "false") {
			return append(dst, "false"...), i + 5, nil
		}
	case c == 'n':
		if hasPrefix(s[i:], "null") {
			return append(dst, "null"...), i + 4, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		j, isFloat, err := scanNumber(s, i)
		if err != nil {
			return dst, j, err
		}
		return appendNumber(dst, s[i:j], isFloat), j, nil
	}
	return dst, i, &syntaxError{i, "expecting value"}
}

// colon moves past the ':' after a member name ending at s[i], and the
// whitespace around it.
func colon(s []byte, i int) (int, error) {
	i = skipWS(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, &syntaxError{i, "expecting ':' delimiter"}
	}
	return skipWS(s, i+1), nil
}

// nextItem moves past what follows a member or an element at s[i]: a ','
// (more is true, the next item starts at the result) or the closing byte
// (']' or '}'; more is false, the result is just past it).
func nextItem(s []byte, i int, closer byte) (next int, more bool, err error) {
	i = skipWS(s, i)
	if i < len(s) {
		switch s[i] {
		case ',':
			return skipWS(s, i+1), true, nil
		case closer:
			return i + 1, false, nil
		}
	}
	return i, false, itemError(s, i, closer)
}

func itemError(s []byte, i int, closer byte) error {
	switch {
	case i < len(s):
		return &syntaxError{i, "expecting ',' delimiter"}
	case closer == ']':
		return &syntaxError{i, "unterminated array"}
	}
	return &syntaxError{i, "unterminated object"}
}

func hasPrefix(s []byte, p string) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }

func (st *state) object(dst []byte, i, depth int) ([]byte, int, error) {
	s := st.src
	start := i
	base := len(st.members)
	kbase := len(st.keys)
	defer func() {
		st.members = st.members[:base]
		st.keys = st.keys[:kbase]
	}()
	// Optimistic single pass: write members as they come and remember the
	// keys; only if a key repeats is the object written again with
	// Python's dict semantics (objectDedup). A key literal that is plain
	// text is its own output: it is copied as is and compared in place.
	// A 64-bit bloom filter of key hashes skips the duplicate scan for
	// (nearly) every new key.
	out := len(dst)
	dst = append(dst, '{')
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return append(dst, '}'), i + 1, nil
	}
	var bloom uint64
	if st.slow {
		bloom = ^bloom // every key scans all before it
	}
	for n := 0; ; n++ {
		if i >= len(s) || s[i] != '"' {
			return dst, i, &syntaxError{i, "expecting property name enclosed in double quotes"}
		}
		if n > 0 {
			dst = append(dst, ',', ' ')
		}
		mark := len(dst)
		dst = append(dst, '"')
		j := i + 1
		if st.slow {
			dst, j = copyPlainSlow(dst, s, j)
		} else {
			dst, j = copyPlain(dst, s, j)
		}
		m := member{kOff: i + 1, kLen: j - i - 1, inSrc: true}
		if j < len(s) && s[j] == '"' && !st.slow { // slow: decode every key
			dst = append(dst, '"')
			j++
		} else {
			dst = dst[:mark]
			m = member{kOff: len(st.keys)}
			var err error
			st.keys, j, err = decodeString(st.keys, s, i, st.slow)
			if err != nil {
				return dst, j, err
			}
			m.kLen = len(st.keys) - m.kOff
			dst = st.quote(dst, st.keys[m.kOff:])
		}
		key := st.key(&m)
		m.h = keyHash(key)
		if bit := uint64(1) << (m.h >> 26); bloom&bit == 0 {
			bloom |= bit
		} else {
			for k := base; k < len(st.members); k++ {
				if (st.slow || st.members[k].h == m.h) && string(st.key(&st.members[k])) == string(key) {
					return st.objectDedup(dst[:out], start, depth)
				}
			}
		}
		st.members = append(st.members, m)
		dst = append(dst, ':', ' ')
		var err error
		if i, err = colon(s, j); err != nil {
			return dst, i, err
		}
		dst, i, err = st.value(dst, i, depth+1)
		if err != nil {
			return dst, i, err
		}
		var more bool
		if i, more, err = nextItem(s, i, '}'); err != nil || !more {
			if err == nil {
				dst = append(dst, '}')
			}
			return dst, i, err
		}
	}
}

// objectDedup writes the object at s[i] whose keys repeat: the first
// occurrence keeps its position and takes the value of the last one.
func (st *state) objectDedup(dst []byte, i, depth int) ([]byte, int, error) {
	s := st.src
	base := len(st.members)
	kbase := len(st.keys)
	defer func() {
		st.members = st.members[:base]
		st.keys = st.keys[:kbase]
	}()
	i = skipWS(s, i+1)
	for {
		if i >= len(s) || s[i] != '"' {
			return dst, i, &syntaxError{i, "expecting property name enclosed in double quotes"}
		}
		kOff := len(st.keys)
		var err error
		var j int
		st.keys, j, err = decodeString(st.keys, s, i, st.slow)
		if err != nil {
			return dst, j, err
		}
		if i, err = colon(s, j); err != nil {
			return dst, i, err
		}
		vOff := i
		i, err = skipValue(s, i, depth+1)
		if err != nil {
			return dst, i, err
		}
		st.members = append(st.members, member{kOff: kOff, kLen: len(st.keys) - kOff, vOff: vOff, vEnd: i, final: len(st.members) - base})
		var more bool
		if i, more, err = nextItem(s, i, '}'); err != nil {
			return dst, i, err
		}
		if !more {
			break
		}
	}
	ms := st.members[base:]
	for a := 1; a < len(ms); a++ {
		ka := st.keys[ms[a].kOff : ms[a].kOff+ms[a].kLen]
		for b := 0; b < a; b++ {
			if ms[b].final < 0 {
				continue
			}
			if string(st.keys[ms[b].kOff:ms[b].kOff+ms[b].kLen]) == string(ka) {
				ms[b].final = a
				ms[a].final = -1
				break
			}
		}
	}
	dst = append(dst, '{')
	first := true
	for k := range ms {
		m := ms[k]
		if m.final < 0 {
			continue
		}
		if !first {
			dst = append(dst, ',', ' ')
		}
		first = false
		dst = st.quote(dst, st.keys[m.kOff:m.kOff+m.kLen])
		dst = append(dst, ':', ' ')
		v := ms[m.final]
		var err error
		dst, _, err = st.value(dst, v.vOff, depth+1)
		if err != nil {
			return dst, v.vOff, err
		}
		ms = st.members[base : base+len(ms)]
	}
	return append(dst, '}'), i, nil
}

// skipValue validates and skips one JSON value starting at s[i].
func skipValue(s []byte, i, depth int) (int, error) {
	if i >= len(s) {
		return i, &syntaxError{i, "expecting value"}
	}
	if depth > maxDepth {
		return i, &syntaxError{i, "nesting too deep"}
	}
	switch c := s[i]; {
	case c == '{':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return i, &syntaxError{i, "expecting property name enclosed in double quotes"}
			}
			j, err := skipString(s, i)
			if err != nil {
				return j, err
			}
			if i, err = colon(s, j); err != nil {
				return i, err
			}
			if i, err = skipValue(s, i, depth+1); err != nil {
				return i, err
			}
			var more bool
			if i, more, err = nextItem(s, i, '}'); err != nil || !more {
				return i, err
			}
		}
	case c == '[':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(s, i, depth+1); err != nil {
				return i, err
			}
			var more bool
			if i, more, err = nextItem(s, i, ']'); err != nil || !more {
				return i, err
			}
		}
	case c == '"':
		return skipString(s, i)
	case c == 't':
		if hasPrefix(s[i:], "true") {
			return i + 4, nil
		}
	case c == 'f':
		if hasPrefix(s[i:], "false") {
			return i + 5, nil
		}
	case c == 'n':
		if hasPrefix(s[i:], "null") {
			return i + 4, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		j, _, err := scanNumber(s, i)
		return j, err
	}
	return i, &syntaxError{i, "expecting value"}
}

// ScanNumber returns the end of the JSON number starting at s[i] and whether
// Python would make it a float (it has a fraction or an exponent).
func ScanNumber(s []byte, i int) (end int, isFloat bool, err error) { return scanNumber(s, i) }

func scanNumber(s []byte, i int) (int, bool, error) {
	start := i
	if s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return i, false, &syntaxError{start, "expecting value"}
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return i, false, &syntaxError{start, "expecting value"}
	}
	isFloat := false
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		isFloat = true
		i += 2
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			isFloat = true
			i = j
		}
	}
	// Python's scanner stops at the first character that does not continue
	// the number; what follows must then be a delimiter, which the caller
	// checks. A leading zero followed by digits ("01") is such a case.
	return i, isFloat, nil
}

// AppendNumber appends Python's str() of the JSON number text num (as
// json.loads would have parsed it): integers unchanged except "-0" -> "0",
// floats as repr(float).
func AppendNumber(dst, num []byte) []byte {
	isFloat := false
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			break
		}
	}
	return appendNumber(dst, num, isFloat)
}

func appendNumber(dst, num []byte, isFloat bool) []byte {
	if !isFloat {
		if string(num) == "-0" {
			return append(dst, '0')
		}
		return append(dst, num...)
	}
	f, _ := strconv.ParseFloat(string(num), 64) // range errors give ±Inf / 0 like Python
	return AppendFloat(dst, f)
}

// AppendFloat appends Python's repr(f) (which json.dumps uses for floats;
// infinities print as Infinity/-Infinity and NaN as NaN, as json.dumps does).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	neg := false
	if e[0] == '-' {
		neg = true
		e = e[1:]
	}
	var digits [24]byte
	nd := 0
	k := 0
	for ; k < len(e) && e[k] != 'e'; k++ {
		if e[k] != '.' {
			digits[nd] = e[k]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(e[k+1:]))
	decpt := exp + 1
	if neg {
		dst = append(dst, '-')
	}
	d := digits[:nd]
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			for z := 0; z < -decpt; z++ {
				dst = append(dst, '0')
			}
			dst = append(dst, d...)
		case decpt >= nd:
			dst = append(dst, d...)
			for z := 0; z < decpt-nd; z++ {
				dst = append(dst, '0')
			}
			dst = append(dst, '.', '0')
		default:
			dst = append(dst, d[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, d[decpt:]...)
		}
		return dst
	}
	dst = append(dst, d[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, d[1:]...)
	}
	dst = append(dst, 'e')
	x := decpt - 1
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	} else {
		dst = append(dst, '+')
	}
	if x < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(x), 10)
}

func skipString(s []byte, i int) (int, error) {
	start := i
	i++
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(s) {
				return i, &syntaxError{start, "unterminated string"}
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(s, i+2); !ok {
					return i, &syntaxError{i, "invalid \\uXXXX escape"}
				}
				i += 6
			default:
				return i, &syntaxError{i, "invalid \\escape"}
			}
		case c < 0x20:
			return i, &syntaxError{i, "invalid control character in string"}
		default:
			i++
		}
	}
	return i, &syntaxError{start, "unterminated string"}
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

// unicodeEscape reads the \uXXXX escape at s[i] (the backslash), joining
// a high surrogate with a following low-surrogate escape as Python does; a
// lone surrogate is returned as is. next is the index after the escape(s).
// Invalid UTF-8 bytes between the two escapes do not separate them:
// es-loader drops such bytes (errors='ignore') before parsing.
func unicodeEscape(s []byte, i int) (r rune, next int, ok bool) {
	if r, ok = hex4(s, i+2); !ok {
		return 0, i, false
	}
	i += 6
	if r >= 0xd800 && r < 0xdc00 {
		j := i
		for j < len(s) && s[j] >= 0x80 {
			if c, size := utf8.DecodeRune(s[j:]); c != utf8.RuneError || size != 1 {
				break
			}
			j++
		}
		if j+1 < len(s) && s[j] == '\\' && s[j+1] == 'u' {
			if r2, ok := hex4(s, j+2); ok && r2 >= 0xdc00 && r2 < 0xe000 {
				return 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00), j + 6, true
			}
		}
	}
	return r, i, true
}

// DecodeString appends the decoded contents of the JSON string literal
// starting at s[i] (which must be '"') to dst and returns the index after the
// closing quote. Invalid UTF-8 bytes are dropped; a lone surrogate escape
// becomes U+FFFD (Go strings cannot hold surrogates).
func DecodeString(dst, s []byte, i int) ([]byte, int, error) { return decodeString(dst, s, i, false) }

// decodeString is DecodeString; slow copies one byte and one rune at a time.
func decodeString(dst, s []byte, i int, slow bool) ([]byte, int, error) {
	start := i
	n0 := len(dst)
	i++
	for i < len(s) {
		// fast run of plain ASCII (DEL, which stops it, is copied below)
		if slow {
			dst, i = copyPlainSlow(dst, s, i)
		} else {
			dst, i = copyPlain(dst, s, i)
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			return dst, i + 1, nil
		case c == '\\':
			if i+1 >= len(s) {
				return dst[:n0], i, &syntaxError{start, "unterminated string"}
			}
			switch s[i+1] {
			case '"', '\\', '/':
				dst = append(dst, s[i+1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, next, ok := unicodeEscape(s, i)
				if !ok {
					return dst[:n0], i, &syntaxError{i, "invalid \\uXXXX escape"}
				}
				i = next
				dst = utf8.AppendRune(dst, r) // lone surrogates become U+FFFD
				continue
			default:
				return dst[:n0], i, &syntaxError{i, "invalid \\escape"}
			}
			i += 2
		case c < 0x20:
			return dst[:n0], i, &syntaxError{i, "invalid control character in string"}
		default: // DEL and non-ASCII: copy valid runes, drop invalid bytes
			if c == 0x7f {
				dst = append(dst, c)
				i++
				continue
			}
			dst, i = appendNonASCII(dst, s, i, false, slow)
		}
	}
	return dst[:n0], i, &syntaxError{start, "unterminated string"}
}

// appendUnquoted decodes the string literal at s[i] and appends its Python
// json.dumps escaping (without the surrounding quotes); slow copies one
// byte and one rune at a time.
func appendUnquoted(dst, s []byte, i int, ascii, slow bool) ([]byte, int, error) {
	start := i
	i++
	for i < len(s) {
		if slow {
			dst, i = copyPlainSlow(dst, s, i)
		} else {
			dst, i = copyPlain(dst, s, i)
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			return dst, i + 1, nil
		case c == '\\':
			if i+1 >= len(s) {
				return dst, i, &syntaxError{start, "unterminated string"}
			}
			switch e := s[i+1]; e {
			case '"', '\\':
				dst = append(dst, '\\', e)
			case '/':
				dst = append(dst, '/')
			case 'b', 'f', 'n', 'r', 't':
				dst = append(dst, '\\', e)
			case 'u':
				r, next, ok := unicodeEscape(s, i)
				if !ok {
					return dst, i, &syntaxError{i, "invalid \\uXXXX escape"}
				}
				i = next
				if r >= 0xd800 && r < 0xe000 { // lone surrogate: keep the escape
					dst = appendU(dst, r)
					continue
				}
				dst = appendRuneEsc(dst, r, ascii)
				continue
			default:
				return dst, i, &syntaxError{i, "invalid \\escape"}
			}
			i += 2
		case c < 0x20:
			return dst, i, &syntaxError{i, "invalid control character in string"}
		case c == 0x7f:
			if ascii {
				dst = appendU(dst, 0x7f)
			} else {
				dst = append(dst, c)
			}
			i++
		default:
			dst, i = appendNonASCII(dst, s, i, ascii, slow)
		}
	}
	return dst, i, &syntaxError{start, "unterminated string"}
}

const hexdig = "0123456789abcdef"

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexdig[r>>12&0xf], hexdig[r>>8&0xf], hexdig[r>>4&0xf], hexdig[r&0xf])
}

func appendRuneEsc(dst []byte, r rune, ascii bool) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	if r < 0x20 {
		return appendU(dst, r)
	}
	if ascii && r >= 0x7f {
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU(dst, 0xd800+(r>>10))
			return appendU(dst, 0xdc00+(r&0x3ff))
		}
		return appendU(dst, r)
	}
	return utf8.AppendRune(dst, r)
}

// AppendQuoted appends s (UTF-8 text) as a Python json.dumps string literal
// (ensure_ascii=False), quotes included. Invalid UTF-8 bytes are dropped.
func AppendQuoted(dst, s []byte) []byte { return appendQuoted(dst, s, false) }

// AppendQuotedString is AppendQuoted for a string, without copying it.
func AppendQuotedString(dst []byte, s string) []byte {
	return appendQuoted(dst, unsafe.Slice(unsafe.StringData(s), len(s)), false)
}

// AppendQuotedASCII is AppendQuoted with ensure_ascii=True.
func AppendQuotedASCII(dst, s []byte) []byte { return appendQuoted(dst, s, true) }

// quoteMask flags (high bit) exactly the bytes of x that are '"' or '\\'
// (no carry crosses a byte: (b&0x7f)+0x7f <= 0xfe, and its high bit or b's
// is clear only for b == 0).
func quoteMask(x uint64) uint64 {
	const low7 = 0x7f * lsb
	a, b := x^('"'*lsb), x^('\\'*lsb)
	return ^(((a&low7)+low7)|a)&msb | ^(((b&low7)+low7)|b)&msb
}

// ctlMask flags (high bit) the bytes of x that are < 0x20 or >= 0x7f. No
// flag is set unless such a byte is present (carries and borrows start
// only at flagged bytes).
func ctlMask(x uint64) uint64 {
	return ((x + lsb) | x | (x - 0x20*lsb)) & msb
}

// plain[c] is true for bytes copied as is inside a string literal.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

func appendQuoted(dst, s []byte, ascii bool) []byte {
	dst = append(dst, '"')
	i := 0
	for {
		// Eight bytes at a time, each word stored before it is checked. A
		// word whose only special bytes are '"' and '\\' (JSON text such
		// as @message has one every few bytes) is expanded per special
		// byte, not per byte: a backslash is stored before it and the rest
		// of the word stored again one byte further on. A word's expansion
		// stores up to 24 bytes from p (8 backslashes, 7 bytes before the
		// last, 8 from it), so buf keeps 24 spare bytes.
		p := len(dst)
		buf := dst[:cap(dst)]
		for i+8 <= len(s) {
			if len(buf)-p < 24 {
				buf = slices.Grow(buf[:p], len(s)-i+24)
				buf = buf[:cap(buf)]
			}
			w := binary.LittleEndian.Uint64(s[i:])
			binary.LittleEndian.PutUint64(buf[p:], w)
			m := badMask(w)
			if m == 0 {
				p += 8
				i += 8
				continue
			}
			if ctlMask(w) == 0 {
				// byte off of w is at buf[o]; each escaped byte k moves
				// the rest of the word one further
				o, off := p, 0
				for q := quoteMask(w); q != 0; q &= q - 1 {
					k := bits.TrailingZeros64(q) >> 3
					o += k - off
					buf[o] = '\\'
					o++
					binary.LittleEndian.PutUint64(buf[o:], w>>(8*uint(k)))
					off = k
				}
				p = o + 8 - off
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			p += k
			i += k
			if c := s[i]; c == '"' || c == '\\' {
				buf[p], buf[p+1] = '\\', c
				p += 2
				i++
				continue
			}
			break
		}
		dst, i = copyPlain(buf[:p], s, i)
		if i >= len(s) {
			return append(dst, '"')
		}
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c < 0x20:
			dst = appendRuneEsc(dst, rune(c), ascii)
			i++
		case c == 0x7f:
			if ascii {
				dst = appendU(dst, 0x7f)
			} else {
				dst = append(dst, c)
			}
			i++
		default:
			dst, i = appendNonASCII(dst, s, i, ascii, false)
		}
	}
}

// appendQuotedSlow is appendQuoted one rune at a time: the slow path
// (state.slow) and the reference the differential tests hold
// AppendQuoted to.
func appendQuotedSlow(dst, s []byte, ascii bool) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r != utf8.RuneError || size != 1 { // invalid UTF-8 bytes are dropped
			dst = appendRuneEsc(dst, r, ascii)
		}
		i += size
	}
	return append(dst, '"')
}

// appendNonASCII appends the run of bytes >= 0x80 at s[i] (as UTF-8, or
// escaped when ascii) without its invalid bytes and returns the index after
// the run. A valid sequence holds only bytes >= 0x80, so the run is decoded
// on its own and, when valid as a whole, copied in one piece (unless slow:
// then one rune at a time).
func appendNonASCII(dst, s []byte, i int, ascii, slow bool) ([]byte, int) {
	j := i + 1
	for j < len(s) && s[j] >= 0x80 {
		j++
	}
	if !ascii && !slow && utf8.Valid(s[i:j]) {
		return append(dst, s[i:j]...), j
	}
	for i < j {
		r, size := utf8.DecodeRune(s[i:j])
		if r == utf8.RuneError && size == 1 {
			i++
			continue
		}
		if ascii {
			dst = appendRuneEsc(dst, r, true)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst, j
}
