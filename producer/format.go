package producer

import (
	"fmt"

	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
)

// FormatFor maps a log type to the splitter's view of its format.
func FormatFor(lt *schemas.LogType) (split.Format, error) {
	switch lt.FileFormat {
	case "json":
		return split.Format{Kind: split.KindJSON, JSONDelimiter: lt.JSONDelimiter}, nil
	case "csv":
		return split.Format{Kind: split.KindCSV}, nil
	case "text":
		return split.Format{Kind: split.KindText, HeaderLines: lt.TextHeaderLineNumber}, nil
	}
	return split.Format{}, fmt.Errorf("log type %s: file_format %q is not supported by the producer yet", lt.Name, lt.FileFormat)
}
