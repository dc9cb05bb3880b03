package producer

import (
	"testing"

	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
)

// Every built-in log type (and the test types of testdata/formats) has a
// valid splitter format.
func TestFormatForRegistry(t *testing.T) {
	for _, userINI := range []string{"", "../testdata/formats/user.ini"} {
		reg, err := schemas.Load(schemas.Options{UserINI: userINI})
		if err != nil {
			t.Fatal(err)
		}
		for _, lt := range reg.Types() {
			if lt.Problem != "" {
				continue
			}
			f, err := FormatFor(lt)
			if err != nil {
				t.Errorf("%s (file_format %s): %v", lt.Name, lt.FileFormat, err)
				continue
			}
			if err := f.Validate(); err != nil {
				t.Errorf("%s: %v", lt.Name, err)
			}
			want := map[schemas.FileFormat]schemas.FramingKind{schemas.FormatJSON: split.KindJSON, schemas.FormatCSV: split.KindCSV,
				schemas.FormatText: split.KindText, schemas.FormatMultiline: split.KindMultiline, schemas.FormatXML: split.KindMultiline,
				schemas.FormatWinEvtXML: split.KindMultiline, schemas.FormatCEF: split.KindLines, schemas.FormatParquet: split.KindLines}[lt.FileFormat]
			switch {
			case lt.ViaCWL:
				want = split.KindCWL
			case lt.ViaFirelens:
				want = split.KindFirelens
			}
			if f.Kind != want {
				t.Errorf("%s: kind %s, want %s", lt.Name, f.Kind, want)
			}
		}
	}
}
