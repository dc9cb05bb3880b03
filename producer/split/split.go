package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/schemas"
)

// Format kinds: the framings schemas computes for each log type
// (schemas.Framing), under the splitter's names.
const (
	// KindJSON: JSON values. With JSONDelimiter, the elements of that array
	// field of each top-level object; without, each top-level value
	// (newline-delimited, concatenated or pretty-printed), except that a
	// top-level array yields its elements.
	KindJSON = schemas.FrameJSON
	// KindCSV: HeaderLines lines are skipped, the next non-blank line is the
	// header (returned as Context), each following non-blank line is a
	// record. A quoted field cannot span lines.
	KindCSV = schemas.FrameCSV
	// KindText: HeaderLines lines are skipped and returned, joined with
	// '\n', as Context; each following non-blank line is a record.
	KindText = schemas.FrameText
	// KindLines: like text, but the skipped lines are discarded (Context is
	// nil). Use it for newline-delimited JSON whose values never span
	// lines: framing is cheaper and a bad line costs one record only.
	KindLines = schemas.FrameLines
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
	KindMultiline = schemas.FrameMultiline
	// KindCWL: CloudWatch Logs subscription payloads as Firehose writes
	// them (concatenated JSON objects, whatever the whitespace between).
	// Each logEvents[] element of a DATA_MESSAGE object is one record,
	// encoded with wire.AppendCWLRecord (a one-line JSON header with owner,
	// logGroup, logStream, id and timestamp, then '\n', then the message
	// verbatim): decode parses that envelope once and parses the
	// message with the log type's own format. CONTROL_MESSAGE objects and
	// other values without logEvents take no ordinal. A payload larger than
	// MaxCWLPayloadBytes is a *RecordError. Used by via_cwl log types.
	KindCWL = schemas.FrameCWL
	// KindFirelens: one FireLens JSON object per line (log, container_id,
	// container_name, source, ecs_cluster, ecs_task_arn,
	// ecs_task_definition, ec2_instance_id). Each line is one record,
	// encoded with wire.AppendFirelensRecord (the metadata as a one-line JSON
	// header, '\n', the log verbatim): decode parses that envelope
	// once. A line that is not such an object is a
	// *RecordError (es-loader aborts the object). Blank lines are skipped.
	// Used by via_firelens log types.
	KindFirelens = schemas.FrameFirelens
)

