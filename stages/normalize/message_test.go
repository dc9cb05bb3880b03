package normalize

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
)

// A pristine JSON record's @message is printed from its tree, escaped for
// the encoder in the same walk (pristineJSON, doc.AppendPyDumpQuoted). The
// documents must be byte for byte those of the raw-record way.

func msgRecords(t testing.TB) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	for _, typ := range []string{"cloudtrail", "guardduty", "waf"} {
		g, err := gen.New(typ, 11)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := g.Write(&buf, 200, t0); err != nil {
			t.Fatal(err)
		}
		var o struct{ Records []json.RawMessage }
		if json.Unmarshal(buf.Bytes(), &o) == nil && len(o.Records) > 0 {
			for _, r := range o.Records {
				out[typ] = append(out[typ], r)
			}
		} else {
			for _, l := range bytes.Split(buf.Bytes(), []byte("\n")) {
				if len(bytes.TrimSpace(l)) > 0 {
					out[typ] = append(out[typ], l)
				}
			}
		}
	}
	out["cloudtrail"] = append(out["cloudtrail"], jtRecords(t)...)
	for _, s := range []string{
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"e1","eventName":"A\"B","userAgent":"x\/y"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"e2","eventName":"\ud800","n":[1e5,-0,0.5]}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"e3","eventName":"é ü","x":{"y":[{},[]]},"eventName":"dup"}`,
		"{\"eventTime\":\"2025-03-14T12:00:00Z\",\"eventID\":\"e4\",\"k\":\"a\xffb\",\"del\":\"\x7f\"}",
		`{"detail-type":"AWS API Call via CloudTrail","resources":[],"detail":{"eventTime":"2025-03-14T12:00:00Z","eventID":"e5"}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"e6"} `,
		`{"eventID":"e7"}`, `{"eventTime":"2025-03-14T12:00:00Z","eventID":"e8","requestParameters":{"filter":1.5}}`,
	} {
		out["cloudtrail"] = append(out["cloudtrail"], []byte(s))
	}
	return out
}

// runSlow runs decode → normalize → encode over recs with slow applied to
// the normalize stage (the switch that selects the path a fast path
// replaced), so a differential test compares both paths.
func runSlow(t testing.TB, reg *schemas.Registry, typ string, recs [][]byte, slow func(*Stage)) []stages.Event {
	t.Helper()
	deps := stages.Deps{Registry: reg}
	dec, err := decode.New(decode.DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := New(Config{Now: func() time.Time { return time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC) }}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if slow != nil {
		slow(norm)
	}
	enc, err := encode.New(encode.DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: typ, Bucket: "b", Key: "AWSLogs/123456789012/x/us-east-1/2025/03/14/x.json.gz"}
	b := &stages.Batch{}
	for i, r := range recs {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: r})
	}
	for _, st := range []stages.Stage{dec, norm, enc} {
		if err := st.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return b.Events
}

// compareSlow requires byte-identical Out, ID, Index, status and error from
// the fast path and the path slow selects; it returns how many were kept.
func compareSlow(t testing.TB, reg *schemas.Registry, typ string, recs [][]byte, slow func(*Stage)) (kept int) {
	t.Helper()
	fast, ref := runSlow(t, reg, typ, recs, nil), runSlow(t, reg, typ, recs, slow)
	for i := range fast {
		f, s := &fast[i], &ref[i]
		if f.Status != s.Status || fmt.Sprint(f.Err) != fmt.Sprint(s.Err) || f.ID != s.ID || f.Index != s.Index || !bytes.Equal(f.Out, s.Out) {
			t.Fatalf("%s record %q:\n got %v %v %s %s %s\nwant %v %v %s %s %s", typ, recs[i], f.Status, f.Err, f.Index, f.ID, f.Out, s.Status, s.Err, s.Index, s.ID, s.Out)
		}
		if f.Status == stages.Keep {
			kept++
		}
	}
	return kept
}

func compareMessage(t testing.TB, reg *schemas.Registry, typ string, recs [][]byte) int {
	return compareSlow(t, reg, typ, recs, func(s *Stage) { s.slowMessage = true })
}

func TestMessageFromTreeEqualsRaw(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for typ, recs := range msgRecords(t) {
		if kept := compareMessage(t, reg, typ, recs); kept < len(recs)/2 {
			t.Fatalf("%s: only %d of %d records kept", typ, kept, len(recs))
		}
	}
}

func FuzzMessageFromTreeEqualsRaw(f *testing.F) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, recs := range msgRecords(f) {
		for _, r := range recs {
			f.Add(r)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, typ := range []string{"cloudtrail", "guardduty"} {
			compareMessage(t, reg, typ, [][]byte{raw})
		}
	})
}
