package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type got struct {
	recs    []string // "ordinal:record" or "ordinal!cause"
	context string
	fatal   error
}

func splitAll(t testing.TB, data []byte, f Format, o Options) got {
	t.Helper()
	s, err := New(bytes.NewReader(data), f, o)
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, s)
}

func drain(t testing.TB, s *Splitter) got {
	t.Helper()
	var g got
	var last int64
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("splitter does not end")
		}
		rec, ord, err := s.Next()
		if err == io.EOF {
			break
		}
		var re *RecordError
		switch {
		case errors.As(err, &re):
			if re.Ordinal != ord || ord != last+1 {
				t.Fatalf("record error ordinal %d (returned %d) after %d", re.Ordinal, ord, last)
			}
			last = ord
			cause := "?"
			for _, c := range []error{ErrRecordTooLarge, ErrNoDelimiter, ErrInvalidJSON} {
				if errors.Is(err, c) {
					cause = c.Error()
				}
			}
			g.recs = append(g.recs, fmt.Sprintf("%d!%s", ord, cause))
		case err != nil:
			g.fatal = err
			if _, _, again := s.Next(); again != err {
				t.Fatalf("fatal error not sticky: %v then %v", err, again)
			}
			g.context = string(s.Context())
			return g
		default:
			if ord != last+1 {
				t.Fatalf("ordinal %d after %d", ord, last)
			}
			last = ord
			g.recs = append(g.recs, fmt.Sprintf("%d:%s", ord, rec))
		}
	}
	if last != s.Ordinal() {
		t.Fatalf("Ordinal() = %d, last = %d", s.Ordinal(), last)
	}
	g.context = string(s.Context())
	return g
}

const vpcHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

