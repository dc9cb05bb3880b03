package decode

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// A flat record (Config.Flat) must hold exactly the tree decode builds
// without it: the same status and error, and Flat.Tree the same document.

const flatINI = `
[t-text]
s3_key = t-text/
file_format = text
log_pattern = ^(?P<a>\w+) (\d+) (?P<b>x)?(?P<c>\S*)$$
index_name = log-t

[t-dupgroups]
s3_key = t-dup/
file_format = text
log_pattern = ^(?P<a>\w+) (?P<a>\w+)$$
index_name = log-t
`

// decodeBoth decodes raw with and without flat records and reports every
// difference; it returns the flat event.
func decodeBoth(t testing.TB, s, flat *Stage, src *stages.Source, raw string) stages.Event {
	t.Helper()
	run := func(st *Stage) stages.Event {
		b := &stages.Batch{Events: []stages.Event{{Src: src, Ordinal: 1, Raw: []byte(raw)}}, Arena: new(stages.Arena)}
		if err := st.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		return b.Events[0]
	}
	a, f := run(s), run(flat)
	if a.Flat != nil {
		t.Fatalf("%s %q: flat without Config.Flat", src.LogType, raw)
	}
	if a.Status != f.Status || fmt.Sprint(a.Err) != fmt.Sprint(f.Err) {
		t.Fatalf("%s %q: tree %v %v, flat %v %v", src.LogType, raw, a.Status, a.Err, f.Status, f.Err)
	}
	if a.Status != stages.Keep {
		return f
	}
	if f.Flat != nil && f.Doc != nil {
		t.Fatalf("%s %q: both Flat and Doc", src.LogType, raw)
	}
	want := string(a.Doc.AppendValueJSON(nil, a.Doc.Root()))
	var got string
	if f.Flat != nil {
		d := doc.Get()
		defer doc.Put(d)
		f.Flat.Tree(d)
		got = string(d.AppendValueJSON(nil, d.Root()))
	} else {
		got = string(f.Doc.AppendValueJSON(nil, f.Doc.Root()))
	}
	if got != want {
		t.Fatalf("%s %q:\ntree %s\nflat %s", src.LogType, raw, want, got)
	}
	return f
}

