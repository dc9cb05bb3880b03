package pyjson

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Expected outputs were produced by CPython 3.11:
// json.dumps(json.loads(in), ensure_ascii=False).
var table = []struct{ in, want string }{
	// surrogate escapes: a pair joins, a lone one stays escaped, and an
	// invalid UTF-8 byte between the two halves does not keep them apart
	// (es-loader drops it before parsing)
	{`"\ud83d\ude00"`, `"😀"`},
	{`"\ud800x"`, `"\ud800x"`},
	{"\"\\ud83d\xe9\\ude00\"", `"😀"`},
	{`{"a":1,"b":[1,2.5,{"c":null}],"d":true}`, `{"a": 1, "b": [1, 2.5, {"c": null}], "d": true}`},
	{`1e5`, `100000.0`},
	{`-0`, `0`},
	{`-0.0`, `-0.0`},
	{`1.5e-05`, `1.5e-05`},
	{`1e16`, `1e+16`},
	{`1e15`, `1000000000000000.0`},
	{`123456789012345678901234567890`, `123456789012345678901234567890`},
	{`0.1`, `0.1`},
	{`1E400`, `Infinity`},
	{`-1e400`, `-Infinity`},
	{`{"a":1,"a":2,"b":3}`, `{"a": 2, "b": 3}`},
	{`"\u00e9\u3042\ud83d\ude00"`, `"éあ😀"`},
	{`"tab\there\u0001\u001f\u007f/\/"`, "\"tab\\there\\u0001\\u001f\u007f//\""},
	{`{"日本":"語"}`, `{"日本": "語"}`},
	{`[]`, `[]`},
	{`{}`, `{}`},
	{`[ ]`, `[]`},
	{` { "x" : [ 1 , 2 ] } `, `{"x": [1, 2]}`},
	{`1.0`, `1.0`},
	{`2.5e-3`, `0.0025`},
	{`1e-4`, `0.0001`},
	{`12345678901234567.0`, `1.2345678901234568e+16`},
	{`1.7976931348623157e308`, `1.7976931348623157e+308`},
	{`5e-324`, `5e-324`},
	{`{"k":{"a":1,"b":2,"a":{"z":[]}}}`, `{"k": {"a": {"z": []}, "b": 2}}`},
	{`{"\u0061":1,"a":2}`, `{"a": 2}`},
}

