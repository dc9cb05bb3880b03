package split

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Format kinds.
const (
	// KindJSON: JSON values. With JSONDelimiter, the elements of that array
	// field of each top-level object; without, each top-level value
	// (newline-delimited, concatenated or pretty-printed), except that a
	// top-level array yields its elements.
	KindJSON = "json"
	// KindCSV: HeaderLines lines are skipped, the next non-blank line is the
	// header (returned as Context), each following non-blank line is a
	// record. A quoted field cannot span lines.
	KindCSV = "csv"
	// KindText: HeaderLines lines are skipped and returned, joined with
	// '\n', as Context; each following non-blank line is a record.
	KindText = "text"
	// KindLines: like text, but the skipped lines are discarded (Context is
	// nil). Use it for newline-delimited JSON whose values never span
	// lines: framing is cheaper and a bad line costs one record only.
	KindLines = "lines"
	// KindMultiline: a record is a run of lines; a new record starts at
	// each line matching FirstLine (matched at the line start, without its
	// terminator). With LastLine, a record also ends at the first line
	// matching LastLine (searched anywhere in the line), and the lines after
	// it up to the next FirstLine line are dropped (Windows event XML:
	// FirstLine `<Event xmlns=`, LastLine `</Event>$`). Lines before the
	// first FirstLine match are dropped, as es-loader does (they belong to
	// a record cut off at the start of the object, and es-loader's
	// log_count does not count them); Dropped says how many. The record is
	// its lines joined with '\n' (CRLF becomes LF), trailing whitespace
	// kept: decode right-strips it as es-loader does. A record ended by
	// LastLine keeps that line's '\n' if it had one: es-loader's @message
	// (and so _id) of a Windows event is the lines as read. HeaderLines lines are
	// skipped first. Used by file_format multiline, xml and winevtxml.
	KindMultiline = "multiline"
	// KindCWL: CloudWatch Logs subscription payloads as Firehose writes
	// them (concatenated JSON objects, whatever the whitespace between).
	// Each logEvents[] element of a DATA_MESSAGE object is one record,
	// encoded with AppendCWLRecord (a one-line JSON header with owner,
	// logGroup, logStream, id and timestamp, then '\n', then the message
	// verbatim): decode takes it apart with ParseCWLRecord and parses the
	// message with the log type's own format. CONTROL_MESSAGE objects and
	// other values without logEvents take no ordinal. A payload larger than
	// MaxCWLPayloadBytes is a *RecordError. Used by via_cwl log types.
	KindCWL = "cwl"
	// KindFirelens: one FireLens JSON object per line (log, container_id,
	// container_name, source, ecs_cluster, ecs_task_arn,
	// ecs_task_definition, ec2_instance_id). Each line is one record,
	// encoded with AppendFirelensRecord (the metadata as a one-line JSON
	// header, '\n', the log verbatim): decode takes it apart with
	// ParseFirelensRecord. A line that is not such an object is a
	// *RecordError (es-loader aborts the object). Blank lines are skipped.
	// Used by via_firelens log types.
	KindFirelens = "firelens"
)

// Format says how an object's content is cut into raw records. It is what
// the caller wants, derived from its log-type configuration.
type Format struct {
	// Kind is one of KindJSON, KindCSV, KindText, KindLines.
	Kind string
	// JSONDelimiter (json only) is the name of the array field that holds
	// the records, e.g. "Records" for CloudTrail. A dotted path
	// ("detail.findings") descends into nested objects. Empty: every
	// top-level value is a record.
	JSONDelimiter string
	// HeaderLines (csv, text, lines) is the number of leading lines
	// skipped (blank or not) before records, or before the csv header.
	HeaderLines int
	// FirstLine (multiline only, required) matches the first line of a
	// record; it should be anchored at the start (schemas compiles
	// multiline_firstline / xml_firstline that way, like Python re.match).
	FirstLine *regexp.Regexp
	// LastLine (multiline only, optional) matches the last line of a record.
	LastLine *regexp.Regexp
}

