package templates

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

// TestGoldenDocsConform checks our normalize goldens (and the enrichment
// goldens) against the mappings their index gets: a field mapped ip, date,
// a number or geo_point must hold such a value (else OpenSearch ignores the
// value, or rejects the document), an object must not land on a field
// mapped as a value and vice versa (a rejected document). It runs without a
// cluster; internal/e2e/templates_test.go checks the same on the real one.
// knownMalformed lists, per golden directory (log type), fields where the
// parity output holds a value its mapping cannot take. OpenSearch skips such
// a value (index.mapping.ignore_malformed) and keeps the document, as it
// does for es-loader.
var knownMalformed = map[string][]string{
	// es-loader's elasticache transform keeps the brackets of an IPv6
	// ClientAddress ("[2001:db8::1]:40112" -> source.ip "[2001:db8::1]").
	// The fix belongs in the transform (strip the brackets), not in the
	// mapping: ECS source.ip is an ip everywhere else.
	"elasticache-redis-slowlog": {"related.ip", "source.ip"},
}

func TestGoldenDocsConform(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/normalize/*/*.siemstream.jsonl")
	esl, _ := filepath.Glob("../../testdata/normalize/*/*.esloader.jsonl")
	files = append(files, esl...)
	if len(files) == 0 {
		t.Skip("no normalize goldens")
	}
	for _, file := range files {
		dir := filepath.Dir(file)
		opts := schemas.Options{}
		if _, err := os.Stat(filepath.Join(dir, "user.ini")); err == nil {
			opts.UserINI = filepath.Join(dir, "user.ini")
		}
		reg, err := schemas.Load(opts)
		if err != nil {
			t.Fatal(err)
		}
		set, err := Build(reg, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel("../../testdata/normalize", file)
		known := knownMalformed[filepath.Base(dir)]
		t.Run(name, func(t *testing.T) {
			forEachDoc(t, file, func(index, id string, src map[string]any) {
				tmpl, problems := docProblems(t, set, index, src)
				for _, p := range problems {
					field, _, _ := strings.Cut(p, " ")
					if slices.Contains(known, field) {
						t.Logf("known: %s doc %s: %s", index, id, p)
						continue
					}
					t.Errorf("%s doc %s (template %s): %s", index, id, tmpl, p)
				}
			})
		})
	}
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := Build(reg, DefaultOptions())
	for _, file := range []string{"../../testdata/enrich/geoip/esloader-vpcflow.expected.jsonl", "../../testdata/enrich/ioc/esloader-vpcflow.expected.jsonl"} {
		if _, err := os.Stat(file); err != nil {
			continue
		}
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			forEachDoc(t, file, func(_, id string, src map[string]any) {
				checkDoc(t, set, "log-aws-vpcflowlogs-2024-03", id, src)
			})
		})
	}
}

// forEachDoc reads {"_index","_id","_source"} lines (our goldens) or
// {"index","_id","doc"} lines (es-loader's).
func forEachDoc(t *testing.T, file string, visit func(index, id string, src map[string]any)) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d struct {
			Index  string         `json:"_index"`
			ID     string         `json:"_id"`
			Source map[string]any `json:"_source"`
			Doc    map[string]any `json:"doc"`
			ESL    string         `json:"index"` // es-loader's name for _index
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d.Source == nil {
			d.Source = d.Doc
		}
		if d.Index == "" {
			d.Index = d.ESL
		}
		visit(d.Index, d.ID, d.Source)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// effectiveFields is the flattened mapping (path -> field spec) an index
// gets from the family template covering it.
func effectiveFields(t *testing.T, set *Set, index string) (string, map[string]map[string]any) {
	var best *Template
	for i := range set.Indices {
		tm := &set.Indices[i]
		p := strings.TrimSuffix(tm.Body["index_patterns"].([]any)[0].(string), "*")
		if !strings.HasPrefix(index, p) {
			continue
		}
		if best == nil || tm.Body["priority"].(int64) > best.Body["priority"].(int64) {
			best = tm
		}
	}
	if best == nil {
		t.Fatalf("no template covers index %s", index)
	}
	comps := map[string]Template{}
	for _, c := range set.Components {
		comps[c.Name] = c
	}
	out := map[string]map[string]any{}
	for _, cn := range best.Body["composed_of"].([]any) {
		m := comps[cn.(string)].Body["template"].(map[string]any)["mappings"].(map[string]any)
		if props, ok := m["properties"].(map[string]any); ok {
			flattenSpecs(props, "", out)
		}
	}
	return best.Name, out
}

func flattenSpecs(props map[string]any, prefix string, out map[string]map[string]any) {
	for k, v := range props {
		spec := v.(map[string]any)
		p := prefix + k
		if old, ok := out[p]; ok && spec["type"] == nil {
			_ = old // an intermediate object of a later component keeps the declared one
		} else {
			out[p] = spec
		}
		if sub, ok := spec["properties"].(map[string]any); ok {
			flattenSpecs(sub, p+".", out)
		}
	}
}

func checkDoc(t *testing.T, set *Set, index, id string, src map[string]any) {
	t.Helper()
	tmpl, problems := docProblems(t, set, index, src)
	for _, p := range problems {
		t.Errorf("%s doc %s (template %s): %s", index, id, tmpl, p)
	}
}

func docProblems(t *testing.T, set *Set, index string, src map[string]any) (string, []string) {
	tmpl, fields := effectiveFields(t, set, index)
	var problems []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		spec := fields[path]
		typ, _ := spec["type"].(string)
		if spec != nil && typ == "" {
			typ = "object"
		}
		switch x := v.(type) {
		case map[string]any:
			if typ == "geo_point" {
				if !numeric(x["lat"]) || !numeric(x["lon"]) {
					problems = append(problems, fmt.Sprintf("%s = %v: not a {lat, lon} point", path, x))
				}
				return
			}
			if typ != "" && typ != "object" && typ != "nested" && typ != "flat_object" {
				problems = append(problems, fmt.Sprintf("%s: an object where the mapping has %s (document rejected)", path, typ))
				return
			}
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
		case []any:
			for _, e := range x {
				walk(path, e)
			}
		case nil:
		default:
			if typ == "object" || typ == "nested" {
				problems = append(problems, fmt.Sprintf("%s = %v: a value where the mapping has an object (document rejected)", path, v))
				return
			}
			if msg := checkValue(typ, spec, v); msg != "" {
				problems = append(problems, fmt.Sprintf("%s = %q: %s", path, fmt.Sprint(v), msg))
			}
		}
	}
	walk("", src)
	sort.Strings(problems)
	return tmpl, problems
}

