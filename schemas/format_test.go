package schemas

import (
	"strings"
	"testing"
)

// TestFramingAtLoad: every loadable type gets its framing when the registry
// loads, and a type the producer could not split is refused there, not per
// object.
func TestFramingAtLoad(t *testing.T) {
	base, _ := builtinFS.ReadFile("types/000-defaults.ini")
	for name, text := range map[string]string{
		"multiline no firstline": "[x]\ns3_key = x\nfile_format = multiline\nindex_name = i\nlog_pattern = (?P<a>.*)\n",
		"xml no xml_firstline":   "[x]\ns3_key = x\nfile_format = xml\nindex_name = i\nmultiline_firstline = <a\n",
	} {
		if _, err := loadText(string(base), text); err == nil || !strings.Contains(err.Error(), "needs multiline_firstline") || !strings.Contains(err.Error(), "[x]") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for text, want := range map[string]Framing{
		"file_format = json\njson_delimiter = Records\n":                     {Kind: FrameJSON, JSONDelimiter: "Records"},
		"file_format = csv\n":                                                {Kind: FrameCSV},
		"file_format = text\nlog_pattern = x\ntext_header_line_number = 2\n": {Kind: FrameText, HeaderLines: 2},
		"file_format = cef\n":                                                {Kind: FrameLines},
		"file_format = parquet\n":                                            {Kind: FrameLines},
		"file_format = text\nlog_pattern = x\nvia_cwl = true\n":              {Kind: FrameCWL},
		"file_format = json\nvia_firelens = true\n":                          {Kind: FrameFirelens},
	} {
		r, err := loadText(string(base), "[x]\ns3_key = x\nindex_name = i\n"+text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := r.Lookup("x").Framing; got != want {
			t.Errorf("%q: framing %+v, want %+v", text, got, want)
		}
	}
	r, err := loadText(string(base), "[x]\ns3_key = x\nindex_name = i\nfile_format = winevtxml\n[y]\ns3_key = y\nindex_name = i\nfile_format = xml\nxml_firstline = <E\n[z]\ns3_key = z\nindex_name = i\n")
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Lookup("x").Framing; f.Kind != FrameMultiline || f.FirstLine.String() != "^<Event xmlns=" || f.LastLine.String() != "</Event>$" {
		t.Errorf("winevtxml: %+v", f)
	}
	if f := r.Lookup("y").Framing; f.Kind != FrameMultiline || f.FirstLine == nil || !f.FirstLine.MatchString("<E") || f.LastLine != nil {
		t.Errorf("xml: %+v", f)
	}
	if lt := r.Lookup("z"); lt.Problem == "" || lt.Framing.Kind != "" {
		t.Errorf("no file_format: problem %q, framing %+v", lt.Problem, lt.Framing)
	}
	if !FormatParquet.ParsesAsJSON() || FormatCSV.ParsesAsJSON() {
		t.Error("ParsesAsJSON")
	}
}