// Validate checks the format.
func (f Format) Validate() error {
	switch f.Kind {
	case KindJSON:
		if f.HeaderLines != 0 {
			return fmt.Errorf("split: header_lines is not used by format %q", f.Kind)
		}
		if f.JSONDelimiter != "" {
			for _, p := range strings.Split(f.JSONDelimiter, ".") {
				if p == "" {
					return fmt.Errorf("split: json_delimiter %q has an empty path element", f.JSONDelimiter)
				}
			}
		}
	case KindMultiline:
		if f.FirstLine == nil {
			return fmt.Errorf("split: format multiline needs a first-line pattern (multiline_firstline)")
		}
		if f.JSONDelimiter != "" {
			return fmt.Errorf("split: json_delimiter is only used by format json, not %q", f.Kind)
		}
		if f.HeaderLines < 0 {
			return fmt.Errorf("split: header_lines %d < 0", f.HeaderLines)
		}
	case KindCWL:
		if f.JSONDelimiter != "" || f.HeaderLines != 0 || f.FirstLine != nil {
			return fmt.Errorf("split: format cwl takes no json_delimiter, header_lines or first-line pattern")
		}
	case KindFirelens:
		if f.JSONDelimiter != "" || f.HeaderLines != 0 || f.FirstLine != nil {
			return fmt.Errorf("split: format firelens takes no json_delimiter, header_lines or first-line pattern")
		}
	case KindCSV, KindText, KindLines:
		if f.FirstLine != nil || f.LastLine != nil {
			return fmt.Errorf("split: a first/last-line pattern is only used by format multiline, not %q", f.Kind)
		}
		if f.JSONDelimiter != "" {
			return fmt.Errorf("split: json_delimiter is only used by format json, not %q", f.Kind)
		}
		if f.HeaderLines < 0 {
			return fmt.Errorf("split: header_lines %d < 0", f.HeaderLines)
		}
	default:
		return fmt.Errorf("split: unknown format kind %q (want json, csv, text, lines, multiline, cwl or firelens)", f.Kind)
	}
	return nil
}

// Defaults.
const (
	DefaultMaxRecordBytes = 1 << 20
	DefaultBufferSize     = 64 << 10
	// MaxContextBytes bounds Context (header lines); a longer header is a
	// fatal error. Equal to wire.MaxContextBytes.
	MaxContextBytes = 64 << 10
	// maxJSONDepth bounds JSON nesting inside one record.
	maxJSONDepth = 10000
)

