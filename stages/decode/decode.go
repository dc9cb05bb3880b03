package decode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// ErrUnknownLogType: Event.Src.LogType is not in the registry.
var ErrUnknownLogType = errors.New("unknown log type")

// ErrRecord is wrapped by every per-record parse failure.
var ErrRecord = errors.New("bad record")

// ErrUnsupported: the log type's file_format has no decoder yet.
var ErrUnsupported = errors.New("file format not supported")

// Config configures the decode stage. How a record is parsed is its log
// type's definition, read from Deps.Registry.
type Config struct {
	// Flat reports whether the records of a log type may be decoded flat:
	// split into Event.Flat (offsets into the raw record) instead of a tree
	// in Event.Doc, for normalize's output plans to read. Only the next
	// stages that read Event.Flat may follow (normalize does: it builds the
	// tree of a record its plan does not take; stages that read Event.Doc
	// before normalize do not), so stages/chain sets it from the same
	// predicate as normalize.Config.Plan. Text records and whitespace-split
	// CSV records are decoded flat; other formats, and records that are not
	// valid UTF-8 or as long as stages.FlatMaxLine, always get a tree. nil:
	// never.
	Flat func(logType string) bool
}

// DefaultConfig returns the defaults: no flat records.
func DefaultConfig() Config { return Config{} }

// Validate checks the configuration (there is nothing to check).
func (c Config) Validate() error { return nil }

// Stage is the decode stage.
type Stage struct {
	reg  *schemas.Registry
	flat func(logType string) bool
}

// New returns the decode stage; deps.Registry is required.
func New(cfg Config, deps stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if deps.Registry == nil {
		return nil, errors.New("decode: nil registry")
	}
	return &Stage{reg: deps.Registry, flat: cfg.Flat}, nil
}

// Name is "decode".
func (s *Stage) Name() string { return "decode" }

// scratch is per-Process state, pooled so that steady state allocates nothing.
type scratch struct {
	src      *stages.Source
	lt       *schemas.LogType
	header   []string
	hdrHash  []uint32
	hdrRaw   []byte
	hdrDup   bool
	hdrErr   error
	hdrKeys  *stages.FlatKeys // header and hdrHash as flat keys (fresh slices per header: never modified)
	fields   [][]byte
	clean    []byte
	csvField []byte
	// message: e.Raw is a CloudWatch Logs message or a FireLens log, which
	// es-loader matches against log_pattern as is (convert_lograw_to_dict);
	// only lines it reads from a file are stripped first.
	message bool
	// batch is the batch being decoded: its Arena holds the envelopes.
	batch *stages.Batch
	// flat: the current source's records are decoded flat (decodeFlat)
	flat bool
	// ms is the log_pattern matcher's state, kept for the whole Process
	ms mstate
}

// envelope returns e's envelope, taking one from the batch first.
func (sc *scratch) envelope(e *stages.Event) *wire.Envelope {
	if e.Env == nil {
		e.Env = sc.batch.NewEnvelope()
	}
	return e.Env
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sc := scratchPool.Get().(*scratch)
	sc.batch = b
	defer func() {
		sc.src, sc.lt, sc.batch = nil, nil, nil
		scratchPool.Put(sc)
	}()
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep {
			continue
		}
		if e.Src != sc.src {
			sc.src = e.Src
			sc.lt = nil
			if e.Src != nil {
				sc.lt = s.reg.Lookup(e.Src.LogType)
			}
			sc.hdrErr = nil
			if sc.lt != nil && sc.lt.FileFormat == schemas.FormatCSV {
				sc.loadHeader(sc.lt, e.Src.Context)
			}
			sc.flat = s.flat != nil && sc.lt != nil && b.Arena != nil && flatType(sc.lt, sc.hdrDup) && s.flat(sc.lt.Name)
		}
		if sc.lt == nil {
			name := ""
			if e.Src != nil {
				name = e.Src.LogType
			}
			e.Fail(fmt.Errorf("decode: %w %q", ErrUnknownLogType, name))
			continue
		}
		e.Flat = nil
		if sc.flat {
			if done, err := sc.decodeFlat(sc.lt, e); done {
				if err != nil {
					e.Fail(err)
				}
				continue
			}
		}
		if e.Doc == nil {
			e.Doc = doc.Get()
		} else {
			e.Doc.Reset()
		}
		if err := sc.decode(sc.lt, e); err != nil {
			e.Fail(err)
		}
	}
	return nil
}

