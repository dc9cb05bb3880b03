package split

import (
	"io"
	"regexp"
)

// multiline gathers lines into records for KindMultiline.
type multiline struct {
	first, last *regexp.Regexp
	max         int

	rec      []byte
	inRecord bool // rec holds a record's first lines
	tooLong  bool // the current record outgrew max
	pending  []byte
	hasPend  bool // pending is a first line read ahead
	pendEOL  bool // pending ended with '\n'
	dropped  int64
	done     bool

	firstEmpty, lastEmpty int8 // cached Match of an empty line: 0 unknown, 1 yes, -1 no
}

// Dropped is the number of non-blank lines dropped so far because they
// were outside any record (before the first FirstLine match, or between a
// LastLine and the next FirstLine). Always 0 for other kinds.
func (s *Splitter) Dropped() int64 {
	if s.ml == nil {
		return 0
	}
	return s.ml.dropped
}

func (s *Splitter) nextMultiline() ([]byte, error) {
	if !s.started {
		s.started = true
		s.lines.skipBOM()
		if err := s.readHeader(); err != nil {
			return nil, err
		}
	}
	m := s.ml
	if m.done {
		return nil, io.EOF
	}
	m.rec = m.rec[:0]
	m.inRecord, m.tooLong = false, false
	if m.hasPend {
		m.hasPend = false
		m.start(m.pending)
		if m.last != nil && m.last.Match(m.pending) {
			return m.finishLast(m.pendEOL)
		}
	}
	for {
		if !m.inRecord {
			s.lines.skipEmpty() // dropped anyway: skip a run in one scan
		}
		line, tooLong, err := s.lines.next()
		if err == io.EOF {
			m.done = true
			if m.inRecord {
				return m.finish()
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		isFirst := !tooLong && m.match(m.first, &m.firstEmpty, line)
		if isFirst && m.inRecord {
			m.pending = append(m.pending[:0], line...)
			m.hasPend, m.pendEOL = true, s.lines.eol
			return m.finish()
		}
		if isFirst {
			m.start(line)
		} else if m.inRecord {
			if tooLong {
				m.tooLong = true
			} else {
				m.add(line)
			}
		} else {
			if !isBlank(line) {
				m.dropped++
			}
			continue
		}
		if m.last != nil && !tooLong && m.match(m.last, &m.lastEmpty, line) {
			return m.finishLast(s.lines.eol)
		}
	}
}

// match is re.Match(line) with the result for an empty line cached: a
// record of a million empty lines costs a million appends, not a million
// regexp runs.
func (m *multiline) match(re *regexp.Regexp, empty *int8, line []byte) bool {
	if len(line) > 0 {
		return re.Match(line)
	}
	if *empty == 0 {
		*empty = -1
		if re.Match(nil) {
			*empty = 1
		}
	}
	return *empty == 1
}

func (m *multiline) start(line []byte) {
	m.inRecord = true
	m.rec = append(m.rec[:0], line...)
}

func (m *multiline) add(line []byte) {
	if m.tooLong {
		return
	}
	if len(m.rec)+1+len(line) > m.max {
		m.tooLong = true
		m.rec = m.rec[:0]
		return
	}
	m.rec = append(append(m.rec, '\n'), line...)
}

// finishLast ends a record at its LastLine match, keeping the line's '\n'.
func (m *multiline) finishLast(eol bool) ([]byte, error) {
	if eol && !m.tooLong && len(m.rec) < m.max {
		m.rec = append(m.rec, '\n')
	}
	return m.finish()
}

func (m *multiline) finish() ([]byte, error) {
	m.inRecord = false
	if m.tooLong {
		return nil, recordErr(ErrRecordTooLarge)
	}
	return m.rec, nil
}