func TestSplitShapes(t *testing.T) {
	csv := Format{Kind: KindCSV}
	text := Format{Kind: KindText}
	ct := Format{Kind: KindJSON, JSONDelimiter: "Records"}
	js := Format{Kind: KindJSON}
	big := strings.Repeat("x", 2<<20)
	cases := []struct {
		name    string
		f       Format
		in      string
		want    []string
		context string
	}{
		// csv
		{"vpc", csv, vpcHeader + "\n2 a b\n2 c d\n", []string{"1:2 a b", "2:2 c d"}, vpcHeader},
		{"vpc crlf no trailing newline", csv, vpcHeader + "\r\n2 a b\r\n\r\n  \r\n2 c d", []string{"1:2 a b", "2:2 c d"}, vpcHeader},
		{"vpc header only", csv, vpcHeader + "\n", nil, vpcHeader},
		{"vpc header no newline", csv, vpcHeader, nil, vpcHeader},
		{"csv blank lines before header", csv, "\n\n h1 h2\nv1 v2\n", []string{"1:v1 v2"}, " h1 h2"},
		{"csv empty", csv, "", nil, ""},
		{"csv bom", csv, "\xef\xbb\xbfa b\n1 2\n", []string{"1:1 2"}, "a b"},
		{"csv 2MiB line", csv, "h\nr1\n" + big + "\nr3\n", []string{"1:r1", "2!record too large", "3:r3"}, "h"},
		{"csv 2MiB last line no newline", csv, "h\nr1\n" + big, []string{"1:r1", "2!record too large"}, "h"},
		{"csv header lines", Format{Kind: KindCSV, HeaderLines: 1}, "# comment\nh1 h2\nv\n", []string{"1:v"}, "h1 h2"},
		// text
		{"alb", text, "http a b\nhttps c d\n", []string{"1:http a b", "2:https c d"}, ""},
		{"cloudfront", Format{Kind: KindText, HeaderLines: 2}, "#Version: 1.0\r\n#Fields: date time\r\n2019-12-04\t21:02:31\n\n2019-12-05\t01:00:00\n",
			[]string{"1:2019-12-04\t21:02:31", "2:2019-12-05\t01:00:00"}, "#Version: 1.0\n#Fields: date time"},
		{"text header longer than object", Format{Kind: KindText, HeaderLines: 5}, "a\nb\n", nil, "a\nb"},
		{"text empty", text, "", nil, ""},
		{"text only newlines", text, "\n\r\n\n", nil, ""},
		{"text 2MiB", text, "a\n" + big + "\r\nb", []string{"1:a", "2!record too large", "3:b"}, ""},
		{"lines discards header", Format{Kind: KindLines, HeaderLines: 1}, "skip\n{\"a\":1}\n{\"a\":2}\n", []string{`1:{"a":1}`, `2:{"a":2}`}, ""},
		// json with delimiter
		{"cloudtrail", ct, `{"Records":[{"a":1},{"b":"]}\"["}, [1,2] ,"s",3,null]}`,
			[]string{`1:{"a":1}`, `2:{"b":"]}\"["}`, "3:[1,2]", `4:"s"`, "5:3", "6:null"}, ""},
		{"cloudtrail members around", ct, `{"x":{"Records":[9]},"Records":[{"a":1}],"y":[{"Records":[8]}],"z":"Records"}`, []string{`1:{"a":1}`}, ""},
		{"cloudtrail pretty", ct, "{\n  \"Records\": [\n    {\n      \"a\": 1\n    },\n    {\"b\": 2}\n  ]\n}\n", []string{"1:{\n      \"a\": 1\n    }", `2:{"b": 2}`}, ""},
		{"cloudtrail escaped key", ct, `{"Rec\u006frds":[1]}`, []string{"1:1"}, ""},
		{"cloudtrail empty", ct, `{"Records":[]}`, nil, ""},
		{"cloudtrail null", ct, `{"Records":null}`, nil, ""},
		{"cloudtrail not array", ct, `{"Records":{"a":1}}`, []string{"1!json_delimiter field not found"}, ""},
		{"cloudtrail absent", ct, `{"digest":"x"}`, []string{"1!json_delimiter field not found"}, ""},
		{"cloudtrail not object", ct, `[1,2]`, []string{"1!json_delimiter field not found"}, ""},
		{"cloudtrail concatenated", ct, `{"Records":[1,2]}{"Records":[3]}` + "\n" + `{"other":1}` + "\n" + `{"Records":[4]}`,
			[]string{"1:1", "2:2", "3:3", "4!json_delimiter field not found", "5:4"}, ""},
		{"cloudtrail 2MiB element", ct, `{"Records":[1,"` + big + `",{"c":"` + big + `"},4]}`, []string{"1:1", "2!record too large", "3!record too large", "4:4"}, ""},
		{"cloudtrail empty object", ct, "", nil, ""},
		{"nested path", Format{Kind: KindJSON, JSONDelimiter: "detail.findings"}, `{"detail-type":"x","detail":{"findings":[{"Id":1},{"Id":2}]}}`,
			[]string{`1:{"Id":1}`, `2:{"Id":2}`}, ""},
		{"nested path absent", Format{Kind: KindJSON, JSONDelimiter: "detail.findings"}, `{"findings":[1]}`, []string{"1!json_delimiter field not found"}, ""},
		// json without delimiter
		{"ndjson", js, "{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}", []string{`1:{"a":1}`, `2:{"a":2}`, `3:{"a":3}`}, ""},
		{"concatenated", js, `{"a":1}{"a":2}  {"a":[3]}`, []string{`1:{"a":1}`, `2:{"a":2}`, `3:{"a":[3]}`}, ""},
		{"pretty values", js, "{\n \"a\": 1\n}\n{\n \"b\": \"x\\ny\"\n}\n", []string{"1:{\n \"a\": 1\n}", "2:{\n \"b\": \"x\\ny\"\n}"}, ""},
		{"top-level array", js, ` [ {"a":1} , {"a":2} ] `, []string{`1:{"a":1}`, `2:{"a":2}`}, ""},
		{"top-level empty array", js, `[]`, nil, ""},
		{"scalars", js, "1 true \"s\" null -2.5e3", []string{"1:1", "2:true", `3:"s"`, "4:null", "5:-2.5e3"}, ""},
		{"ndjson broken line", js, "{\"a\":1}\n{\"a\":\"unterminated\n{\"a\":3}\n}x\n{\"a\":5}\n", []string{`1:{"a":1}`, "2!invalid JSON", `3:{"a":3}`, "4!invalid JSON", `5:{"a":5}`}, ""},
		{"ndjson mismatched", js, "{\"a\":[1}\n{\"a\":2}\n", []string{"1!invalid JSON", `2:{"a":2}`}, ""},
		{"ndjson truncated last", js, "{\"a\":1}\n{\"a\":[1,", []string{`1:{"a":1}`, "2!invalid JSON"}, ""},
		{"json bom", js, "\xef\xbb\xbf{\"a\":1}", []string{`1:{"a":1}`}, ""},
		{"json 2MiB", js, "{\"a\":1}\n{\"b\":\"" + big + "\"}\n{\"a\":3}", []string{`1:{"a":1}`, "2!record too large", `3:{"a":3}`}, ""},
		{"json empty", js, "  \n ", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, bufSize := range []int{0, 16, 17} { // tiny buffers exercise refills
				g := splitAll(t, []byte(tc.in), tc.f, Options{BufferSize: bufSize})
				if g.fatal != nil {
					t.Fatalf("buf %d: fatal: %v", bufSize, g.fatal)
				}
				if strings.Join(g.recs, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("buf %d:\n got %q\nwant %q", bufSize, short(g.recs), tc.want)
				}
				if g.context != tc.context {
					t.Fatalf("buf %d: context %q, want %q", bufSize, g.context, tc.context)
				}
			}
		})
	}
}

func short(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		if len(x) > 80 {
			x = x[:80] + "…"
		}
		out[i] = x
	}
	return out
}

