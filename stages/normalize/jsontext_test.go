package normalize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
)

// The one-pass json_to_text (jsontext.go) must leave exactly the document
// and error that looking every path up in order leaves (slowJSONToText).

// jtPathSets: the registry's json_to_text lists plus made-up ones that mix
// every case the plan distinguishes: grouped parents, lone paths, repeated
// paths, a path that is a prefix of another, digit segments, root paths.
func jtPathSets(t testing.TB) map[string][]doc.Path {
	t.Helper()
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]doc.Path{}
	for _, name := range []string{"cloudtrail", "guardduty", "securitylake", "ocsf-json", "config-snapshot"} {
		if lt := reg.Lookup(name); lt != nil && len(lt.JSONToText) > 0 {
			sets[name] = lt.JSONToText
		}
	}
	made := func(ps ...string) []doc.Path {
		var out []doc.Path
		for _, p := range ps {
			out = append(out, doc.ParsePath(p))
		}
		return out
	}
	sets["made/mixed"] = made("a.x", "b", "a.y", "a.z", "a.y", "a.0", "a.x.q", "c.0.k", "c.0.l", "c.0.m", "a", "requestParameters.filter",
		"requestParameters.filter.x", "requestParameters.content", "requestParameters.value", ".e", "", "a.", "x.y.z.w")
	sets["made/dup-group"] = made("p.k", "p.k", "p.k", "p.l")
	return sets
}

func jtCompare(t testing.TB, name string, paths []doc.Path, raw []byte) {
	t.Helper()
	lt := &schemas.LogType{Name: name, JSONToText: paths}
	slow, fast := &Stage{slowJSONToText: true}, &Stage{}
	a, b := doc.New(), doc.New()
	if a.ParseObject(raw) != nil || b.ParseObject(raw) != nil {
		return
	}
	// members set twice by later code (Add* does not look), as transforms could
	for _, d := range []*doc.Doc{a, b} {
		if rp := d.Child(d.Root(), "requestParameters"); d.Kind(rp) == doc.Object {
			d.AddStringBytes(rp, "filter", []byte("{second}"))
		}
	}
	werr := slow.jsonToText(&scratch{}, lt, a)
	gerr := fast.jsonToText(&scratch{}, lt, b)
	want, got := a.AppendJSON(nil), b.AppendJSON(nil)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) || !bytes.Equal(got, want) {
		t.Fatalf("%s %s:\n got %v %s\nwant %v %s", name, raw, gerr, got, werr, want)
	}
}

func jtRecords(t testing.TB) [][]byte {
	t.Helper()
	var recs [][]byte
	for _, f := range []string{"../../testdata/normalize/cloudtrail/mgmt-events.json", "../../testdata/normalize-split/cloudtrail/*.json"} {
		files, _ := filepath.Glob(f)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var o struct{ Records []json.RawMessage }
			if json.Unmarshal(b, &o) == nil {
				for _, r := range o.Records {
					recs = append(recs, r)
				}
			}
		}
	}
	for _, f := range []string{"../../testdata/normalize/guardduty/findings.log"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			recs = append(recs, bytes.Clone(sc.Bytes()))
		}
	}
	for _, typ := range []string{"cloudtrail", "guardduty"} {
		g, err := gen.New(typ, 7)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := g.Write(&buf, 300, time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		var o struct{ Records []json.RawMessage }
		if json.Unmarshal(buf.Bytes(), &o) == nil && len(o.Records) > 0 {
			for _, r := range o.Records {
				recs = append(recs, r)
			}
			continue
		}
		for _, l := range bytes.Split(buf.Bytes(), []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				recs = append(recs, l)
			}
		}
	}
	recs = append(recs, jtMade...)
	return recs
}

var jtMade = [][]byte{
	[]byte(`{"a":{"x":{"q":1},"y":"{","z":true,"0":5},"b":"{b}","c":[{"k":1,"l":[1],"m":{}}],"requestParameters":{"filter":{"x":"{y}"},"content":1.5,"value":0}}`),
	[]byte(`{"a":{"x":"","y":null,"z":false},"b":{"":1},"c":[],"":{"":"{"},"e":{"":2},"x":{"y":{"z":{"w":[1,{"a":"b"}]}}}}`),
	[]byte(`{"a":[1,2],"p":{"k":"{k}","l":2},"requestParameters":{"content":"x","filter":null}}`),
	[]byte(`{"a":"{","p":{"k":1.0},"requestParameters":"{"}`),
	[]byte(`{"a":{"y":7,"z":"[1]","x":-3,"x":4}}`),
}

func TestJSONToTextEqualsRef(t *testing.T) {
	recs := jtRecords(t)
	if len(recs) < 300 {
		t.Fatalf("only %d records", len(recs))
	}
	for name, paths := range jtPathSets(t) {
		for _, raw := range recs {
			jtCompare(t, name, paths, raw)
		}
	}
}

func FuzzJSONToTextEqualsRef(f *testing.F) {
	for _, r := range jtRecords(f) {
		f.Add(r)
	}
	sets := jtPathSets(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for name, paths := range sets {
			jtCompare(t, name, paths, raw)
		}
	})
}
