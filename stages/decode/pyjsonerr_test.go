package decode

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/stages"
)

// TestPyJSONCheck: Python 3.11's json.loads error text for malformed
// documents, recorded in testdata/python-json-errors.json by
// testdata/python-json-errors.py (run once with es-loader's Python; the test
// never calls Python).
func TestPyJSONCheck(t *testing.T) {
	raw, err := os.ReadFile("testdata/python-json-errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases [][2]string
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		s := []byte(c[0])
		got := "OK"
		if pe := pyJSONCheck(s, true); pe != nil {
			got = pe.text(s)
		}
		if got != c[1] {
			t.Errorf("%q: %s, Python %s", c[0], got, c[1])
		}
		// where Python refuses, our parser refuses too
		if c[1] != "OK" {
			if err := doc.New().ParseObject(s); err == nil {
				t.Errorf("%q: ParseObject accepts what Python refuses", c[0])
			}
		}
	}
}

// TestPyJSONCheckDepth: beyond the depth limit Python raises
// RecursionError, which has no JSONDecodeError text to copy.
func TestPyJSONCheckDepth(t *testing.T) {
	deep := []byte(strings.Repeat("[", 2000) + strings.Repeat("]", 2000))
	if pe := pyJSONCheck(deep, true); pe != nil {
		t.Errorf("deep nesting: %s", pe.text(deep))
	}
	if pe := pyJSONCheck([]byte(strings.Repeat("[", 50)), true); pe == nil || pe.msg != pyErrValue {
		t.Errorf("unterminated shallow nesting: %v", pe)
	}
}

func TestDoubleBackslashX(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"\x3c"}`:          `{"a":"\\x3c"}`,
		`a\x3c\x3e`:             `a\\x3c\\x3e`,
		`a\x\x41`:               `a\\x\x41`, // non-overlapping: the second \x has no free character before it
		`a\\x`:                  `a\\x`,
		`\x41`:                  `\x41`,
		`日\x3c`:                 `日\\x3c`,
		`{"a":"\\\x"}`:          `{"a":"\\\x"}`,
		"x\n\\x":                "x\n\\\\x",
		`{"a":"b\xff","c":"d"}`: `{"a":"b\\xff","c":"d"}`,
	} {
		if got := string(doubleBackslashX(nil, []byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestEscapeControlInStrings(t *testing.T) {
	for in, want := range map[string]string{
		"{\"a\":\"b\x01c\tz\"}": `{"a":"b\u0001c\u0009z"}`,
		"{\"a\":\"\\\"\x1f\"}":  `{"a":"\"\u001f"}`,
		"{\x01\"a\":1}":         "{\x01\"a\":1}",
		"{\"a\":\"\\\x01\"}":    "{\"a\":\"\\\x01\"}",
	} {
		if got := string(escapeControlInStrings(nil, []byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// FuzzPyJSONCheck: no panic; whatever Python's json.loads refuses, our
// parser refuses too (so the fast path never accepts a record es-loader
// would index un-normalised); the strict=False rewrite never turns a
// document Python refuses into one we accept.
func FuzzPyJSONCheck(f *testing.F) {
	f.Add([]byte(`{"a":"\x3c","b":[1,2.5e3,{"c":null}]}`))
	f.Add([]byte("{\"a\":\"\\x41\tb\"}"))
	f.Add([]byte(`{"a":"\ud800\udc00\u12"}`))
	f.Fuzz(func(t *testing.T, s []byte) {
		if !utf8.Valid(s) {
			return
		}
		if pe := pyJSONCheck(s, true); pe != nil {
			_ = pe.text(s)
			if doc.New().ParseObject(s) == nil {
				t.Fatalf("%q: we accept, Python: %s", s, pe.text(s))
			}
		}
		if pe := pyJSONCheck(s, false); pe != nil {
			if doc.New().ParseObject(escapeControlInStrings(nil, s)) == nil {
				t.Fatalf("%q: we accept with strict=False, Python: %s", s, pe.text(s))
			}
		}
		_ = doubleBackslashX(nil, s)
	})
}

// FuzzRepairJSON: any message of a via_cwl JSON type (opensearch-audit)
// decodes without panic; a message our parser refuses is either repaired
// (the \x rule) or indexed un-normalised with "invalid json file: " and,
// when Python refuses it too, Python's error text.
func FuzzRepairJSON(f *testing.F) {
	reg := registry(f, "")
	f.Add(`{"a":"\x3c","b":"c\td"}`)
	f.Add(`{"audit_category":"FAILED_LOGIN","x":"\x3c\q"}`)
	f.Add(`{"a":"日本\x3c`)
	f.Add(`plain text`)
	f.Fuzz(func(t *testing.T, msg string) {
		rec := wire.AppendCWLRecord(nil, wire.CWLMeta{Owner: "123456789012", LogGroup: "/g", LogStream: "s", ID: "1", Timestamp: "1741950301000"}, []byte(msg))
		b := run(t, reg, &stages.Source{LogType: "opensearch-audit"}, string(rec))
		e := b.Events[0]
		if e.Status == stages.Failed {
			if e.Err == nil {
				t.Fatal("failed without a reason")
			}
			return
		}
		m := e.Doc.Meta
		if !m.SkipNormalization {
			return
		}
		if !strings.HasPrefix(m.ErrorMessage, "invalid json file: ") {
			t.Fatalf("error message %q", m.ErrorMessage)
		}
		clean := []byte(msg)
		if !utf8.Valid(clean) {
			clean = DropInvalidUTF8(nil, clean)
		}
		if pe := pyJSONCheck(clean, true); pe != nil && pe.msg != pyErrEscape {
			if want := "invalid json file: " + pe.text(clean); m.ErrorMessage != want {
				t.Fatalf("%q: %q, want %q", msg, m.ErrorMessage, want)
			}
		}
	})
}