func TestDocProblemsFindsConflicts(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := Build(reg, DefaultOptions())
	doc := map[string]any{
		"@timestamp": "2025-03-14 12:00:00",
		"event":      "login",
		"source": map[string]any{
			"ip":   "unknown",
			"port": map[string]any{"n": 1},
			"geo":  map[string]any{"location": map[string]any{"lat": 1.5}},
		},
		"destination": map[string]any{"ip": "2001:db8::1", "port": "443"},
		"related":     map[string]any{"ip": []any{"10.0.0.1", "not-an-ip"}},
		"srcaddr":     "10.0.0.1",
		"end":         "yesterday",
	}
	_, got := docProblems(t, set, "log-aws-vpcflowlogs-2025-03", doc)
	want := []string{"@timestamp", "end", "event", "related.ip", "source.geo.location", "source.ip", "source.port"}
	var paths []string
	for _, p := range got {
		paths = append(paths, strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == ':' })[0])
	}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("problems:\n%s\nwant paths %v", strings.Join(got, "\n"), want)
	}
}

var isoDate = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$`)

// checkValue says what is wrong with a scalar for a field type ("" = fine).
func checkValue(typ string, spec map[string]any, v any) string {
	s := fmt.Sprint(v)
	switch typ {
	case "ip":
		if _, err := netip.ParseAddr(s); err != nil {
			return "not an IP address (mapped ip)"
		}
	case "date", "date_nanos":
		format, _ := spec["format"].(string)
		switch {
		case format == "":
			// strict_date_optional_time||epoch_millis; OpenSearch's parser
			// wants "T" between date and time.
			if !(isoDate.MatchString(s) && !strings.Contains(s, " ")) && !numeric(v) {
				return "not an ISO 8601 date or epoch millis (mapped date)"
			}
		case strings.HasPrefix(format, "epoch_"):
			if !numeric(v) {
				return "not an epoch number (mapped " + format + ")"
			}
		}
	case "long", "integer", "short", "byte":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "not a number (mapped " + typ + ")"
		}
		lim := map[string]float64{"long": math.MaxInt64, "integer": math.MaxInt32, "short": math.MaxInt16, "byte": math.MaxInt8}[typ]
		if math.Abs(f) > lim {
			return "out of range for " + typ
		}
	case "float", "double", "half_float", "scaled_float":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "not a number (mapped " + typ + ")"
		}
	case "boolean":
		if s != "true" && s != "false" {
			return "not true/false (mapped boolean)"
		}
	case "geo_point":
		return "a scalar where a {lat, lon} point is mapped"
	case "keyword", "":
		if ia, ok := spec["ignore_above"]; !ok || ia == nil {
			if len(s) > 32766 {
				return "longer than Lucene's term limit (document rejected)"
			}
		}
	}
	return ""
}

func numeric(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return true
	case float64:
		return true
	case string:
		_, err := strconv.ParseFloat(x, 64)
		return err == nil
	}
	return false
}