func TestAppendTable(t *testing.T) {
	for _, c := range table {
		got, err := Append(nil, []byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestAppendInvalid(t *testing.T) {
	for _, in := range []string{``, `{`, `[1,]`, `{"a":}`, `01`, `1.`, `-`, `"abc`, "\"a\x01\"", `NaN`, `Infinity`, `{"a" 1}`, `[1 2]`, `tru`, `"\x"`, `"\u12"`, `1 2`, `{'a':1}`} {
		out, err := Append([]byte("keep"), []byte(in))
		if err == nil {
			t.Errorf("%q: expected error, got %s", in, out)
		}
		if string(out) != "keep" {
			t.Errorf("%q: dst not restored: %q", in, out)
		}
	}
}

// trickyInputs are compared with the real python3 when it is installed.
var trickyInputs = []string{
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"José"},"n":[1,-0,0.5,1E+2,-3.0e-7,1e22,1e21,123456789.123456789]}`,
	`{"a":"\u2028\u2029\u00a0\ufeff","b":"\ud83d\ude00 \\ \" \/ \b\f\n\r\t \u0000 \u001b \u007f \u0080"}`,
	`[true,false,null,{},[],[[]],{"":""}]`,
	`{"dup":1,"x":{"dup":1},"dup":{"y":2},"dup":[3]}`,
	`9007199254740993`, `-9007199254740993.5`, `1e-7`, `0.000001`, `1234567890123456.7`, `0.30000000000000004`,
	`"日本語テキスト"`, `{"emoji":"👍🏽","zwj":"👨‍👩‍👧"}`,
}

func TestAgainstPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in, _ := json.Marshal(trickyInputs)
	cmd := exec.Command(py, "-c", `import json,sys
for s in json.load(sys.stdin):
    sys.stdout.write(json.dumps(json.dumps(json.loads(s), ensure_ascii=False))+"\n")
    sys.stdout.write(json.dumps(json.dumps(json.loads(s)))+"\n")`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2*len(trickyInputs) {
		t.Fatalf("python printed %d lines", len(lines))
	}
	for i, s := range trickyInputs {
		var want, wantASCII string
		if err := json.Unmarshal([]byte(lines[2*i]), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(lines[2*i+1]), &wantASCII); err != nil {
			t.Fatal(err)
		}
		got, err := Append(nil, []byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if string(got) != want {
			t.Errorf("ensure_ascii=False %s:\n got %s\nwant %s", s, got, want)
		}
		got, _ = AppendASCII(nil, []byte(s))
		if string(got) != wantASCII {
			t.Errorf("ensure_ascii=True %s:\n got %s\nwant %s", s, got, wantASCII)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0, "0.0"}, {1, "1.0"}, {0.5, "0.5"}, {1e16, "1e+16"}, {1e-5, "1.5e-05"[:0] + "1e-05"}, {123.456, "123.456"}, {-2.5e-10, "-2.5e-10"}, {1e100, "1e+100"}} {
		if got := string(AppendFloat(nil, c.f)); got != c.want {
			t.Errorf("%v: got %s want %s", c.f, got, c.want)
		}
	}
}

func TestAppendNumber(t *testing.T) {
	for in, want := range map[string]string{"-0": "0", "42": "42", "1E2": "100.0", "-0.0": "-0.0", "2.50": "2.5"} {
		if got := string(AppendNumber(nil, []byte(in))); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestAllocs(t *testing.T) {
	src := []byte(trickyInputs[0])
	buf := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(100, func() { buf, _ = Append(buf[:0], src) })
	if n > 0 {
		t.Errorf("Append allocates %.1f times per call", n)
	}
}

func FuzzPyJSON(f *testing.F) {
	for _, c := range table {
		f.Add([]byte(c.in))
	}
	for _, s := range trickyInputs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Append(nil, in)
		if err != nil {
			if Valid(in) {
				t.Fatalf("Valid but Append failed: %v", err)
			}
			return
		}
		if !Valid(in) {
			t.Fatalf("Append accepted input Valid rejects")
		}
		if !bytes.Contains(out, []byte("Infinity")) && !json.Valid(out) {
			t.Fatalf("output is not JSON: %q", out)
		}
		// idempotent: the Python form re-serialises to itself
		again, err := Append(nil, out)
		if err == nil && !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%s\n%s", out, again)
		}
		if _, err := AppendASCII(nil, in); err != nil {
			t.Fatalf("ASCII form failed: %v", err)
		}
	})
}

func BenchmarkAppendCloudTrail(b *testing.B) {
	src := []byte(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::123456789012:assumed-role/Admin/alice","accountId":"123456789012"},"eventTime":"2025-03-14T11:58:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"bucketName":"b","key":"k"},"responseElements":null,"eventID":"6f1d2c3b-0000-4000-8000-000000000001","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}`)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		buf, _ = Append(buf[:0], src)
	}
}

func TestPlainLen(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{{"", 0}, {"abcdefgh", 8}, {"abcdefghij", 10}, {"abcdefg\"ij", 7}, {"abcdefghi\\", 9}, {"ab\x1fcdefgh", 2},
		{"abcdefgh\x7f", 8}, {"abcdeé", 5}, {"        ~~~~~~~~ ", 17}, {"0123456\x00", 7}, {"01234567\x20", 9}} {
		if got := PlainLen([]byte(c.s)); got != c.want {
			t.Errorf("%q: %d want %d", c.s, got, c.want)
		}
	}
	for b := 0; b < 256; b++ {
		s := []byte("aaaaaaaaaaaaaaaa")
		s[5] = byte(b)
		want := 16
		if !plain[b] {
			want = 5
		}
		if got := PlainLen(s); got != want {
			t.Errorf("byte %#x: %d want %d", b, got, want)
		}
	}
}

// plainLenRef is PlainLen byte by byte.
func plainLenRef(s []byte) int {
	for i, c := range s {
		if !plain[c] {
			return i
		}
	}
	return len(s)
}

func FuzzPlainLen(f *testing.F) {
	for _, s := range []string{"", "a", "abc\"", "abcdefgh", "abcdefgh\\ij", "héllo wörld", "0123456789abcde\x7f", "\x1f", "1234567\n9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		for i := 0; i <= len(s); i++ {
			if got, want := PlainLen(s[i:]), plainLenRef(s[i:]); got != want {
				t.Fatalf("PlainLen(%q) = %d, want %d", s[i:], got, want)
			}
		}
	})
}
