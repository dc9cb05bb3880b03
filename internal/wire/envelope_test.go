package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCWLHeader: Envelope.Parse (the allocation-free header parser, with
// ParseCWLRecord as fallback) agrees with ParseCWLRecord on every record,
// and the fast path accepts only what encoding/json accepts.
func FuzzCWLHeader(f *testing.F) {
	f.Add("210987654321", "/aws/rds/x", "stream", "3812", "1741950301000", "msg\nline2")
	f.Add("1", "g\"q", "s\\t", "", "", "")
	f.Add("<&>", "ü", "\u2028", "id", "-1.5e3", "{}")
	f.Add("a", "b", "c", "d", "0", "")
	f.Fuzz(func(t *testing.T, owner, group, stream, id, ts, msg string) {
		m := CWLMeta{Owner: owner, LogGroup: group, LogStream: stream, ID: id, Timestamp: json.Number(ts)}
		raw := AppendCWLRecord(nil, m, []byte(msg))
		var h CWLHeader
		var fast []byte
		fastOK := h.parse(raw, &fast)
		want, wmsg, woff, werr := ParseCWLRecord(raw)
		if fastOK && werr != nil {
			t.Fatalf("fast parser accepted %q, encoding/json: %v", raw, werr)
		}
		if fastOK && (string(h.Owner) != want.Owner || string(h.LogGroup) != want.LogGroup || string(h.LogStream) != want.LogStream ||
			string(h.ID) != want.ID || string(h.Timestamp) != string(want.Timestamp) || !bytes.Equal(fast, wmsg)) {
			t.Fatalf("fast %+v msg %q; encoding/json %+v msg %q", h, fast, want, wmsg)
		}
		var e Envelope
		err := e.Parse(ViaCWL, raw)
		if (err != nil) != (werr != nil) {
			t.Fatalf("Parse %v, ParseCWLRecord %v", err, werr)
		}
		if err == nil && (string(e.CWL.ID) != want.ID || string(e.CWL.Timestamp) != string(want.Timestamp) || !bytes.Equal(e.Message, wmsg) || e.Off != woff) {
			t.Fatalf("Parse %+v, ParseCWLRecord %+v", e, want)
		}
	})
}

func TestEnvelopeParse(t *testing.T) {
	name, src := "/app", "stderr"
	raw := AppendFirelensRecord(nil, FirelensMeta{ContainerName: &name, Source: &src}, []byte("INFO x"))
	var e Envelope
	if err := e.Parse(ViaFirelens, raw); err != nil || e.Via != ViaFirelens || *e.Firelens.ContainerName != "/app" ||
		*e.Firelens.Source != "stderr" || string(e.Message) != "INFO x" || string(raw[e.Off:]) != "INFO x" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, tc := range []struct {
		via  Via
		raw  string
		want error
	}{
		{ViaCWL, "no header", ErrCWLPayload},
		{ViaCWL, `{"owner":1}` + "\nx", ErrCWLPayload},
		{ViaCWL, `{"owner":"a","logGroup":"b","logStream":"c","id":"d","timestamp":1-2}` + "\nx", ErrCWLPayload},
		{ViaCWL, "{\"owner\":\"a\tb\",\"logGroup\":\"b\",\"logStream\":\"c\",\"id\":\"d\",\"timestamp\":1}\nx", ErrCWLPayload},
		{ViaFirelens, "x", ErrFirelens},
		{ViaFirelens, "{\n", ErrFirelens},
	} {
		e.Via = ViaFirelens
		if err := e.Parse(tc.via, []byte(tc.raw)); !errors.Is(err, tc.want) || e.Via != ViaNone {
			t.Errorf("%q: %v, envelope %+v", tc.raw, err, e)
		}
	}
	if err := e.Parse(ViaNone, []byte("x")); err != nil || e.Via != ViaNone || e.Message != nil {
		t.Fatal(err)
	}
}

func BenchmarkCWLHeader(b *testing.B) {
	raw := AppendCWLRecord(nil, CWLMeta{Owner: "210987654321", LogGroup: "/aws/rds/instance/db/audit",
		LogStream: "db", ID: "38120000000000000000000000000000000000000000000000000001", Timestamp: "1741950302000"},
		[]byte("20250314 11:05:02,ip-10-20-9-9,app_user,10.20.1.40,1201,88,QUERY,inventory,'SELECT 1',0"))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var e Envelope
		for b.Loop() {
			_ = e.Parse(ViaCWL, raw)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _, _ = ParseCWLRecord(raw)
		}
	})
}
