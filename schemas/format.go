package schemas

import (
	"fmt"
	"regexp"
	"strings"
)

// FileFormat is a log type's file_format: how one raw record is parsed
// (stages/decode) and which framing cuts an object into records
// (Framing, used by the producer's splitter).
type FileFormat string

// The file formats es-loader knows.
const (
	FormatJSON      FileFormat = "json"
	FormatCSV       FileFormat = "csv"
	FormatText      FileFormat = "text"
	FormatMultiline FileFormat = "multiline"
	FormatXML       FileFormat = "xml"
	FormatWinEvtXML FileFormat = "winevtxml"
	FormatParquet   FileFormat = "parquet"
	FormatCEF       FileFormat = "cef"
)

// FileFormats lists every file format, in the order the docs name them.
var FileFormats = []FileFormat{FormatJSON, FormatCSV, FormatText, FormatMultiline, FormatXML, FormatWinEvtXML, FormatParquet, FormatCEF}

func (f FileFormat) valid() bool {
	for _, k := range FileFormats {
		if f == k {
			return true
		}
	}
	return false
}

// ParsesAsJSON: a record of this format is a JSON object (parquet rows
// arrive as JSON lines).
func (f FileFormat) ParsesAsJSON() bool { return f == FormatJSON || f == FormatParquet }

// FramingKind is how an object is cut into raw records. The producer's
// splitter cuts by these values (producer/split.Kind* names them and
// documents each).
type FramingKind string

// The framings.
const (
	FrameJSON      FramingKind = "json"      // JSON values, json_delimiter arrays, EventBridge envelopes
	FrameCSV       FramingKind = "csv"       // lines, the header line as Source.Context
	FrameText      FramingKind = "text"      // lines, text_header_line_number lines as Source.Context
	FrameLines     FramingKind = "lines"     // one record per line
	FrameMultiline FramingKind = "multiline" // a record from a first line (to a last line)
	FrameCWL       FramingKind = "cwl"       // CloudWatch Logs subscription payloads (via_cwl)
	FrameFirelens  FramingKind = "firelens"  // FireLens lines (via_firelens)
)

// Framing is how the producer cuts an object of a log type into raw
// records; decode parses each record by the same log type, so the two stay
// in step here:
//
//	via_cwl (any file_format) → cwl: one record per logEvents[] message, the
//	                            CloudWatch Logs metadata ahead of it
//	                            (internal/wire envelope); decode parses the
//	                            message with file_format.
//	via_firelens              → firelens: one record per line, the container
//	                            metadata ahead of the log.
//	json                      → json (json_delimiter: dotted path allowed; in
//	                            an EventBridge envelope it is looked up in
//	                            detail and each element is emitted in the
//	                            envelope, which decode strips)
//	csv                       → csv (header line → Source.Context)
//	text                      → text (text_header_line_number lines →
//	                            Source.Context)
//	multiline                 → multiline, a record per multiline_firstline
//	xml                       → multiline, a record per xml_firstline (or
//	                            multiline_firstline)
//	winevtxml                 → multiline from `<Event xmlns=` to `</Event>`
//	cef                       → lines (one CEF message per line)
//	parquet                   → lines (the splitter turns rows into JSON
//	                            lines; a PAR1 object switches to this whatever
//	                            the file_format, as es-loader does)
type Framing struct {
	Kind          FramingKind
	JSONDelimiter string
	HeaderLines   int
	// FirstLine starts a record and LastLine, when set, ends one
	// (FrameMultiline only).
	FirstLine, LastLine *regexp.Regexp
}

// Windows event XML record bounds (es-loader fileformat_winevtxml: a record
// starts at a line beginning with `<Event xmlns=` and ends at a line ending
// with `</Event>`).
var (
	winEvtFirstLine = regexp.MustCompile(`^<Event xmlns=`)
	winEvtLastLine  = regexp.MustCompile(`</Event>$`)
)

// framingOf computes lt's framing when the registry loads, so a type the
// producer cannot split is refused at start-up rather than per object.
func framingOf(lt *LogType) (Framing, error) {
	switch {
	case lt.ViaCWL:
		return Framing{Kind: FrameCWL}, nil
	case lt.ViaFirelens:
		return Framing{Kind: FrameFirelens}, nil
	}
	switch lt.FileFormat {
	case FormatJSON:
		return Framing{Kind: FrameJSON, JSONDelimiter: lt.JSONDelimiter}, nil
	case FormatCSV:
		return Framing{Kind: FrameCSV}, nil
	case FormatText:
		return Framing{Kind: FrameText, HeaderLines: lt.TextHeaderLineNumber}, nil
	case FormatMultiline, FormatXML:
		// lt.MultilineFirstline is xml_firstline for xml (see build)
		if lt.MultilineFirstline == nil {
			return Framing{}, fmt.Errorf("file_format %s needs multiline_firstline (or xml_firstline)", lt.FileFormat)
		}
		return Framing{Kind: FrameMultiline, FirstLine: lt.MultilineFirstline}, nil
	case FormatWinEvtXML:
		return Framing{Kind: FrameMultiline, FirstLine: winEvtFirstLine, LastLine: winEvtLastLine}, nil
	case FormatCEF, FormatParquet:
		return Framing{Kind: FrameLines}, nil
	}
	return Framing{}, fmt.Errorf("file_format %q cannot be split", lt.FileFormat)
}

// fileFormatNames is the list for error messages: "json, csv, ...".
func fileFormatNames() string {
	s := make([]string, len(FileFormats))
	for i, f := range FileFormats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