// Format says how an object's content is cut into raw records. It is what
// the caller wants, derived from its log-type configuration.
type Format struct {
	// Kind is one of the Kind* framings.
	Kind schemas.FramingKind
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
	// DefaultMaxDepth bounds JSON nesting inside one record. es-loader
	// (Python's json, recursion limit 1000) fails records nested about
	// 950 deep, and decode (internal/pyjson, internal/doc) refuses more
	// than 900; beyond 1000 the producer quarantines the record itself.
	DefaultMaxDepth = 1000
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
	// MaxDepth (json, cwl) is the deepest nesting of a JSON record; a
	// deeper record is a *RecordError with ErrTooDeep and the records
	// after it are read as usual (the scanner only counts brackets past
	// the limit, so its memory does not grow with the depth). 0 means
	// DefaultMaxDepth.
	MaxDepth int
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{MaxRecordBytes: DefaultMaxRecordBytes, BufferSize: DefaultBufferSize, MaxDepth: DefaultMaxDepth}
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.MaxRecordBytes < 0 {
		return fmt.Errorf("split: max_record_bytes %d < 0", o.MaxRecordBytes)
	}
	if o.BufferSize < 0 {
		return fmt.Errorf("split: buffer_size %d < 0", o.BufferSize)
	}
	if o.MaxDepth < 0 {
		return fmt.Errorf("split: max_depth %d < 0", o.MaxDepth)
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
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	o.BufferSize = max(o.BufferSize, 16)
	return o
}

// Per-record causes, found inside a *RecordError.
var (
	// ErrTooDeep: a JSON record is nested deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("nested too deep")
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
	// Raw is the refused record's bytes when the splitter read them (a
	// record nested too deep, a FireLens line that is not a FireLens
	// object), for its dead letter; nil otherwise (a record too large is
	// never held). Valid until the next call to Next.
	Raw []byte
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
	if isParquet(r) {
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
		s.lines = newLineReader(r, opts.BufferSize, opts.MaxRecordBytes)
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
		rc := err.(recordCause)
		return nil, s.ordinal, &RecordError{Ordinal: s.ordinal, Err: rc.err, Raw: rc.raw}
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
type recordCause struct {
	err error
	raw []byte
}

func (r recordCause) Error() string { return r.err.Error() }

func recordErr(cause error) error { return recordCause{err: cause} }

// recordErrRaw is recordErr for a record whose bytes were read.
func recordErrRaw(cause error, raw []byte) error { return recordCause{err: cause, raw: raw} }

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
		s.lines.skipEmpty()
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
			s.lines.skipEmpty()
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

// lineReader returns lines of at most max bytes, without their
// terminator. Terminators are "\n", "\r\n" and a lone "\r": es-loader reads
// text objects with Python's universal newlines, so a file with CR line
// ends (old Mac style, or some exporters) is as many records as a file
// with LF ends, with the same bytes. A longer line is consumed and
// reported with tooLong.
//
// It works on its own buffer rather than bufio.Reader.ReadSlice because it
// looks for two terminator bytes; the next '\n' and '\r' positions are
// cached so that each byte is scanned once per terminator byte, whatever
// the mix of line ends (a CR-only object would otherwise rescan the
// buffer for a '\n' on every line).
type lineReader struct {
	r      io.Reader
	buf    []byte
	lo, hi int // unread bytes are buf[lo:hi]
	nl, cr idxCache
	long   []byte // start of a line longer than the buffer
	inLong bool   // long holds the start of the current line
	drop   bool   // the current line already exceeds max
	max    int
	eol    bool  // the line next returned last ended with a terminator
	err    error // io.EOF or the read error, once the source returned it
}

// idxCache caches the position of the next occurrence of one byte.
type idxCache struct {
	at int // absolute index in buf, or -1: none in [.., to)
	to int
}

func newLineReader(r io.Reader, size, max int) *lineReader {
	return &lineReader{r: r, buf: make([]byte, size), max: max, nl: idxCache{at: -1}, cr: idxCache{at: -1}}
}

func (l *lineReader) find(c byte, ic *idxCache) int {
	if ic.at >= l.lo {
		return ic.at
	}
	from := l.lo
	if ic.at < 0 && ic.to > from {
		from = ic.to
	}
	if k := bytes.IndexByte(l.buf[from:l.hi], c); k >= 0 {
		ic.at = from + k
		return ic.at
	}
	ic.at, ic.to = -1, l.hi
	return -1
}

// fill moves the unread bytes to the front and reads once more. It
// returns false when no more bytes can come (l.err is set).
func (l *lineReader) fill() bool {
	if l.err != nil {
		return false
	}
	if l.lo > 0 {
		n := copy(l.buf, l.buf[l.lo:l.hi])
		l.lo, l.hi = 0, n
		l.nl, l.cr = idxCache{at: -1}, idxCache{at: -1}
	}
	for tries := 0; tries < 100; tries++ {
		n, err := l.r.Read(l.buf[l.hi:])
		l.hi += n
		if err != nil {
			l.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	l.err = io.ErrNoProgress
	return false
}

func (l *lineReader) skipBOM() {
	for l.hi-l.lo < 3 && l.fill() {
	}
	if bytes.HasPrefix(l.buf[l.lo:l.hi], []byte("\xef\xbb\xbf")) {
		l.lo += 3
	}
}

// skipEmpty skips consecutive line terminators (empty lines), so that a
// run of millions of them costs a scan, not a call per line.
func (l *lineReader) skipEmpty() {
	for !l.inLong {
		i := l.lo
		for i < l.hi && (l.buf[i] == '\n' || l.buf[i] == '\r') {
			i++
		}
		// Keep a '\r' at the end of the buffer: it may start a CRLF whose
		// '\n' is read next; skipping both is right too, but keeping the
		// last one is simpler to reason about and costs one call.
		if i > l.lo && i == l.hi {
			i--
		}
		l.lo = i
		if i < l.hi-1 || l.err != nil || !l.fill() {
			return
		}
		if l.buf[l.lo] != '\n' && l.buf[l.lo] != '\r' {
			return
		}
	}
}

func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	for {
		end, tl := -1, 0
		n := l.find('\n', &l.nl)
		r := -1
		if n < 0 {
			r = l.find('\r', &l.cr)
		} else if n > l.lo {
			// only a '\r' before this '\n' matters
			if k := bytes.IndexByte(l.buf[l.lo:n], '\r'); k >= 0 {
				r = l.lo + k
			}
		}
		switch {
		case r >= 0 && r+1 < l.hi:
			end, tl = r, 1
			if l.buf[r+1] == '\n' {
				tl = 2
			}
		case r >= 0 && l.err != nil: // a '\r' ends the object
			end, tl = r, 1
		case r < 0 && n >= 0:
			end, tl = n, 1
		}
		if end >= 0 {
			b := l.buf[l.lo:end]
			l.lo = end + tl
			return l.line(b, true)
		}
		if l.err != nil && (l.hi == l.lo || r < 0) {
			// The last line may lack a terminator; after a read error
			// (e.g. a truncated gzip) it is cut off and is not returned.
			if l.err == io.EOF && (l.lo < l.hi || l.inLong) {
				b := l.buf[l.lo:l.hi]
				l.lo = l.hi
				return l.line(b, false)
			}
			return nil, false, l.err
		}
		if l.lo == 0 && l.hi == len(l.buf) {
			// Full buffer and no terminator: keep the line's start aside
			// (all but a last '\r', which may be half a CRLF).
			keep := l.hi
			if r == keep-1 {
				keep--
			}
			l.addLong(l.buf[:keep])
			l.lo = keep
		}
		if !l.fill() && l.err == nil {
			return nil, false, io.ErrNoProgress
		}
	}
}

func (l *lineReader) addLong(b []byte) {
	if !l.inLong {
		l.inLong, l.drop = true, false
		l.long = l.long[:0]
	}
	if l.drop {
		return
	}
	if len(l.long)+len(b) > l.max {
		l.drop = true
		l.long = l.long[:0]
		return
	}
	l.long = append(l.long, b...)
}

func (l *lineReader) line(b []byte, eol bool) ([]byte, bool, error) {
	l.eol = eol
	if l.inLong {
		l.addLong(b)
		l.inLong = false
		if l.drop {
			return nil, true, nil
		}
		b = l.long
	}
	if len(b) > l.max {
		return nil, true, nil
	}
	return b, false, nil
}

func isParquet(r io.Reader) bool {
	switch x := r.(type) {
	case *parquetReader:
		return true
	case *budgetReadCloser:
		_, ok := x.r.(*parquetReader)
		return ok
	}
	return false
}
