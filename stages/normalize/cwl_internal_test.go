package normalize

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/siemstream/siemstream/producer/split"
)

// FuzzCWLHeader: the allocation-free header parser agrees with
// split.ParseCWLRecord whenever it accepts a record.
func FuzzCWLHeader(f *testing.F) {
	f.Add("210987654321", "/aws/rds/x", "stream", "3812", "1741950301000", "msg\nline2")
	f.Add("1", "g\"q", "s\\t", "", "", "")
	f.Add("<&>", "ü", "\u2028", "id", "-1.5e3", "{}")
	f.Fuzz(func(t *testing.T, owner, group, stream, id, ts, msg string) {
		m := split.CWLMeta{Owner: owner, LogGroup: group, LogStream: stream, ID: id, Timestamp: json.Number(ts)}
		raw := split.AppendCWLRecord(nil, m, []byte(msg))
		var h cwlHeader
		var got []byte
		if !h.parse(raw, &got) {
			return
		}
		want, wmsg, _, err := split.ParseCWLRecord(raw)
		if err != nil {
			t.Fatalf("fast parser accepted %q, encoding/json: %v", raw, err)
		}
		if string(h.owner) != want.Owner || string(h.group) != want.LogGroup || string(h.stream) != want.LogStream ||
			string(h.id) != want.ID || string(h.ts) != string(want.Timestamp) || !bytes.Equal(got, wmsg) {
			t.Fatalf("fast %q/%q/%q/%q/%q msg %q; encoding/json %+v msg %q", h.owner, h.group, h.stream, h.id, h.ts, got, want, wmsg)
		}
	})
}

func BenchmarkCWLHeader(b *testing.B) {
	raw := split.AppendCWLRecord(nil, split.CWLMeta{Owner: "210987654321", LogGroup: "/aws/rds/instance/db/audit",
		LogStream: "db", ID: "38120000000000000000000000000000000000000000000000000001", Timestamp: "1741950302000"},
		[]byte("20250314 11:05:02,ip-10-20-9-9,app_user,10.20.1.40,1201,88,QUERY,inventory,'SELECT 1',0"))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var h cwlHeader
		var msg []byte
		for i := 0; i < b.N; i++ {
			h.parse(raw, &msg)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			split.ParseCWLRecord(raw)
		}
	})
}