func TestSplitFatalJSON(t *testing.T) {
	ct := Format{Kind: KindJSON, JSONDelimiter: "Records"}
	cases := []struct {
		name string
		f    Format
		in   string
		n    int // records before the error
	}{
		{"truncated array", ct, `{"Records":[{"a":1},{"a":2},{"a"`, 2},
		{"unclosed array", ct, `{"Records":[{"a":1}`, 1},
		{"missing comma", ct, `{"Records":[1 2]}`, 1},
		{"broken element", ct, `{"Records":[1,{"a":]]}`, 1},
		{"bad key", ct, `{Records:[1]}`, 0},
		{"top-level array unclosed", Format{Kind: KindJSON}, `[1,2`, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := splitAll(t, []byte(tc.in), tc.f, Options{})
			if g.fatal == nil || !errors.Is(g.fatal, ErrInvalidJSON) {
				t.Fatalf("fatal = %v", g.fatal)
			}
			if len(g.recs) != tc.n {
				t.Fatalf("%d records before the error, want %d: %q", len(g.recs), tc.n, g.recs)
			}
			if !strings.Contains(g.fatal.Error(), fmt.Sprintf("after record %d", tc.n)) {
				t.Fatalf("error %q does not say how far it got", g.fatal)
			}
		})
	}
}

func TestSplitMaxRecordExact(t *testing.T) {
	o := Options{MaxRecordBytes: 10, BufferSize: 16}
	for _, f := range []Format{{Kind: KindText}, {Kind: KindLines}} {
		g := splitAll(t, []byte("0123456789\n01234567890\r\n0123456789\r\n"), f, o)
		want := "1:0123456789|2!record too large|3:0123456789"
		if strings.Join(g.recs, "|") != want {
			t.Fatalf("%v: %q", f.Kind, g.recs)
		}
	}
	g := splitAll(t, []byte(`["12345678",123456789,"123456789"]`), Format{Kind: KindJSON}, o)
	if want := `1:"12345678"|2:123456789|3!record too large`; strings.Join(g.recs, "|") != want {
		t.Fatalf("json: %q", g.recs)
	}
}

func TestSplitHeaderTooLarge(t *testing.T) {
	g := splitAll(t, []byte(strings.Repeat("h", MaxContextBytes+1)+"\nr\n"), Format{Kind: KindCSV}, Options{})
	if !errors.Is(g.fatal, ErrHeaderTooLarge) {
		t.Fatalf("fatal = %v", g.fatal)
	}
}

type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestSplitReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, f := range []Format{{Kind: KindText}, {Kind: KindJSON}, {Kind: KindJSON, JSONDelimiter: "Records"}} {
		in := "1\n2\n3"
		if f.JSONDelimiter != "" {
			in = `{"Records":[1,2,3`
		}
		s, err := New(&errReader{strings.NewReader(in), boom}, f, Options{BufferSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		g := drain(t, s)
		if !errors.Is(g.fatal, boom) {
			t.Fatalf("%+v: fatal = %v", f, g.fatal)
		}
		if len(g.recs) < 2 || s.Records() != int64(len(g.recs)) {
			t.Fatalf("%+v: %q, Records() = %d", f, g.recs, s.Records())
		}
	}
}

func TestFormatValidate(t *testing.T) {
	for _, f := range []Format{{Kind: "xml"}, {Kind: KindCSV, JSONDelimiter: "x"}, {Kind: KindJSON, HeaderLines: 1}, {Kind: KindText, HeaderLines: -1}, {Kind: KindJSON, JSONDelimiter: "a..b"}} {
		if f.Validate() == nil {
			t.Errorf("%+v accepted", f)
		}
		if _, err := New(strings.NewReader(""), f, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", f)
		}
	}
	if _, err := New(strings.NewReader(""), Format{Kind: KindText}, Options{MaxRecordBytes: -1}); err == nil {
		t.Error("negative MaxRecordBytes accepted")
	}
}

func TestHeader(t *testing.T) {
	s, _ := New(strings.NewReader(vpcHeader+"\n2 a\n"), Format{Kind: KindCSV}, Options{})
	h, err := s.Header()
	if err != nil || string(h) != vpcHeader {
		t.Fatalf("Header = %q, %v", h, err)
	}
	if h2, _ := s.Header(); string(h2) != vpcHeader {
		t.Fatal("Header not idempotent")
	}
	g := drain(t, s)
	if strings.Join(g.recs, "|") != "1:2 a" || g.context != vpcHeader {
		t.Fatalf("%+v", g)
	}
	if h3, err := s.Header(); err != nil || string(h3) != vpcHeader {
		t.Fatal("Header after EOF", err)
	}
	s, _ = New(strings.NewReader(strings.Repeat("h", MaxContextBytes+1)), Format{Kind: KindCSV}, Options{})
	if _, err := s.Header(); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatal(err)
	}
	if _, _, err := s.Next(); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatal("Header error not sticky", err)
	}
	s, _ = New(strings.NewReader(`{"Records":[1]}`), Format{Kind: KindJSON, JSONDelimiter: "Records"}, Options{})
	if h, err := s.Header(); h != nil || err != nil {
		t.Fatal(h, err)
	}
	if g := drain(t, s); strings.Join(g.recs, "|") != "1:1" {
		t.Fatal(g.recs)
	}
}