func (sc *scratch) decode(lt *schemas.LogType, e *stages.Event) error {
	e.Env = nil
	switch {
	case lt.ViaCWL:
		return sc.decodeCWL(lt, e)
	case lt.ViaFirelens:
		return sc.decodeFirelens(lt, e)
	}
	return sc.decodeFormat(lt, e)
}

// decodeFormat parses e.Raw by lt.FileFormat.
func (sc *scratch) decodeFormat(lt *schemas.LogType, e *stages.Event) error {
	switch lt.FileFormat {
	case schemas.FormatJSON:
		return sc.decodeJSON(lt, e)
	case schemas.FormatCSV:
		if sc.hdrErr != nil {
			return sc.hdrErr
		}
		return sc.decodeCSV(lt, e)
	case schemas.FormatText:
		line := sc.valid(e.Raw)
		if !sc.message {
			line = pyStrip(line)
		}
		return decodeText(lt, e.Doc, line, schemas.FormatText, &sc.ms)
	case schemas.FormatMultiline:
		rec := sc.valid(e.Raw)
		if !sc.message {
			rec = pyRStrip(rec)
		}
		return decodeText(lt, e.Doc, rec, schemas.FormatMultiline, &sc.ms)
	case schemas.FormatParquet: // rows arrive as JSON objects (split.Open)
		return sc.decodeJSON(lt, e)
	case schemas.FormatCEF:
		return decodeCEF(lt, e, sc.valid(e.Raw))
	case schemas.FormatXML:
		return decodeXML(lt, e, sc.valid(e.Raw))
	case schemas.FormatWinEvtXML:
		return decodeWinEvtXML(lt, e, sc.valid(e.Raw))
	}
	return fmt.Errorf("decode %s: %w: %q (log type %s)", lt.FileFormat, ErrUnsupported, lt.FileFormat, lt.Name)
}

// valid returns b without invalid UTF-8 bytes (a copy in sc.clean only when
// something had to be dropped).
func (sc *scratch) valid(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	sc.clean = DropInvalidUTF8(sc.clean[:0], b)
	return sc.clean
}

// DropInvalidUTF8 appends b to dst without the bytes that are not valid
// UTF-8 (Python's decode(errors='ignore')).
func DropInvalidUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			b = b[1:]
			continue
		}
		dst = append(dst, b[:size]...)
		b = b[size:]
	}
	return dst
}

func (sc *scratch) decodeJSON(lt *schemas.LogType, e *stages.Event) error {
	d := e.Doc
	err := d.ParseObject(e.Raw)
	if err != nil {
		if (lt.ViaCWL || lt.ViaFirelens) && !errors.Is(err, doc.ErrNotObject) {
			return repairJSON(lt, e, err)
		}
		return fmt.Errorf("decode json (log type %s): %w: %w", lt.Name, ErrRecord, err)
	}
	// es-loader strips an EventBridge envelope only in its JSON file reader
	// (extract_log); via_cwl and via_firelens messages go through
	// convert_lograw_to_dict, which keeps them whole.
	if lt.ViaCWL || lt.ViaFirelens {
		return nil
	}
	root := d.Root()
	if d.Child(root, "detail-type") != doc.Nil && d.Child(root, "resources") != doc.Nil {
		return sc.stripEventBridge(lt, e)
	}
	return nil
}

