package deadletter

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRecordJSON: any raw bytes and context survive a write and a read
// exactly, and reading arbitrary JSON never panics. (Text fields such as
// stage and reason are JSON strings: invalid UTF-8 in them becomes U+FFFD.)
func FuzzRecordJSON(f *testing.F) {
	f.Add([]byte("abc"), []byte(""), "decode")
	f.Add([]byte{0xff, 0x00, '"', '\\'}, []byte("version account-id\xc3"), "split")
	f.Add([]byte("\xed\xa0\x80\xef\xbf\xbd\u2028"), []byte(nil), "")
	f.Add([]byte(`{"@timestamp":"2025-01-01T00:00:00Z","raw_base64":"!!"}`), []byte(`{"raw":1}`), "opensearch")
	f.Fuzz(func(t *testing.T, raw, ctx []byte, stage string) {
		in := Record{Time: time.Unix(1e9, 5).UTC(), Stage: stage, Reason: string(ctx), Bucket: "b", Key: string(raw), Raw: raw, Context: ctx}
		if in.Raw == nil {
			in.Raw = []byte{}
		}
		b, err := in.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var out Record
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if !bytes.Equal(out.Raw, in.Raw) || !bytes.Equal(out.Context, in.Context) || (utf8.ValidString(stage) && out.Stage != in.Stage) {
			t.Fatalf("changed: %q -> %q", in.Raw, out.Raw)
		}
		var any Record
		_ = any.UnmarshalJSON(raw) // arbitrary input: an error, never a panic
	})
}
