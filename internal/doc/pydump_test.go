package doc

import (
	"bytes"
	"testing"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// AppendPyDumpQuoted must print what pyjson.Append prints for the parsed
// text (when it has no backslash, its documented condition), and the
// quoted form must be what AppendQuoted makes of that, without quotes.

var pyDumpSeeds = []string{
	`{}`, `{"a":[]}`, `{"a":{},"b":[{}],"c":[[1,2],[]]}`, `{"a":1,"a":2,"b":{"x":1,"x":{"y":true}}}`,
	`{"n":[-0,0,-0.0,1e5,1E-5,1.5e300,1e400,-1e400,12345678901234567890,0.1,1.0]}`,
	`{"é":"ünï","k":"\u00e9"}`, "{\"bad\":\"a\xffb\xc3\",\"\xfe\":1}", "{\"del\":\"\x7f\"}",
	`{"a":"x\"y"}`, `{"a":"\ud800"}`, `{"a":"\uDC00x"}`, `{"a":"\\ud800"}`, `{"a\n\t":"\\\"\b\f\r\u0001\u007f\u00e9\u20ac"}`, `{"a":"\`, `{"a":"\ud83d\ude00"}`, `{"a":"\/"}`,
	`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob"},"requestParameters":null,"readOnly":true,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}],"x":false}`,
	` { "a" : 1 , "b" : [ 1 , 2 ] } `, `{"a":"b"} x`, `[1]`, `{"a":}`,
}

func checkPyDump(t *testing.T, raw []byte) {
	t.Helper()
	if !PyDumpSafe(raw) {
		if bytes.Contains(bytes.ToLower(raw), []byte(`\ud`)) {
			return
		}
		t.Fatalf("%q: not PyDumpSafe without a \\ud", raw)
	}
	d := New()
	if d.ParseObject(raw) != nil {
		return
	}
	want, err := pyjson.Append(nil, raw)
	if err != nil {
		t.Fatalf("%q: the tree parsed but pyjson.Append failed: %v", raw, err)
	}
	wantQ := pyjson.AppendQuoted(nil, want)
	wantQ = wantQ[1 : len(wantQ)-1]
	for _, pre := range []string{"", "xy"} {
		msg, q := d.AppendPyDumpQuoted([]byte(pre), []byte(pre))
		if !bytes.Equal(msg[len(pre):], want) || !bytes.Equal(q[len(pre):], wantQ) {
			t.Fatalf("%q:\n got %q\n     %q\nwant %q\n     %q", raw, msg, q, want, wantQ)
		}
	}
	// the encoder copies the quoted form for the member set with it, and
	// escapes the value again once it changes
	d.SetStringBytesQuoted(d.Root(), "@message", want, wantQ)
	got := d.AppendJSON(nil)
	ref := New()
	_ = ref.ParseObject(raw)
	ref.SetStringBytes(ref.Root(), "@message", want)
	if w := ref.AppendJSON(nil); !bytes.Equal(got, w) {
		t.Fatalf("%q: encoded\n got %q\nwant %q", raw, got, w)
	}
	d.SetString(d.Root(), "@message", "changed")
	ref.SetString(ref.Root(), "@message", "changed")
	if g, w := d.AppendJSON(nil), ref.AppendJSON(nil); !bytes.Equal(g, w) {
		t.Fatalf("%q: after a change\n got %q\nwant %q", raw, g, w)
	}
}

func TestPyDumpEqualsPyJSON(t *testing.T) {
	for _, s := range pyDumpSeeds {
		checkPyDump(t, []byte(s))
	}
	for _, s := range diffVals {
		for _, k := range diffKeys {
			raw := append(pyjson.AppendQuoted([]byte("{"), []byte(k)), ':')
			raw = append(pyjson.AppendQuoted(raw, []byte(s)), '}')
			checkPyDump(t, bytes.ReplaceAll(raw, []byte(`\"`), []byte(`'`)))
		}
	}
}

func FuzzPyDumpEqualsPyJSON(f *testing.F) {
	for _, s := range pyDumpSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkPyDump(t, raw) })
}
