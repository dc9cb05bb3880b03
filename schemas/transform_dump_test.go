package schemas

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
)

// testdata/transforms/<type>.jsonl holds, for every record of the parity
// samples (testdata/normalize*/<type>/), what es-loader's
// siem/sf_<type>.transform received and returned ({"in", "out", "error"};
// recorded by wrapping the script while esl_ref.py ran the sample). Each
// Go transform must turn "in" into "out": this checks the transforms on
// their own, including those of log types whose end-to-end goldens still
// wait for CloudWatch Logs metadata in the pipeline.

// flattenJSON maps dotted paths to leaf values; empty strings, nulls and
// empty lists/objects are left out (es-loader drops them from documents).
func flattenJSON(p string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			q := k
			if p != "" {
				q = p + "." + k
			}
			flattenJSON(q, y, out)
		}
	case nil:
	case string:
		if x != "" {
			out[p] = x
		}
	case []any:
		if len(x) > 0 {
			b, _ := json.Marshal(x)
			out[p] = string(b)
		}
	default:
		out[p] = fmt.Sprint(x)
	}
}

func TestTransformsAgainstEsLoader(t *testing.T) {
	files, _ := filepath.Glob("../testdata/transforms/*.jsonl")
	if len(files) == 0 {
		t.Skip("no transform recordings")
	}
	for _, file := range files {
		typ := strings.TrimSuffix(filepath.Base(file), ".jsonl")
		t.Run(typ, func(t *testing.T) {
			fn := lookupTransform(typ)
			if fn == nil {
				t.Fatalf("no transform for %s", typ)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 4<<20)
			n := 0
			for sc.Scan() {
				n++
				var rec struct {
					In, Out json.RawMessage
					Error   string
				}
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatal(err)
				}
				d := doc.New()
				if err := d.ParseObject(rec.In); err != nil {
					t.Fatal(err)
				}
				tc := &TransformContext{Doc: d}
				err := fn(tc)
				if (err != nil) != (rec.Error != "") {
					t.Errorf("record %d: error %v, es-loader %q", n, err, rec.Error)
				}
				var got, want any
				if err := json.Unmarshal(d.AppendValueJSON(nil, d.Root()), &got); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(rec.Out, &want); err != nil {
					t.Fatal(err)
				}
				fg, fw := map[string]string{}, map[string]string{}
				flattenJSON("", got, fg)
				flattenJSON("", want, fw)
				if tc.IndexName != "" {
					fg["__index_name"] = tc.IndexName
				}
				if tc.DocIDSuffix != "" {
					fg["__doc_id_suffix"] = tc.DocIDSuffix
				}
				delete(fw, "__index_dt") // compared through the index name by the goldens
				var diffs []string
				for k, w := range fw {
					if g, ok := fg[k]; !ok || !sameJSONText(g, w) {
						diffs = append(diffs, fmt.Sprintf("%s: %q, es-loader %q", k, fg[k], w))
					}
				}
				for k, g := range fg {
					if _, ok := fw[k]; !ok {
						diffs = append(diffs, fmt.Sprintf("%s: %q, es-loader has none", k, g))
					}
				}
				sort.Strings(diffs)
				for _, x := range diffs {
					t.Errorf("record %d: %s", n, x)
				}
			}
			t.Logf("%s: %d records", typ, n)
		})
	}
}

// sameJSONText: numbers compare by value ("1.0" == "1"), lists as sets.
func sameJSONText(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil {
		if xs, ok := x.([]any); ok {
			if ys, ok := y.([]any); ok && len(xs) == len(ys) {
				s := func(l []any) string {
					var o []string
					for _, e := range l {
						o = append(o, fmt.Sprint(e))
					}
					sort.Strings(o)
					return strings.Join(o, "\x00")
				}
				return s(xs) == s(ys)
			}
		}
		return fmt.Sprint(x) == fmt.Sprint(y)
	}
	return false
}
