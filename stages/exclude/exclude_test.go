package exclude

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

const testdata = "../../testdata/enrich/exclude"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestPyStr(t *testing.T) {
	for lit, want := range map[string]string{
		"1": "1", "-0": "0", "12345678901234567890": "12345678901234567890",
		"1.0": "1.0", "1.50": "1.5", "1e3": "1000.0", "1E-5": "1e-05", "1e16": "1e+16",
		"123456789012345.6": "123456789012345.6", "0.0001": "0.0001", "-2.5e-7": "-2.5e-07",
	} {
		if got := PyNumber(lit); got != want {
			t.Errorf("PyNumber(%s) = %s, want %s", lit, got, want)
		}
	}
	for f, want := range map[float64]string{139: "139.0", -0.0931: "-0.0931", 1e-05: "1e-05", 1e22: "1e+22", 0.1: "0.1", 1234567890123456: "1234567890123456.0"} {
		if got := PyFloat(f); got != want {
			t.Errorf("PyFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, c := range []struct {
		v    any
		want bool
	}{{nil, false}, {false, false}, {true, true}, {0.0, false}, {2.0, true}, {"", false}, {"x", true},
		{[]any{}, false}, {[]any{nil}, true}, {map[string]any{}, false}, {map[string]any{"a": 1}, true}} {
		if PyTruthy(c.v) != c.want {
			t.Errorf("PyTruthy(%#v) != %v", c.v, c.want)
		}
	}
}

func TestRuleSemantics(t *testing.T) {
	for _, c := range []struct {
		pattern string
		text    bool
		in      string
		want    bool
	}{
		// regex: re.match(p + '$') — anchored at the start, '$' binds to the
		// last alternative, and also matches before a trailing newline.
		{"80|443", false, "80", true},
		{"80|443", false, "8080", true},
		{"80|443", false, "80.1.2.3", true},
		{"80|443", false, "443", true},
		{"80|443", false, "4431", false},
		{"80|443", false, "x443", false},
		{"abc", false, "abc\n", true},
		{"abc", false, "abc\n\n", false},
		{"a.c", false, "abc", true},
		{"(?i)get.*", false, "GetObject", true},
		// text: literal, full match
		{"a.c", true, "abc", false},
		{"a.c", true, "a.c", true},
		{"a.c", true, "a.c\n", true},
		{"a.c", true, "a.cd", false},
		{"[x]", true, "[x]", true},
	} {
		r, err := NewRule("lt", "f", c.pattern, c.text, "t")
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Match([]byte(c.in)); got != c.want {
			t.Errorf("pattern %q text=%v on %q: %v", c.pattern, c.text, c.in, got)
		}
	}
}

func TestParseCSV(t *testing.T) {
	csv := "\xef\xbb\xbflog_type,field,pattern,pattern_type,comment\n" +
		"cloudtrail,eventName,\"Describe,Instances\",text,\"quoted, commas\"\n" +
		"cloudtrail,userIdentity.arn,arn:aws:iam::.*:role/ops,regex,\n" +
		"cloudtrail,eventName,,text,empty pattern\n" +
		"cloudtrail,,x,text,empty field\n" +
		"cloudtrail,a..b,x,text,bad path\n" +
		"cloudtrail,eventName,(unclosed,regex,bad regex\n" +
		"cloudtrail,eventName,(?=lookahead),regex,not RE2\n" +
		"nosuchtype,eventName,x,text,unknown log type\n" +
		"cloudtrail,eventName\n" +
		"\n" +
		"vpcflowlogs,dstport,22|3389,Regex,\n" +
		"vpcflowlogs,srcaddr,10.0.0.1,txt,unknown type: regex as in es-loader\n"
	rules, rowErrs, err := ParseCSV("exclude_log_patterns.csv", []byte(csv), []string{"cloudtrail", "vpcflowlogs"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Origin+" "+r.LogType+" "+r.Field+" "+r.Pattern)
	}
	want := []string{
		"exclude_log_patterns.csv:2 cloudtrail eventName Describe,Instances",
		"exclude_log_patterns.csv:3 cloudtrail userIdentity.arn arn:aws:iam::.*:role/ops",
		"exclude_log_patterns.csv:12 vpcflowlogs dstport 22|3389",
		"exclude_log_patterns.csv:13 vpcflowlogs srcaddr 10.0.0.1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rules:\n%q\nwant\n%q", got, want)
	}
	var msgs []string
	for _, e := range rowErrs {
		var re *RowError
		if !errors.As(e, &re) {
			t.Fatalf("not a RowError: %v", e)
		}
		msgs = append(msgs, e.Error())
	}
	wantErrs := []string{
		"exclude_log_patterns.csv:4: empty pattern",
		"exclude_log_patterns.csv:5: empty field",
		`exclude_log_patterns.csv:6: unknown field "a..b"`,
		`exclude_log_patterns.csv:7: bad regex "(unclosed"`,
		`exclude_log_patterns.csv:8: bad regex "(?=lookahead)"`,
		`exclude_log_patterns.csv:9: unknown log_type "nosuchtype"`,
		"exclude_log_patterns.csv:10: 2 columns",
	}
	if len(msgs) != len(wantErrs) {
		t.Fatalf("row errors:\n%s", strings.Join(msgs, "\n"))
	}
	for i := range msgs {
		if !strings.HasPrefix(msgs[i], wantErrs[i]) || !strings.HasSuffix(msgs[i], "(row ignored)") {
			t.Errorf("row error %d: %s\nwant prefix %s", i, msgs[i], wantErrs[i])
		}
	}
	// whole-file errors
	for name, data := range map[string]string{
		"no pattern_type column": "log_type,field,pattern\ncloudtrail,a,b\n",
		"bad header":             "\"log_type,field\n",
	} {
		if _, _, err := ParseCSV("f.csv", []byte(data), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if r, e, err := ParseCSV("f.csv", nil, nil); r != nil || e != nil || err != nil {
		t.Error("empty file is not an empty rule set")
	}
}

func parseRecord(t testing.TB, js string) *doc.Doc {
	t.Helper()
	d := doc.New()
	if err := d.ParseObject([]byte(js)); err != nil {
		t.Fatal(err)
	}
	return d
}

// Every pattern and every list element is evaluated (es-loader defect 8
// fixed); Python str() of scalars; objects at the end never match.
func TestPatternsMatch(t *testing.T) {
	mk := func(field, pat string, text bool) Rule {
		r, err := NewRule("t", field, pat, text, "test")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := NewPatterns([]Rule{
		mk("resources.ARN", "arn:aws:s3:::secret", true),
		mk("tags", "drop-me", true),
		mk("flags.on", "True", true),
		mk("n", "1000.0", true),
		mk("z", "None", true),
		mk("deep.list.x", "hit", true),
		mk("obj", ".*", false),
	})
	for _, c := range []struct {
		js   string
		want bool
	}{
		{`{"resources":[{"ARN":"arn:aws:s3:::public"},{"ARN":"arn:aws:s3:::secret"}]}`, true}, // 2nd element
		{`{"resources":{"ARN":"arn:aws:s3:::secret"}}`, true},
		{`{"resources":[{"ARN":"arn:aws:s3:::public"}]}`, false},
		{`{"tags":["a","drop-me"]}`, true},
		{`{"tags":[["x",["drop-me"]]]}`, true},
		{`{"tags":"['drop-me']"}`, false},
		{`{"flags":{"on":true}}`, true},
		{`{"flags":{"on":"true"}}`, false},
		{`{"n":1e3}`, true},
		{`{"n":1000}`, false},
		{`{"z":null}`, true},
		{`{"deep":[{"list":[{"x":"miss"},{"x":"hit"}]}]}`, true},
		{`{"obj":{"a":1}}`, false},
		{`{"other":"x"}`, false},
	} {
		_, _, got := p.Match("t", &docRecord{d: parseRecord(t, c.js)})
		if got != c.want {
			t.Errorf("%s: %v", c.js, got)
		}
		// the same through AnyRecord
		dec := json.NewDecoder(strings.NewReader(c.js))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if _, _, got := p.Match("t", AnyRecord{V: v}); got != c.want {
			t.Errorf("AnyRecord %s: %v", c.js, got)
		}
	}
	if _, _, ok := p.Match("other-type", &docRecord{d: parseRecord(t, `{"tags":"drop-me"}`)}); ok {
		t.Error("rule applied to another log type")
	}
}

func TestOwnLogRules(t *testing.T) {
	p := NewPatterns(OwnLogRules(DefaultOwnUserAgent))
	for _, c := range []struct {
		lt, js string
		want   bool
	}{
		{"cloudtrail", `{"userAgent":"Boto3/1.34 siem-es-loader/2.10.4"}`, true},
		{"cloudtrail", `{"userAgent":"aws-cli/2"}`, false},
		{"cloudtrail", `{"sourceIPAddress":"securitylake.amazonaws.com"}`, true},
		{"cloudtrail", `{"userIdentity":{"principalId":"AROAEXAMPLE:aes-siem-es-loader","arn":"x"}}`, true},
		{"cloudtrail", `{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/aes-siem-LambdaEsLoaderServiceRole-X/y"}}`, true},
		{"cloudtrail", `{"requestParameters":{"functionName":"arn:aws:lambda:us-east-1:1:function:aes-siem-ioc-plan"}}`, true},
		{"s3accesslog", `{"Requester":"svc:securitylake.amazonaws.com"}`, true},
		{"securitylake", `{"resources":[{"uid":"x"},{"uid":"arn:aws:lambda:x:function:aes-siem-es-loader"}]}`, true},
		{"securitylake", `{"actor":{"user":{"uid":"AIDA"}}}`, false},
	} {
		if _, _, got := p.Match(c.lt, &docRecord{d: parseRecord(t, c.js)}); got != c.want {
			t.Errorf("%s %s: %v", c.lt, c.js, got)
		}
	}
}

// cloudTrailBatch reads testdata ct.json ({"Records": [...]}) as a batch of
// parsed raw records, as decode would produce them.
func cloudTrailBatch(t testing.TB) *stages.Batch {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "ct.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Records []json.RawMessage }
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: "cloudtrail"}
	b := &stages.Batch{}
	for _, r := range f.Records {
		b.Events = append(b.Events, stages.Event{Src: src, Doc: parseRecord(t, string(r))})
	}
	return b
}

func keptIDs(b *stages.Batch, idPath string) []string {
	var out []string
	for _, e := range b.Events {
		if e.Status == stages.Keep {
			out = append(out, e.Doc.Text(e.Doc.FindDotted(idPath)))
		}
	}
	slices.Sort(out)
	return out
}

func readIDs(t testing.TB, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// TestParityPatterns runs the pattern stage on testdata ct.json with
// exclude.csv and the built-in own-log rules and compares the kept records
// with es-loader's (esl_ref.py --exclude-csv exclude.csv on ct.json):
// identical except evt-07, whose second resources element matches — es-loader
// only looks at the first element of a list (its defect 8), we drop it.
func TestParityPatterns(t *testing.T) {
	s, err := New(Config{CSV: filepath.Join(testdata, "exclude.csv"), OwnLogs: true}, stages.Deps{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := cloudTrailBatch(t)
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(readIDs(t, "esloader-csv.ids"), func(id string) bool { return id == "evt-07" })
	if got := keptIDs(b, "eventID"); !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %v\nwant %v", got, want)
	}
	if st := s.Stats()["cloudtrail"]; st.ExcludedLogCount != 9 {
		t.Fatalf("stats %+v", st)
	}
	for _, e := range b.Events {
		if e.Status == stages.Dropped && !errors.Is(e.Err, ErrExcluded) {
			t.Fatalf("dropped without ErrExcluded: %v", e.Err)
		}
	}
	// built-in rules alone: es-loader's run without a CSV
	s2, _ := New(DefaultConfig(), stages.Deps{})
	b2 := cloudTrailBatch(t)
	_ = s2.Process(context.Background(), b2)
	wantAll := readESLIDs(t)
	if got := keptIDs(b2, "eventID"); !reflect.DeepEqual(got, wantAll) {
		t.Fatalf("own logs: kept %v want %v", got, wantAll)
	}
}

func readESLIDs(t testing.TB) []string {
	var ids []string
	for _, d := range eslDocs(t) {
		ids = append(ids, d.Text(d.FindDotted("@id")))
	}
	slices.Sort(ids)
	return ids
}

func eslDocs(t testing.TB) []*doc.Doc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "esloader-all.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*doc.Doc
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var l struct{ Doc json.RawMessage }
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, parseRecord(t, string(l.Doc)))
	}
	return out
}

func TestParseConditions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "ssm.json"))
	if err != nil {
		t.Fatal(err)
	}
	params, err := ParamsFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	set, errs := ParseConditions(params)
	var names []string
	for _, c := range set.For("cloudtrail") {
		names = append(names, c.Name+"="+c.Action.String())
	}
	if want := []string{"cloudtrail/count-put=COUNT", "cloudtrail/ex-console=EXCLUDE", "cloudtrail/zero=EXCLUDE"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("conditions %v", names)
	}
	if set.Len() != 4 || len(set.For("vpcflowlogs")) != 1 {
		t.Fatalf("len %d", set.Len())
	}
	var bad []string
	for _, e := range errs {
		var pe *ParamError
		if !errors.As(e, &pe) {
			t.Fatalf("not a ParamError: %v", e)
		}
		bad = append(bad, pe.Name)
		if !strings.Contains(e.Error(), "/siem/exclude-logs/"+pe.Name) {
			t.Errorf("error does not name the parameter: %v", e)
		}
	}
	slices.Sort(bad)
	if want := []string{"cloudtrail/badaction", "cloudtrail/badexpr", "cloudtrail/nokeys", "noslash"}; !reflect.DeepEqual(bad, want) {
		t.Fatalf("bad %v", bad)
	}
	_, errs = ParseConditions([]Parameter{{Name: "x/y", Value: "not json"}, {Name: "x/z", Value: `{"action":1,"expression":"a"}`}})
	if len(errs) != 2 {
		t.Fatalf("%v", errs)
	}
}

