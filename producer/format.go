package producer

import (
	"fmt"

	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
)

// FormatFor is the splitter's view of a log type's framing, which the
// registry computed and checked when it loaded (schemas.Framing documents
// each file format's framing): the producer only frames raw records; decode
// parses them by the same log type.
func FormatFor(lt *schemas.LogType) (split.Format, error) {
	f := lt.Framing
	if f.Kind == "" {
		return split.Format{}, fmt.Errorf("log type %s: file_format %q is not supported by the producer", lt.Name, lt.FileFormat)
	}
	return split.Format{Kind: f.Kind, JSONDelimiter: f.JSONDelimiter, HeaderLines: f.HeaderLines, FirstLine: f.FirstLine, LastLine: f.LastLine}, nil
}