// repairJSON is es-loader's convert_lograw_to_dict for a via_cwl or
// via_firelens JSON message that did not parse: on Python's "Invalid
// \escape" it doubles the backslash of every `\x` (OpenSearch audit logs
// carry `\x3c`…) and parses again with control characters allowed in
// strings; if that fails too, or the first error was another one, the
// record is indexed un-normalised with error.message "invalid json file: "
// + Python's error text (the last one).
func repairJSON(lt *schemas.LogType, e *stages.Event, parseErr error) error {
	d := e.Doc
	raw := e.Raw
	if !utf8.Valid(raw) {
		raw = DropInvalidUTF8(nil, raw)
	}
	msg := parseErr.Error() // only if Python would accept what we refuse
	if pe := pyJSONCheck(raw, true); pe != nil {
		msg = pe.text(raw)
		if pe.msg == pyErrEscape {
			fixed := doubleBackslashX(nil, raw)
			d.Reset()
			err := d.ParseObject(escapeControlInStrings(nil, fixed))
			switch {
			case err == nil:
				return nil
			case errors.Is(err, doc.ErrNotObject):
				return fmt.Errorf("decode json (log type %s): %w: %w", lt.Name, ErrRecord, err)
			}
			msg = err.Error()
			if pe2 := pyJSONCheck(fixed, false); pe2 != nil {
				msg = pe2.text(fixed)
			}
		}
	}
	d.Reset()
	d.Meta.SkipNormalization = true
	d.Meta.ErrorMessage = "invalid json file: " + msg
	return nil
}

// stripEventBridge replaces an EventBridge envelope by its detail, keeping
// id/account/region/time in Event.Env.EventBridge (es-loader
// _check_cwe_and_strip_header).
func (sc *scratch) stripEventBridge(lt *schemas.LogType, e *stages.Event) error {
	d := e.Doc
	root := d.Root()
	cwe := wire.EventBridge{Set: true}
	for _, f := range []struct {
		key string
		dst *string
	}{{"id", &cwe.ID}, {"account", &cwe.Account}, {"region", &cwe.Region}, {"time", &cwe.Time}, {"source", nil}} {
		n := d.Child(root, f.key)
		if n == doc.Nil {
			return fmt.Errorf("decode json (log type %s): %w: EventBridge envelope without %q", lt.Name, ErrRecord, f.key)
		}
		if f.dst != nil {
			*f.dst = string(d.AppendPyStr(nil, n))
		}
	}
	det := gjson.GetBytes(e.Raw, "detail")
	if !det.Exists() || !det.IsObject() || det.Index <= 0 {
		return fmt.Errorf("decode json (log type %s): %w: EventBridge envelope whose detail is not an object", lt.Name, ErrRecord)
	}
	d.Reset()
	if err := d.ParseObject(e.Raw[det.Index : det.Index+len(det.Raw)]); err != nil {
		return fmt.Errorf("decode json (log type %s): %w: detail: %w", lt.Name, ErrRecord, err)
	}
	d.Meta = doc.Meta{RecordStart: det.Index, RecordEnd: det.Index + len(det.Raw)}
	sc.envelope(e).EventBridge = cwe
	return nil
}

// matchText matches line against lt's log_pattern: m are the submatch
// indices (they may be s's, valid until its next match), or the record's
// error.
func matchText(lt *schemas.LogType, line []byte, format schemas.FileFormat, s *mstate) (m []int, plan *patternPlan, err error) {
	if lt.LogPattern == nil {
		return nil, nil, fmt.Errorf("decode %s (log type %s): %w: no log_pattern", format, lt.Name, ErrRecord)
	}
	if s.re != lt.LogPattern { // the same log type, record after record
		s.re, s.plan = lt.LogPattern, planFor(lt.LogPattern)
	}
	plan = s.plan
	f := plan.fast
	if f != nil {
		var ok bool
		if m, ok = f.match(s, line); !ok {
			f = nil // budget spent: the regexp decides
		}
	}
	if f == nil {
		m = lt.LogPattern.FindSubmatchIndex(line)
	}
	if m == nil {
		return nil, nil, fmt.Errorf("decode %s (log type %s): %w: line does not match log_pattern", format, lt.Name, ErrRecord)
	}
	return m, plan, nil
}

func decodeText(lt *schemas.LogType, d *doc.Doc, line []byte, format schemas.FileFormat, s *mstate) error {
	m, plan, err := matchText(lt, line, format, s)
	if err != nil {
		return err
	}
	root := d.Root()
	if plan.unique && d.First(root) == doc.Nil && len(plan.names) == len(lt.LogPatternNames) {
		// fresh document, distinct names: append without lookups
		for g, name := range plan.names {
			if g == 0 || name == "" {
				continue
			}
			a, z := m[2*g], m[2*g+1]
			if a < 0 {
				d.AddRootNull(name, plan.hashes[g])
				continue
			}
			d.AddRootStringBytes(name, plan.hashes[g], line[a:z])
		}
		return nil
	}
	for g, name := range lt.LogPatternNames {
		if g == 0 || name == "" {
			continue
		}
		a, z := m[2*g], m[2*g+1]
		if a < 0 {
			d.SetNull(root, name)
			continue
		}
		d.SetStringBytes(root, name, line[a:z])
	}
	return nil
}