func TestEvaluate(t *testing.T) {
	set, errs := ParseConditions([]Parameter{
		{Name: "t/a-count", Value: `{"action":"COUNT","expression":"x == 'y'"}`},
		{Name: "t/b-error", Value: `{"action":"EXCLUDE","expression":"abs(x)"}`}, // runtime error on a string
		{Name: "t/c-exclude", Value: `{"action":"exclude","expression":"n > ` + "`5`" + `"}`},
		{Name: "t/d-count", Value: `{"action":"count","expression":"x"}`},
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	var out Outcome
	Evaluate(set.For("t"), map[string]any{"x": "y", "n": 7.0}, &out)
	if out.Excluded == nil || out.Excluded.Name != "t/c-exclude" || len(out.Counted) != 1 || len(out.Errors) != 1 || out.Errors[0].Name != "t/b-error" {
		t.Fatalf("%+v", out)
	}
	Evaluate(set.For("t"), map[string]any{"x": "z", "n": 1.0}, &out)
	if out.Excluded != nil || len(out.Counted) != 1 || out.Counted[0].Name != "t/d-count" {
		t.Fatalf("%+v", out)
	}
}

// TestParityConditions feeds es-loader's final documents (esloader-all.jsonl,
// esl_ref.py without conditions) to the conditions stage with ssm.json and
// compares with es-loader's run with --ssm-json ssm.json (esloader-ssm.ids):
// same kept records, CountedLogCount 1, and `0` is falsy as in Python.
func TestParityConditions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "ssm.json"))
	if err != nil {
		t.Fatal(err)
	}
	params, err := ParamsFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConditions(ConditionsConfig{}, ConditionsDeps{Deps: stages.Deps{Logger: quiet()}, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: "cloudtrail"}
	b := &stages.Batch{}
	for _, d := range eslDocs(t) {
		b.Events = append(b.Events, stages.Event{Src: src, Doc: d})
	}
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got, want := keptIDs(b, "@id"), readIDs(t, "esloader-ssm.ids"); !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %v\nwant %v", got, want)
	}
	if st := c.Stats()["cloudtrail"]; st.CountedLogCount != 1 || st.ExcludedLogCount != 1 {
		t.Fatalf("stats %+v", st)
	}
}

