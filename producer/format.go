package producer

import (
	"fmt"
	"regexp"

	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
)

// Windows event XML record bounds (es-loader fileformat_winevtxml: a record
// starts at a line beginning with `<Event xmlns=` and ends at a line ending
// with `</Event>`).
var (
	winEvtFirstLine = regexp.MustCompile(`^<Event xmlns=`)
	winEvtLastLine  = regexp.MustCompile(`</Event>$`)
)

// FormatFor maps a log type to the splitter's view of its format. The
// producer only frames raw records; decode parses them by the same log
// type, so the pairs below must stay in step with stages/decode:
//
//	via_cwl (any file_format)  → cwl: one record per logEvents[] message,
//	                             with the CloudWatch Logs metadata ahead of
//	                             it (wire.AppendCWLRecord); decode parses
//	                             the message with file_format.
//	via_firelens               → firelens: one record per line, with the
//	                             container metadata ahead of the log
//	                             (wire.AppendFirelensRecord); decode parses
//	                             the log with file_format.
//	json                       → json (json_delimiter: dotted path allowed;
//	                             in an EventBridge envelope it is looked up
//	                             in detail and each element is emitted in
//	                             the envelope, which decode strips)
//	csv                        → csv (header line → Source.Context)
//	text                       → text (text_header_line_number lines →
//	                             Source.Context)
//	multiline                  → multiline, a record per multiline_firstline
//	xml                        → multiline, a record per xml_firstline (or
//	                             multiline_firstline)
//	winevtxml                  → multiline from `<Event xmlns=` to `</Event>`
//	cef                        → lines (one CEF message per line)
//	parquet                    → lines (split.Open turns rows into JSON lines;
//	                             a PAR1 object switches to this whatever the
//	                             file_format, as es-loader does)
func FormatFor(lt *schemas.LogType) (split.Format, error) {
	if lt.ViaCWL {
		return split.Format{Kind: split.KindCWL}, nil
	}
	if lt.ViaFirelens {
		return split.Format{Kind: split.KindFirelens}, nil
	}
	switch lt.FileFormat {
	case "json":
		return split.Format{Kind: split.KindJSON, JSONDelimiter: lt.JSONDelimiter}, nil
	case "csv":
		return split.Format{Kind: split.KindCSV}, nil
	case "text":
		return split.Format{Kind: split.KindText, HeaderLines: lt.TextHeaderLineNumber}, nil
	case "multiline", "xml":
		first := lt.MultilineFirstline
		if lt.FileFormat == "xml" && lt.XMLFirstline != nil {
			first = lt.XMLFirstline
		}
		if first == nil {
			return split.Format{}, fmt.Errorf("log type %s: file_format %s needs multiline_firstline (or xml_firstline)", lt.Name, lt.FileFormat)
		}
		return split.Format{Kind: split.KindMultiline, FirstLine: first}, nil
	case "winevtxml":
		return split.Format{Kind: split.KindMultiline, FirstLine: winEvtFirstLine, LastLine: winEvtLastLine}, nil
	case "cef", "parquet":
		return split.Format{Kind: split.KindLines}, nil
	}
	return split.Format{}, fmt.Errorf("log type %s: file_format %q is not supported by the producer", lt.Name, lt.FileFormat)
}