// Options tune memory use. The zero value means the defaults.
type Options struct {
	// MaxRecordBytes is the largest raw record returned; a longer record
	// is a *RecordError with ErrRecordTooLarge and is skipped. 0 means
	// DefaultMaxRecordBytes (1 MiB). Memory used is about
	// MaxRecordBytes + BufferSize.
	MaxRecordBytes int
	// BufferSize is the read buffer size. 0 means DefaultBufferSize (64 KiB).
	BufferSize int
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{MaxRecordBytes: DefaultMaxRecordBytes, BufferSize: DefaultBufferSize}
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.MaxRecordBytes < 0 {
		return fmt.Errorf("split: max_record_bytes %d < 0", o.MaxRecordBytes)
	}
	if o.BufferSize < 0 {
		return fmt.Errorf("split: buffer_size %d < 0", o.BufferSize)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	o.BufferSize = max(o.BufferSize, 16)
	return o
}

// Per-record causes, found inside a *RecordError.
var (
	// ErrRecordTooLarge: the record is longer than Options.MaxRecordBytes.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrInvalidJSON: the record is not well-formed JSON (unbalanced or
	// mismatched brackets, a value cannot start with this byte).
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrNoDelimiter: a top-level JSON value has no JSONDelimiter array (or
	// is not an object, or the field is not an array).
	ErrNoDelimiter = errors.New("json_delimiter field not found")
)

// Fatal causes (wrapped in the error Next returns).
var (
	// ErrHeaderTooLarge: the header lines exceed MaxContextBytes.
	ErrHeaderTooLarge = errors.New("split: header larger than 64 KiB")
)

// RecordError is a per-record error: the record at Ordinal is lost, the
// splitter goes on with the next one.
type RecordError struct {
	Ordinal int64
	Err     error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d: %v", e.Ordinal, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Splitter cuts one object's decompressed content into raw records.
//
// Ordinals: records are numbered 1, 2, 3, … in object order. For csv, text
// and lines, the records are the non-blank lines after the skipped header
// lines (and after the csv header line); blank lines (empty or only spaces
// and tabs) are not records and take no ordinal, so ordinal n is "the n-th
// data line". For json, ordinal n is the n-th array element (with
// JSONDelimiter or a top-level array) or the n-th top-level value. A record
// that fails (*RecordError) still takes its ordinal, so the ordinals of the
// records after it do not depend on it; each top-level JSON value that has
// no delimiter array takes one ordinal too. Ordinals are therefore stable
// for a given object content and format.
//
// A Splitter is not safe for concurrent use.
type Splitter struct {
	f    Format
	opts Options

	lines *lineReader
	js    *jsonScanner
	ml    *multiline
	cwl   *cwlScanner
	fl    []byte // firelens record buffer

	started bool
	ordinal int64 // last ordinal handed out
	records int64 // records returned without error
	context []byte
	err     error // sticky fatal error or io.EOF
}

// New returns a Splitter reading decompressed content from r (see Open).
// It does no I/O.
func New(r io.Reader, f Format, opts Options) (*Splitter, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if _, ok := r.(*parquetReader); ok {
		// PAR1 switches the format, as in es-loader: one JSON object per
		// row, one per line, whatever the log type's file_format.
		f = Format{Kind: KindLines}
	}
	s := &Splitter{f: f, opts: opts}
	switch f.Kind {
	case KindJSON:
		s.js = newJSONScanner(r, f.JSONDelimiter, opts)
	case KindCWL:
		o := opts
		o.MaxRecordBytes = max(o.MaxRecordBytes, MaxCWLPayloadBytes)
		s.cwl = &cwlScanner{js: newJSONScanner(r, "", o), max: opts.MaxRecordBytes}
	default:
		s.lines = &lineReader{br: bufio.NewReaderSize(r, opts.BufferSize), max: opts.MaxRecordBytes}
		if f.Kind == KindMultiline {
			s.ml = &multiline{first: f.FirstLine, last: f.LastLine, max: opts.MaxRecordBytes}
		}
	}
	return s, nil
}

// Next returns the next raw record and its ordinal. rec is valid until the
// next call to Next. Errors:
//   - *RecordError: that record is lost, call Next again;
//   - io.EOF: the object is done;
//   - anything else is fatal for the rest of the object (a read or
//     decompression error, e.g. a truncated gzip, or JSON structure that
//     cannot be resynchronised); the records returned before stay valid,
//     Records and Ordinal say how far the splitter got, and Next keeps
//     returning the same error.
func (s *Splitter) Next() (rec []byte, ordinal int64, err error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	switch {
	case s.js != nil:
		rec, err = s.js.next()
	case s.cwl != nil:
		rec, err = s.cwl.next()
	case s.ml != nil:
		rec, err = s.nextMultiline()
	default:
		rec, err = s.nextLine()
		if err == nil && s.f.Kind == KindFirelens {
			rec, err = s.firelensRecord(rec)
		}
	}
	switch {
	case err == nil:
		s.ordinal++
		s.records++
		return rec, s.ordinal, nil
	case isRecordErr(err):
		s.ordinal++
		return nil, s.ordinal, &RecordError{Ordinal: s.ordinal, Err: err.(recordCause).err}
	case err == io.EOF:
		s.err = io.EOF
		return nil, 0, io.EOF
	default:
		s.err = fmt.Errorf("split: after record %d (%d returned): %w", s.ordinal, s.records, err)
		return nil, 0, s.err
	}
}

// Context is object-level state: the csv header line or the text header
// lines ('\n'-joined), nil otherwise. It is set by Header or the first call
// to Next and does not change after.
func (s *Splitter) Context() []byte { return s.context }

// Header reads the header lines (csv, text, lines) if that has not happened
// yet and returns Context, so a caller can start packing with the object's
// context before the first record. An error is fatal, as from Next.
func (s *Splitter) Header() ([]byte, error) {
	if s.err != nil {
		if s.err == io.EOF {
			return s.context, nil
		}
		return nil, s.err
	}
	if s.lines != nil && !s.started {
		s.started = true
		s.lines.skipBOM()
		if err := s.readHeader(); err != nil {
			s.err = fmt.Errorf("split: header: %w", err)
			return nil, s.err
		}
	}
	return s.context, nil
}

// Ordinal is the last ordinal handed out (including failed records).
func (s *Splitter) Ordinal() int64 { return s.ordinal }

// Records is the number of records returned without error so far.
func (s *Splitter) Records() int64 { return s.records }

// recordCause marks a per-record error inside the splitter.
type recordCause struct{ err error }

func (r recordCause) Error() string { return r.err.Error() }

func recordErr(cause error) error { return recordCause{cause} }

func isRecordErr(err error) bool {
	_, ok := err.(recordCause)
	return ok
}

func (s *Splitter) nextLine() ([]byte, error) {
	if !s.started {
		s.started = true
		s.lines.skipBOM()
		if err := s.readHeader(); err != nil {
			return nil, err
		}
	}
	for {
		line, tooLong, err := s.lines.next()
		if err != nil {
			return nil, err
		}
		if tooLong {
			return nil, recordErr(ErrRecordTooLarge)
		}
		if isBlank(line) {
			continue
		}
		return line, nil
	}
}

func (s *Splitter) readHeader() error {
	// Header lines may be up to MaxContextBytes even if records may not.
	recMax := s.lines.max
	s.lines.max = max(recMax, MaxContextBytes)
	defer func() { s.lines.max = recMax }()
	var ctx []byte
	for i := 0; i < s.f.HeaderLines; i++ {
		line, tooLong, err := s.lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if s.f.Kind != KindText {
			continue
		}
		if tooLong || len(ctx)+len(line)+1 > MaxContextBytes {
			return ErrHeaderTooLarge
		}
		if i > 0 {
			ctx = append(ctx, '\n')
		}
		ctx = append(ctx, line...)
	}
	if s.f.Kind == KindCSV {
		for {
			line, tooLong, err := s.lines.next()
			if err != nil {
				if err == io.EOF {
					break
				}
				return err
			}
			if tooLong || len(line) > MaxContextBytes {
				return ErrHeaderTooLarge
			}
			if !isBlank(line) {
				ctx = append(ctx, line...)
				break
			}
		}
	}
	if ctx != nil {
		s.context = ctx
	}
	return nil
}

func isBlank(line []byte) bool {
	for _, b := range line {
		if b != ' ' && b != '\t' {
			return false
		}
	}
	return true
}

// lineReader returns lines of at most max bytes from a bufio.Reader,
// without their "\n" or "\r\n" terminator. A longer line is consumed and
// reported with tooLong.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
	max int
	eol bool // the line next returned last ended with '\n'
}

func (l *lineReader) skipBOM() {
	if b, err := l.br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		l.br.Discard(3)
	}
}

func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	frag, err := l.br.ReadSlice('\n')
	if err == nil {
		return l.trim(frag)
	}
	if err != bufio.ErrBufferFull {
		if len(frag) > 0 && err == io.EOF { // last line without '\n'
			return l.trim(frag)
		}
		return nil, false, err
	}
	// Long line: gather fragments, up to max (+2 for the terminator).
	l.buf = append(l.buf[:0], frag...)
	for {
		frag, err = l.br.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(frag) > l.max+2 {
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		break
	}
	if tooLong {
		return nil, true, nil
	}
	return l.trim(l.buf)
}

func (l *lineReader) trim(b []byte) ([]byte, bool, error) {
	l.eol = false
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		l.eol = true
	}
	if n := len(b); n > 0 && b[n-1] == '\r' { // CRLF, or a CR before the end
		b = b[:n-1]
	}
	if len(b) > l.max {
		return nil, true, nil
	}
	return b, false, nil
}
