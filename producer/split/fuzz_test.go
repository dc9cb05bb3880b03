package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

func addCorpus(f *testing.F, glob string) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "elastic-aws", glob))
	if len(files) == 0 { // repo layout: /work/main/producer/split -> /work/shared
		files, _ = filepath.Glob(filepath.Join("/work/shared/corpus/elastic-aws", glob))
	}
	for _, p := range files {
		if strings.HasSuffix(p, "expected.json") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(0))
		}
	}
}

// collect runs a splitter to the end, returning the records (copied) and
// the count of per-record errors; it fails on non-termination.
func collect(t *testing.T, in []byte, f Format, o Options) (recs [][]byte, recErrs int, fatal error) {
	s, err := New(bytes.NewReader(in), f, o)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := 0; ; i++ {
		if i > len(in)+10 {
			t.Fatalf("splitter does not end: %d calls for %d bytes", i, len(in))
		}
		rec, ord, err := s.Next()
		if err == io.EOF {
			return recs, recErrs, nil
		}
		var re *RecordError
		if errors.As(err, &re) {
			if ord != last+1 {
				t.Fatalf("ordinal %d after %d", ord, last)
			}
			last = ord
			recErrs++
			continue
		}
		if err != nil {
			return recs, recErrs, err
		}
		if ord != last+1 {
			t.Fatalf("ordinal %d after %d", ord, last)
		}
		last = ord
		if len(rec) > s.opts.MaxRecordBytes {
			t.Fatalf("record of %d bytes > max %d", len(rec), s.opts.MaxRecordBytes)
		}
		recs = append(recs, bytes.Clone(rec))
	}
}

// FuzzSplitJSON: never panics or loops, records are bounded, and on valid
// input the records are exactly the values encoding/json sees.
func FuzzSplitJSON(f *testing.F) {
	for _, s := range []string{
		`{"Records":[{"a":1},{"b":[1,2,{"c":"]"}]}]}`,
		`{"a":1}` + "\n" + `{"a":2}`,
		`[1,"x",{"y":null}]`,
		`{"Records":[1,2]}{"Records":[3]}`,
		`{"Rec\u006frds":["\"\\"]}`,
		`{"detail":{"findings":[{"Id":"x"}]}}`,
		"{\"a\":\"b\n\"}\n{\"c\":1}",
		`{"Records":[1,{]}`,
		"\xef\xbb\xbf[]",
		`{"Records":[{"a":[[[[[[[[[[1]]]]]]]]]]},{"b":2}]}`,
		"[[[[[[[[[[[[]]]]]]]]]]]]\n{\"c\":{\"d\":{\"e\":{}}}}",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(5))
	}
	addCorpus(f, "cloudtrail/*.log")
	addCorpus(f, "guardduty/*.log")
	addCorpus(f, "waf/*.log")
	f.Fuzz(func(t *testing.T, in []byte, knob uint8) {
		o := Options{BufferSize: 16 + int(knob%4)*7, MaxRecordBytes: 8 + int(knob)*37, MaxDepth: 2 + int(knob%16)}
		for _, delim := range []string{"", "Records", "detail.findings"} {
			f := Format{Kind: KindJSON, JSONDelimiter: delim}
			recs, recErrs, fatal := collect(t, in, f, o)
			// Oracle for valid input with no record errors.
			if !json.Valid(in) || fatal != nil || recErrs > 0 {
				continue
			}
			var want []json.RawMessage
			switch {
			case delim == "Records":
				var v map[string]json.RawMessage
				if json.Unmarshal(in, &v) != nil {
					continue
				}
				if strings.Contains(string(in), `\`) || bytes.Count(in, []byte(`"Records"`)) != 1 {
					continue // duplicate or escaped keys: encoding/json keeps the last
				}
				if r, ok := v["Records"]; ok && json.Unmarshal(r, &want) != nil {
					continue
				}
			case delim == "":
				trimmed := bytes.TrimSpace(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
				if len(trimmed) > 0 && trimmed[0] == '[' {
					if json.Unmarshal(trimmed, &want) != nil {
						t.Fatal("valid array does not unmarshal")
					}
				} else {
					want = []json.RawMessage{trimmed}
				}
			default:
				continue
			}
			if len(recs) != len(want) {
				t.Fatalf("delim %q: %d records, encoding/json sees %d", delim, len(recs), len(want))
			}
			for i := range want {
				if !bytes.Equal(bytes.TrimSpace(want[i]), recs[i]) {
					t.Fatalf("delim %q record %d: %q, want %q", delim, i, recs[i], want[i])
				}
			}
		}
	})
}

// FuzzSplitText: never panics, lines never hold '\n', and the records are
// the non-blank lines after the header, in order.
func FuzzSplitText(f *testing.F) {
	for _, s := range []string{
		vpcHeader + "\n2 a b\n2 c d\n",
		"#Version: 1.0\r\n#Fields: a b\r\n1 2\r\n\r\n3 4",
		"h\r1 2\r\r3 4\r\n5 6\n\r7\r",
		"a\rb\r",
		"\n\n\n",
		"x",
		"\xef\xbb\xbfh\nr\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(200))
	}
	addCorpus(f, "vpcflow/*.log")
	addCorpus(f, "elb_logs/*.log")
	addCorpus(f, "cloudfront_logs/*.log")
	f.Fuzz(func(t *testing.T, in []byte, knob uint8) {
		o := Options{BufferSize: 16 + int(knob%5)*3, MaxRecordBytes: 1 + int(knob)*3}
		header := int(knob % 3)
		for _, kind := range []schemas.FramingKind{KindText, KindCSV, KindLines} {
			recs, recErrs, fatal := collect(t, in, Format{Kind: kind, HeaderLines: header}, o)
			if fatal != nil {
				if kind == KindCSV || kind == KindText { // header too large is allowed
					if errors.Is(fatal, ErrHeaderTooLarge) {
						continue
					}
				}
				t.Fatalf("%s: fatal %v", kind, fatal)
			}
			// Oracle: Python's universal newlines ("\r\n", then a lone
			// "\r", become "\n"), split by '\n', drop the header lines.
			body := string(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
			body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
			lines := strings.Split(body, "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			lines = lines[min(header, len(lines)):]
			if kind == KindCSV {
				for len(lines) > 0 && strings.Trim(lines[0], " \t") == "" {
					lines = lines[1:]
				}
				if len(lines) > 0 {
					lines = lines[1:]
				}
			}
			var want []string
			tooLong := 0
			for _, l := range lines {
				if len(l) > o.MaxRecordBytes {
					tooLong++
					continue
				}
				if strings.Trim(l, " \t") == "" {
					continue
				}
				want = append(want, l)
			}
			if recErrs != tooLong || len(recs) != len(want) {
				t.Fatalf("%s: %d records + %d errors, want %d + %d", kind, len(recs), recErrs, len(want), tooLong)
			}
			for i := range want {
				if string(recs[i]) != want[i] {
					t.Fatalf("%s record %d: %q want %q", kind, i, recs[i], want[i])
				}
			}
		}
	})
}