func flatStages(t testing.TB, ini string) (s, flat *Stage) {
	t.Helper()
	reg := registry(t, ini)
	s = newStage(t, reg)
	flat, err := New(Config{Flat: func(string) bool { return true }}, stages.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s, flat
}

func TestFlatEqualsTree(t *testing.T) {
	s, flat := flatStages(t, userINI+flatINI)
	vpc := &stages.Source{LogType: "vpcflowlogs", Context: []byte("version account-id  srcaddr\tlog-status\n")}
	alb := &stages.Source{LogType: "alb"}
	albLine := `http 2025-03-14T11:55:01.412233Z app/x/1 198.51.100.23:52311 10.20.1.44:80 0.001 0.012 0.000 200 200 312 5120 "GET http://www.example.com:80/index.html HTTP/1.1" "curl/8" - - arn:tg "Root=1" "-" "-" 0 2025-03-14T11:55:01.398000Z "forward" "-" "-" "10.20.1.44:80" "200" "-" "-"`
	long := strings.Repeat("x", stages.FlatMaxLine)
	for _, c := range []struct {
		src  *stages.Source
		raw  string
		flat bool // decoded flat (else: a tree, or failed)
	}{
		{vpc, "2 123 10.0.0.1 OK\n", true},
		{vpc, "  2\x1f123  10.0.0.2 OK extra\r\n", true},
		{vpc, "2 123\n", true},
		{vpc, "", true},
		{vpc, "2 1\xff23 x y", false},         // not UTF-8: the tree path cleans it
		{vpc, "2 1\u00a023 x\u3000y", true},   // Unicode spaces split too
		{vpc, "2 123 " + long + " OK", false}, // too long for offsets
		{vpc, "2 123 " + long[:stages.FlatMaxLine-20] + " OK", true},
		{&stages.Source{LogType: "vpcflowlogs"}, "2 1", false},                                   // no header: fails
		{&stages.Source{LogType: "vpcflowlogs", Context: []byte("a b a\n")}, "1 2 3", false},     // duplicate names: a tree
		{&stages.Source{LogType: "vpcflowlogs", Context: []byte("a b-c b_c\n")}, "1 2 3", false}, // likewise after '-' → '_'
		{&stages.Source{LogType: "semi", Context: []byte("a;b\n")}, "1;2", false},                // delimited CSV: a tree
		{alb, "  " + albLine + "\n", true},
		{alb, "garbage", false},
		{alb, "", false},
		{&stages.Source{LogType: "t-text"}, "abc 12 x", true},
		{&stages.Source{LogType: "t-text"}, "abc 12 yz", true}, // b does not take part: null
		{&stages.Source{LogType: "t-text"}, "abc 12 \xff", false},
		{&stages.Source{LogType: "t-dupgroups"}, "p q", false}, // a name twice: a tree
		{&stages.Source{LogType: "app-json"}, `{"a":1}`, false},
	} {
		f := decodeBoth(t, s, flat, c.src, c.raw)
		if (f.Flat != nil) != c.flat {
			t.Errorf("%s %q: flat %v, want %v (%v %v)", c.src.LogType, c.raw, f.Flat != nil, c.flat, f.Status, f.Err)
		}
	}
}

// TestFlatPredicate: only the types Config.Flat names are decoded flat.
func TestFlatPredicate(t *testing.T) {
	reg := registry(t, "")
	st, err := New(Config{Flat: func(lt string) bool { return lt == "alb" }}, stages.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	b := &stages.Batch{Arena: new(stages.Arena), Events: []stages.Event{
		{Src: &stages.Source{LogType: "vpcflowlogs", Context: []byte("a b\n")}, Raw: []byte("1 2")},
		{Src: &stages.Source{LogType: "clb"}, Raw: []byte(`2025-03-14T11:55:03.100000Z my-clb 10.0.0.1:1 - -1 -1 -1 503 0 0 0 "GET http://h:80/ HTTP/1.1" "-" - -`)},
	}}
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Events {
		if e.Status != stages.Keep || e.Flat != nil || e.Doc == nil {
			t.Errorf("%s: %v %v flat %v", e.Src.LogType, e.Status, e.Err, e.Flat != nil)
		}
	}
}

func FuzzFlatEqualsTree(f *testing.F) {
	s, flat := flatStages(f, userINI+flatINI)
	f.Add("vpcflowlogs", "version srcaddr end", "2 10.0.0.1 1741953360")
	f.Add("vpcflowlogs", "a b a", "1 2 3")
	f.Add("alb", "", `h2 2025-03-14T11:55:03.100000Z app/x/1 2001:db8::1:40110 10.20.1.44:80 0.000 0.003 0.000 304 304 95 210 "GET https://h:443/p HTTP/2.0" "ua" c p arn "R" "d" "c" 5 t "forward" "-" "-" "t" "304" "-" "-"`)
	f.Add("clb", "", `2025-03-14T11:55:03.100000Z my-clb 10.0.0.1:1 - -1 -1 -1 503 0 0 0 "GET http://h:80/ HTTP/1.1" "-" - -`)
	f.Add("nlb", "", `tls 2.0 2025-03-14T11:55:03 net/x/1 l 1.2.3.4:1 5.6.7.8:2 1 2 3 4 - arn - - - - - - - - -`)
	f.Add("t-text", "", "abc 12 yz")
	f.Fuzz(func(t *testing.T, lt, header, raw string) {
		if s.reg.Lookup(lt) == nil {
			return
		}
		decodeBoth(t, s, flat, &stages.Source{LogType: lt, Context: []byte(header)}, raw)
	})
}
