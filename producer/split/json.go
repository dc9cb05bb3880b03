package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonScanner frames JSON records from a stream without building Go values:
// it tracks strings, escapes and bracket nesting only, in a buffer that
// grows to at most MaxRecordBytes+BufferSize while a record is captured.
// Structure outside records (the object holding the JSONDelimiter array) is
// walked token by token, so its size does not matter.
type jsonScanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	mark     int  // start of the captured value, -1 if none
	dropped  bool // the captured value outgrew the buffer limit
	eof      bool
	rerr     error
	maxRec   int
	maxBuf   int

	path    []string
	started bool
	depth   int  // objects entered along path (delimiter mode)
	first   bool // next token is the first member/element of the container
	inArray bool // inside the records array
	found   bool // the current top-level value had the path
	stack   []byte
	// Beyond maxDepth the brackets are only counted (deep) and the record
	// is refused with ErrTooDeep once it ends; the scanner stays in step,
	// so the records after it are read as usual.
	maxDepth int
	deep     int
	tooDeep  bool

	env envelope // EventBridge envelope of the current top-level object
}

func newJSONScanner(r io.Reader, delimiter string, o Options) *jsonScanner {
	s := &jsonScanner{
		r:        r,
		buf:      make([]byte, o.BufferSize),
		mark:     -1,
		maxRec:   o.MaxRecordBytes,
		maxBuf:   o.MaxRecordBytes + o.BufferSize,
		maxDepth: o.MaxDepth,
	}
	if delimiter != "" {
		s.path = strings.Split(delimiter, ".")
	}
	return s
}

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidJSON, fmt.Sprintf(format, args...))
}

var errUnexpectedEnd = fmt.Errorf("%w: unexpected end of object", ErrInvalidJSON)