type mutableParams struct{ ps []Parameter }

func (m *mutableParams) Parameters(context.Context) ([]Parameter, error) {
	if m.ps == nil {
		return nil, errors.New("ssm unavailable")
	}
	return m.ps, nil
}

func TestConditionsReload(t *testing.T) {
	mp := &mutableParams{ps: []Parameter{{Name: "t/x", Value: `{"action":"EXCLUDE","expression":"drop"}`}}}
	c, _ := NewConditions(DefaultConditionsConfig(), ConditionsDeps{Deps: stages.Deps{Logger: quiet()}, Params: mp})
	ctx := context.Background()
	run := func() stages.Status {
		b := &stages.Batch{Events: []stages.Event{{Src: &stages.Source{LogType: "t"}, Doc: parseRecord(t, `{"drop":true,"keep":true}`)}}}
		_ = c.Process(ctx, b)
		return b.Events[0].Status
	}
	if run() != stages.Keep {
		t.Fatal("active before the first Check")
	}
	if changed, err := c.Check(ctx); !changed || err != nil {
		t.Fatal(changed, err)
	}
	if run() != stages.Dropped {
		t.Fatal("v1 not applied")
	}
	mp.ps = nil // SSM down: keep the conditions in use
	if _, err := c.Check(ctx); err == nil || run() != stages.Dropped {
		t.Fatal("conditions lost on SSM error")
	}
	mp.ps = []Parameter{{Name: "t/x", Value: `{"action":"DISABLE","expression":"drop"}`}}
	if changed, err := c.Check(ctx); !changed || err != nil || run() != stages.Keep {
		t.Fatal("disable not applied")
	}
}