// loadHeader parses the csv header line (Src.Context).
func (sc *scratch) loadHeader(lt *schemas.LogType, ctx []byte) {
	if len(sc.header) > 0 && string(sc.hdrRaw) == string(ctx) {
		return
	}
	// fresh slices: the last header's may be a Flat's keys
	sc.header, sc.hdrHash, sc.hdrKeys = nil, nil, nil
	sc.hdrRaw = append(sc.hdrRaw[:0], ctx...)
	line := pyStrip(DropInvalidUTF8(nil, firstLine(ctx)))
	if len(line) == 0 {
		sc.hdrErr = fmt.Errorf("decode csv (log type %s): %w: the object has no header line (Source.Context is empty)", lt.Name, ErrRecord)
		return
	}
	var names [][]byte
	if lt.CSVDelimiter == "" {
		names = pyFields(nil, line)
	} else {
		names = csvSplit(nil, line, lt.CSVDelimiter, nil)
	}
	seen := map[string]bool{}
	sc.hdrDup = false
	for _, n := range names {
		k := strings.ReplaceAll(string(n), "-", "_")
		if seen[k] {
			sc.hdrDup = true
		}
		seen[k] = true
		sc.header = append(sc.header, k)
		sc.hdrHash = append(sc.hdrHash, doc.HashKey(k))
	}
	sc.hdrKeys = &stages.FlatKeys{Names: sc.header, Hashes: sc.hdrHash}
}

func firstLine(b []byte) []byte {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return b[:i]
		}
	}
	return b
}

func (sc *scratch) decodeCSV(lt *schemas.LogType, e *stages.Event) error {
	line := pyStrip(sc.valid(e.Raw))
	if lt.CSVDelimiter == "" {
		sc.fields = pyFields(sc.fields[:0], line)
	} else {
		sc.csvField = sc.csvField[:0]
		sc.fields = csvSplit(sc.fields[:0], line, lt.CSVDelimiter, &sc.csvField)
	}
	d := e.Doc
	root := d.Root()
	n := min(len(sc.header), len(sc.fields))
	for i := 0; i < n; i++ {
		if sc.hdrDup {
			d.SetStringBytes(root, sc.header[i], sc.fields[i])
		} else {
			d.AddRootStringBytes(sc.header[i], sc.hdrHash[i], sc.fields[i])
		}
	}
	return nil
}

// csvSplit splits one line like Python's csv.reader with the default excel
// dialect and the given delimiter: fields may be quoted with '"', a doubled
// quote inside quotes is one quote, text after a closing quote is appended
// to the field (strict=False). Unquoted fields alias the line; fields that
// needed unescaping are appended to *buf (if buf is nil they are allocated).
func csvSplit(dst [][]byte, line []byte, delim string, buf *[]byte) [][]byte {
	dr, _ := utf8.DecodeRuneInString(delim)
	dl := utf8.RuneLen(dr)
	var local []byte
	if buf == nil {
		buf = &local
	}
	i := 0
	for {
		// one field
		if i < len(line) && line[i] == '"' {
			start := len(*buf)
			i++
			for i < len(line) {
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						*buf = append(*buf, '"')
						i += 2
						continue
					}
					i++
					break
				}
				*buf = append(*buf, line[i])
				i++
			}
			// after the closing quote: characters up to the delimiter are kept
			for i < len(line) && !hasDelim(line[i:], dr) {
				*buf = append(*buf, line[i])
				i++
			}
			dst = append(dst, (*buf)[start:len(*buf):len(*buf)])
		} else {
			start := i
			for i < len(line) && !hasDelim(line[i:], dr) {
				i++
			}
			dst = append(dst, line[start:i])
		}
		if i >= len(line) {
			return dst
		}
		i += dl // skip the delimiter
	}
}

func hasDelim(b []byte, d rune) bool {
	if d < utf8.RuneSelf {
		return b[0] == byte(d)
	}
	r, _ := utf8.DecodeRune(b)
	return r == d
}