// fill reads more data, keeping buf[mark:] (or buf[pos:]). It returns false
// at the end of the stream or on a read error (kept in rerr).
func (s *jsonScanner) fill() bool {
	if s.eof {
		return false
	}
	keep := s.pos
	if s.mark >= 0 {
		keep = s.mark
		if keep == 0 && s.end == len(s.buf) {
			if len(s.buf) < s.maxBuf {
				nb := make([]byte, min(2*len(s.buf), s.maxBuf))
				copy(nb, s.buf[:s.end])
				s.buf = nb
			} else {
				// The value is longer than maxRec: stop capturing.
				s.mark, s.dropped = -1, true
				keep = s.pos
			}
		}
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.pos -= keep
		if s.mark >= 0 {
			s.mark -= keep
		}
		s.end = n
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.rerr = true, io.ErrNoProgress
	return false
}

// endErr is the error for a stream that ended where more was needed.
func (s *jsonScanner) endErr() error {
	if s.rerr != nil {
		return s.rerr
	}
	return errUnexpectedEnd
}

// peek returns the next non-whitespace byte without consuming it; io.EOF
// at a clean end, or the read error.
func (s *jsonScanner) peek() (byte, error) {
	for {
		for s.pos < s.end {
			switch b := s.buf[s.pos]; b {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return b, nil
			}
		}
		if !s.fill() {
			if s.rerr != nil {
				return 0, s.rerr
			}
			return 0, io.EOF
		}
	}
}

// peekMore is peek where the end of the stream is an error.
func (s *jsonScanner) peekMore() (byte, error) {
	b, err := s.peek()
	if err == io.EOF {
		return 0, errUnexpectedEnd
	}
	return b, err
}

// value scans one JSON value starting at pos. With capture, raw is its
// bytes (valid until the next fill), or nil with dropped if it was longer
// than maxRec. Errors: ErrInvalidJSON (wrapped), errUnexpectedEnd or a read
// error.
func (s *jsonScanner) value(capture bool) (raw []byte, dropped bool, err error) {
	if _, err := s.peekMore(); err != nil {
		return nil, false, err
	}
	s.dropped, s.tooDeep, s.deep = false, false, 0
	if capture {
		s.mark = s.pos
	}
	defer func() { s.mark = -1 }()
	switch b := s.buf[s.pos]; {
	case b == '{' || b == '[':
		s.stack = append(s.stack[:0], b)
		s.pos++
		err = s.scanNested()
	case b == '"':
		s.pos++
		err = s.scanString()
	case b == '-' || (b >= '0' && b <= '9') || b == 't' || b == 'f' || b == 'n':
		err = s.scanLiteral()
	default:
		err = syntaxErr("a value cannot start with %q", b)
	}
	if err != nil {
		return nil, false, err
	}
	if s.tooDeep && capture { // a skipped value may be as deep as it likes
		err = fmt.Errorf("%w: JSON nested deeper than %d (max JSON depth)", ErrTooDeep, s.maxDepth)
		if !s.dropped && s.pos-s.mark <= s.maxRec {
			raw = s.buf[s.mark:s.pos:s.pos] // for the dead letter
		}
		return raw, false, err
	}
	if s.dropped || (capture && s.pos-s.mark > s.maxRec) {
		return nil, true, nil
	}
	if capture {
		return s.buf[s.mark:s.pos:s.pos], false, nil
	}
	return nil, false, nil
}

// strStop marks the bytes that end a fast run inside a string.
var strStop = [256]bool{'"': true, '\\': true, '\n': true, '\r': true}

func (s *jsonScanner) scanString() error {
	esc := false
	for {
		buf := s.buf[s.pos:s.end]
		for i := 0; i < len(buf); i++ {
			c := buf[i]
			if esc {
				esc = false
				continue
			}
			if !strStop[c] {
				continue
			}
			switch c {
			case '\\':
				esc = true
			case '"':
				s.pos += i + 1
				return nil
			default: // raw newline: JSON strings cannot hold one
				s.pos += i
				return syntaxErr("newline in string")
			}
		}
		s.pos = s.end
		if !s.fill() {
			return s.endErr()
		}
	}
}

func (s *jsonScanner) scanNested() error {
	inStr, esc := false, false
	for {
		buf := s.buf[s.pos:s.end]
		for i := 0; i < len(buf); i++ {
			c := buf[i]
			if inStr {
				if esc {
					esc = false
					continue
				}
				if !strStop[c] {
					continue
				}
				switch c {
				case '\\':
					esc = true
				case '"':
					inStr = false
				default:
					s.pos += i
					return syntaxErr("newline in string")
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				if len(s.stack) >= s.maxDepth {
					s.tooDeep = true
					s.deep++
					continue
				}
				s.stack = append(s.stack, c)
			case '}', ']':
				if s.deep > 0 {
					s.deep-- // past the depth limit only the count is kept
					continue
				}
				open := s.stack[len(s.stack)-1]
				if (c == '}') != (open == '{') {
					s.pos += i
					return syntaxErr("%q closes %q", c, open)
				}
				s.stack = s.stack[:len(s.stack)-1]
				if len(s.stack) == 0 {
					s.pos += i + 1
					return nil
				}
			}
		}
		s.pos = s.end
		if !s.fill() {
			return s.endErr()
		}
	}
}

func isLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

func (s *jsonScanner) scanLiteral() error {
	for {
		for s.pos < s.end {
			if !isLiteralByte(s.buf[s.pos]) {
				return nil
			}
			s.pos++
		}
		if !s.fill() {
			if s.rerr != nil {
				return s.rerr
			}
			return nil // a literal may end the stream
		}
	}
}

// resync skips to just after the next newline (or the end), so a broken
// top-level value costs one record in newline-delimited JSON.
func (s *jsonScanner) resync() error {
	for {
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
			s.pos += i + 1
			return nil
		}
		s.pos = s.end
		if !s.fill() {
			return s.rerr
		}
	}
}

func (s *jsonScanner) skipBOM() {
	for s.end-s.pos < 3 && s.fill() {
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], []byte("\xef\xbb\xbf")) {
		s.pos += 3
	}
}

// next returns the next record; per-record errors are marked with
// errRecord; io.EOF at the end; anything else is fatal.
func (s *jsonScanner) next() ([]byte, error) {
	if !s.started {
		s.started = true
		s.skipBOM()
	}
	if s.path == nil {
		return s.nextValue()
	}
	return s.nextDelimited()
}