func TestCSVReload(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "exclude_log_patterns.csv")
	write := func(s string, age time.Duration) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(-age)
		_ = os.Chtimes(p, mt, mt)
	}
	s, err := New(Config{CSV: p}, stages.Deps{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dropped := func(js string) bool {
		b := &stages.Batch{Events: []stages.Event{{Src: &stages.Source{LogType: "t"}, Doc: parseRecord(t, js)}}}
		_ = s.Process(ctx, b)
		return b.Events[0].Status == stages.Dropped
	}
	// absent file: no rules, not an error
	if _, err := s.Check(ctx); err != nil || dropped(`{"a":"x"}`) {
		t.Fatal("absent file")
	}
	write("log_type,field,pattern,pattern_type,comment\nt,a,x,text,\n", 3*time.Hour)
	if changed, err := s.Check(ctx); !changed || err != nil || !dropped(`{"a":"x"}`) {
		t.Fatal("v1", changed, err)
	}
	write("garbage without the columns\n", 2*time.Hour) // refused: rules in use stay
	if changed, err := s.Check(ctx); changed || err == nil || !dropped(`{"a":"x"}`) {
		t.Fatal("corrupt accepted", changed, err)
	}
	write("log_type,field,pattern,pattern_type,comment\nt,a,y,text,\nt,b,(bad,regex,\n", time.Hour)
	if changed, err := s.Check(ctx); !changed || err != nil || dropped(`{"a":"x"}`) || !dropped(`{"a":"y"}`) {
		t.Fatal("v2", changed, err)
	}
	os.Remove(p)
	if changed, err := s.Check(ctx); !changed || err != nil || dropped(`{"a":"y"}`) {
		t.Fatal("removed file still applied", changed, err)
	}
}

func TestZeroConfigPassThrough(t *testing.T) {
	s, err := New(Config{}, stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewConditions(ConditionsConfig{}, ConditionsDeps{}); err == nil {
		t.Fatal("conditions without a parameter loader accepted")
	}
	b := cloudTrailBatch(t)
	for _, st := range []stages.Stage{s} {
		if err := st.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range b.Events {
		if e.Status != stages.Keep {
			t.Fatal("zero config dropped an event")
		}
	}
	if err := (Config{CSV: "gs://x"}).Validate(); err == nil {
		t.Error("bad location accepted")
	}
	if _, err := New(Config{CSV: "s3://b/k.csv"}, stages.Deps{}); err == nil {
		t.Error("s3 without opener accepted")
	}
}

func BenchmarkExcludePatterns(b *testing.B) {
	rules, _, err := ParseCSV("bench.csv", []byte("log_type,field,pattern,pattern_type,comment\n"+
		"cloudtrail,eventName,DescribeInstances,text,\n"+
		"cloudtrail,sourceIPAddress,10\\..*|192\\.168\\..*,regex,\n"+
		"cloudtrail,userIdentity.arn,arn:aws:iam::.*:role/ops-.*,regex,\n"+
		"cloudtrail,resources.ARN,arn:aws:s3:::secret,text,\n"), nil)
	if err != nil {
		b.Fatal(err)
	}
	p := NewPatterns(OwnLogRules(DefaultOwnUserAgent), rules)
	d := parseRecord(b, `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAX:bob","arn":"arn:aws:sts::1:assumed-role/dev/bob"},"eventName":"GetObject","sourceIPAddress":"52.95.110.1","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"data"},"resources":[{"ARN":"arn:aws:s3:::data"},{"ARN":"arn:aws:s3:::data/x"}]}`)
	rec := &docRecord{d: d}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := p.Match("cloudtrail", rec); ok {
			b.Fatal("matched")
		}
	}
}

func BenchmarkExcludeConditions(b *testing.B) {
	params := StaticParams{{Name: "cloudtrail/a", Value: `{"action":"COUNT","expression":"event.action == 'ConsoleLogin'"}`},
		{Name: "cloudtrail/b", Value: `{"action":"EXCLUDE","expression":"source.ip == '10.0.0.1' && event.outcome == 'failure'"}`}}
	c, _ := NewConditions(ConditionsConfig{}, ConditionsDeps{Deps: stages.Deps{Logger: quiet()}, Params: params})
	_, _ = c.Check(context.Background())
	docs := eslDocs(b)
	src := &stages.Source{LogType: "cloudtrail"}
	bt := &stages.Batch{Events: make([]stages.Event, 1)}
	b.ReportAllocs()
	for b.Loop() {
		bt.Events[0] = stages.Event{Src: src, Doc: docs[0]}
		_ = c.Process(context.Background(), bt)
	}
}