// element returns the next element of the records array (pos is at its
// first byte). Broken JSON inside an array cannot be resynchronised: fatal.
func (s *jsonScanner) element() ([]byte, error) {
	raw, dropped, err := s.value(true)
	if errors.Is(err, ErrTooDeep) {
		return nil, recordErrRaw(err, raw)
	}
	if err != nil {
		return nil, err
	}
	if dropped {
		return nil, recordErr(ErrRecordTooLarge)
	}
	return raw, nil
}

// arrayStep moves to the next element of the records array. It returns
// false when the array ended (its ']' consumed).
func (s *jsonScanner) arrayStep() (bool, error) {
	b, err := s.peekMore()
	if err != nil {
		return false, err
	}
	if b == ']' {
		s.pos++
		s.inArray = false
		return false, nil
	}
	if s.first {
		s.first = false
		return true, nil
	}
	if b != ',' {
		return false, syntaxErr("expected ',' or ']' after array element, got %q", b)
	}
	s.pos++
	if _, err := s.peekMore(); err != nil {
		return false, err
	}
	return true, nil
}

// topValue scans a top-level value; broken JSON is one bad record, then the
// scanner skips to the next line.
func (s *jsonScanner) topValue(capture bool) ([]byte, error) {
	raw, dropped, err := s.value(capture)
	switch {
	case err == nil && dropped:
		return nil, recordErr(ErrRecordTooLarge)
	case err == nil:
		return raw, nil
	case errors.Is(err, ErrTooDeep): // the value was read to its end
		return nil, recordErrRaw(err, raw)
	case errors.Is(err, ErrInvalidJSON):
		if err != errUnexpectedEnd {
			if rerr := s.resync(); rerr != nil {
				return nil, rerr
			}
		}
		return nil, recordErr(err)
	default:
		return nil, err
	}
}

func (s *jsonScanner) nextValue() ([]byte, error) {
	for {
		if s.inArray {
			more, err := s.arrayStep()
			if err != nil {
				return nil, err
			}
			if !more {
				continue
			}
			return s.element()
		}
		b, err := s.peek()
		if err != nil {
			return nil, err
		}
		if b == '[' {
			s.pos++
			s.inArray, s.first = true, true
			continue
		}
		return s.topValue(true)
	}
}

func (s *jsonScanner) nextDelimited() ([]byte, error) {
	for {
		if s.inArray {
			more, err := s.arrayStep()
			if err != nil {
				return nil, err
			}
			if !more {
				continue
			}
			if s.env.off == 1 {
				return s.env.wrap(s.element())
			}
			return s.element()
		}
		if s.depth == 0 {
			b, err := s.peek()
			if err != nil {
				return nil, err
			}
			if b != '{' {
				if _, err := s.topValue(false); err != nil && !isRecordErr(err) {
					return nil, err
				}
				return nil, recordErr(fmt.Errorf("%w: top-level value is not an object", ErrNoDelimiter))
			}
			s.pos++
			s.depth, s.first, s.found = 1, true, false
			s.env.reset()
			continue
		}
		// Inside an object on the path: next member or end.
		b, err := s.peekMore()
		if err != nil {
			return nil, err
		}
		if b == '}' {
			s.pos++
			s.depth--
			s.first = false
			if s.env.off == 1 && s.depth == 1 {
				s.env.off, s.env.done = 0, true // left the detail
			}
			if s.depth == 0 && !s.found {
				return nil, recordErr(fmt.Errorf("%w: no %q array", ErrNoDelimiter, strings.Join(s.path, ".")))
			}
			continue
		}
		if !s.first {
			if b != ',' {
				return nil, syntaxErr("expected ',' or '}' after object member, got %q", b)
			}
			s.pos++
			if b, err = s.peekMore(); err != nil {
				return nil, err
			}
		}
		s.first = false
		if b != '"' {
			return nil, syntaxErr("expected object key, got %q", b)
		}
		raw, dropped, err := s.value(true)
		if err != nil {
			return nil, err
		}
		pi := s.depth - 1 - s.env.off
		match := !dropped && pi >= 0 && !(s.depth == 1 && s.env.done) && keyEquals(raw, s.path[pi])
		ek := -1
		if s.depth == 1 && !match && !dropped {
			ek = envKey(raw)
		}
		if b, err = s.peekMore(); err != nil {
			return nil, err
		}
		if b != ':' {
			return nil, syntaxErr("expected ':' after object key, got %q", b)
		}
		s.pos++
		if b, err = s.peekMore(); err != nil {
			return nil, err
		}
		if ek >= 0 {
			if err := s.envMember(ek, b); err != nil {
				return nil, err
			}
			continue
		}
		if match && s.depth-s.env.off == len(s.path) {
			s.found = true
			switch b {
			case '[':
				s.pos++
				s.inArray, s.first = true, true
				continue
			case 'n': // "Records": null — no records
				if _, _, err := s.value(false); err != nil {
					return nil, err
				}
				continue
			}
			if _, _, err := s.value(false); err != nil {
				return nil, err
			}
			return nil, recordErr(fmt.Errorf("%w: %q is not an array", ErrNoDelimiter, strings.Join(s.path, ".")))
		}
		if match && b == '{' {
			s.pos++
			s.depth, s.first = s.depth+1, true
			continue
		}
		if _, _, err := s.value(false); err != nil {
			return nil, err
		}
	}
}

// keyEquals compares a raw JSON string (with quotes) with want.
func keyEquals(raw []byte, want string) bool {
	if len(raw) < 2 {
		return false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == want
	}
	var k string
	if json.Unmarshal(raw, &k) != nil {
		return false
	}
	return k == want
}

// EventBridge envelopes around a json_delimiter array (es-loader
// _check_cwe_and_strip_header runs before the delimiter is looked up): when
// a top-level object has "detail-type" and "resources" ahead of an object
// "detail", the path is looked up inside "detail", and each element is
// emitted wrapped in the envelope's id/source/account/time/region/
// detail-type/resources ({..., "detail": element}), so decode strips it as
// any EventBridge record and keeps cwe_id/cwe_timestamp/account/region.

// envelope members captured, in the order they are written back.
var envKeys = [...]string{"id", "source", "account", "time", "region", "detail-type", "resources"}

const (
	envDetailType = 5
	envResources  = 6
	envDetail     = len(envKeys) // "detail"
)

type envelope struct {
	vals [len(envKeys)][]byte
	set  uint16
	off  int  // 1 while inside the detail of an envelope (path starts there)
	done bool // the detail was walked: top-level members no longer match
	out  []byte
}

func (e *envelope) reset() { e.set, e.off, e.done = 0, 0, false }

// envKey returns the index of a raw top-level key among envKeys, envDetail
// for "detail", or -1.
func envKey(raw []byte) int {
	if keyEquals(raw, "detail") {
		return envDetail
	}
	for i, k := range envKeys {
		if keyEquals(raw, k) {
			return i
		}
	}
	return -1
}

// envMember handles the value of envelope member k (pos at its first byte,
// b): a scalar is kept, an envelope's object "detail" is entered.
func (s *jsonScanner) envMember(k int, b byte) error {
	e := &s.env
	if k == envDetail {
		if b == '{' && e.set&(1<<envDetailType) != 0 && e.set&(1<<envResources) != 0 && !e.done {
			s.pos++
			s.depth, s.first, e.off = 2, true, 1
			return nil
		}
		_, _, err := s.value(false)
		return err
	}
	raw, dropped, err := s.value(true)
	if err != nil {
		return err
	}
	if !dropped {
		e.vals[k] = append(e.vals[k][:0], raw...)
		e.set |= 1 << k
	}
	return nil
}

// wrap returns element rec inside the envelope's members.
func (e *envelope) wrap(rec []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	e.out = append(e.out[:0], '{')
	for i, k := range envKeys {
		if e.set&(1<<i) == 0 {
			continue
		}
		e.out = append(e.out, '"')
		e.out = append(e.out, k...)
		e.out = append(e.out, '"', ':')
		e.out = append(e.out, e.vals[i]...)
		e.out = append(e.out, ',')
	}
	e.out = append(e.out, `"detail":`...)
	e.out = append(e.out, rec...)
	return append(e.out, '}'), nil
}
