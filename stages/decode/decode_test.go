package decode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

func registry(t testing.TB, user string) *schemas.Registry {
	t.Helper()
	opts := schemas.Options{}
	if user != "" {
		p := filepath.Join(t.TempDir(), "user.ini")
		os.WriteFile(p, []byte(user), 0o644)
		opts.UserINI = p
	}
	r, err := schemas.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const userINI = `
[semi]
s3_key = semi/
file_format = csv
csv_delimiter = ;
index_name = log-semi

[app-json]
s3_key = app-json/
file_format = json
index_name = log-app
`

func run(t testing.TB, reg *schemas.Registry, src *stages.Source, raws ...string) *stages.Batch {
	t.Helper()
	b := &stages.Batch{}
	for i, r := range raws {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: []byte(r)})
	}
	if err := newStage(t, reg).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newStage(tb testing.TB, reg *schemas.Registry) *Stage {
	tb.Helper()
	s, err := New(DefaultConfig(), stages.Deps{Registry: reg})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestNewNeedsRegistry: a chain assembled without the log types fails at
// start, not at the first record.
func TestNewNeedsRegistry(t *testing.T) {
	if _, err := New(DefaultConfig(), stages.Deps{}); err == nil {
		t.Fatal("New without a registry: no error")
	}
}

func js(e stages.Event) string { return string(e.Doc.AppendValueJSON(nil, e.Doc.Root())) }

func TestCSVWhitespace(t *testing.T) {
	reg := registry(t, "")
	src := &stages.Source{LogType: "vpcflowlogs", Context: []byte("version account-id  srcaddr\tlog-status\n")}
	b := run(t, reg, src, "2 123 10.0.0.1 OK\n", "  2\x1f123  10.0.0.2 OK extra\r\n", "2 123\n", "2 1\xff23 x y")
	want := []string{
		`{"version":"2","account_id":"123","srcaddr":"10.0.0.1","log_status":"OK"}`,
		`{"version":"2","account_id":"123","srcaddr":"10.0.0.2","log_status":"OK"}`,
		`{"version":"2","account_id":"123"}`,
		`{"version":"2","account_id":"123","srcaddr":"x","log_status":"y"}`,
	}
	for i, e := range b.Events {
		if e.Status != stages.Keep || js(e) != want[i] {
			t.Errorf("%d: %v %v %s", i, e.Status, e.Err, js(e))
		}
	}
	// no header: every record fails with a clear reason
	b = run(t, reg, &stages.Source{LogType: "vpcflowlogs"}, "2 1")
	if b.Events[0].Status != stages.Failed || !strings.Contains(b.Events[0].Err.Error(), "header") {
		t.Errorf("no header: %v", b.Events[0].Err)
	}
}

func TestCSVDelimited(t *testing.T) {
	reg := registry(t, userINI)
	src := &stages.Source{LogType: "semi", Context: []byte(`a;b-c;"d;e"` + "\n")}
	b := run(t, reg, src, `1;"x;y";"say ""hi"""`, `;;`, `"q"tail;2`)
	want := []string{`{"a":"1","b_c":"x;y","d;e":"say \"hi\""}`, `{"a":"","b_c":"","d;e":""}`, `{"a":"qtail","b_c":"2"}`}
	for i, e := range b.Events {
		if js(e) != want[i] {
			t.Errorf("%d: %s", i, js(e))
		}
	}
}

func TestJSON(t *testing.T) {
	reg := registry(t, userINI)
	src := &stages.Source{LogType: "app-json"}
	b := run(t, reg, src,
		`{"a":1,"a":2,"b":"x"}`,
		`{"version":"0","id":"ev-1","detail-type":"Finding","source":"aws.test","account":"111122223333","time":"2025-03-14T11:00:00Z","region":"eu-west-1","resources":[],"detail":{"k":"v"}}`,
		`{"broken":`,
		`[1,2]`,
	)
	if js(b.Events[0]) != `{"a":2,"b":"x"}` {
		t.Errorf("dup keys: %s", js(b.Events[0]))
	}
	e := b.Events[1]
	if js(e) != `{"k":"v"}` || !e.Env.EventBridge.Set || e.Env.EventBridge.Account != "111122223333" || e.Env.EventBridge.ID != "ev-1" ||
		e.Env.EventBridge.Region != "eu-west-1" || e.Env.EventBridge.Time != "2025-03-14T11:00:00Z" ||
		string(e.Raw[e.Doc.Meta.RecordStart:e.Doc.Meta.RecordEnd]) != `{"k":"v"}` {
		t.Errorf("eventbridge: %s %+v %+v", js(e), e.Doc.Meta, e.Env)
	}
	for _, e := range b.Events[2:] {
		if e.Status != stages.Failed || !errors.Is(e.Err, ErrRecord) || !strings.Contains(e.Err.Error(), "json") {
			t.Errorf("bad json: %v", e.Err)
		}
	}
}

func TestTextAndUnknown(t *testing.T) {
	reg := registry(t, "")
	src := &stages.Source{LogType: "alb"}
	line := `http 2025-03-14T11:55:01.412233Z app/x/1 198.51.100.23:52311 10.20.1.44:80 0.001 0.012 0.000 200 200 312 5120 "GET http://www.example.com:80/index.html HTTP/1.1" "curl/8" - - arn:tg "Root=1" "-" "-" 0 2025-03-14T11:55:01.398000Z "forward" "-" "-" "10.20.1.44:80" "200" "-" "-"`
	b := run(t, reg, src, "  "+line+"\n", "garbage")
	if b.Events[0].Status != stages.Keep {
		t.Fatalf("%v", b.Events[0].Err)
	}
	d := b.Events[0].Doc
	if v := d.Text(d.FindDotted("http_path")); v != "/index.html" {
		t.Errorf("http_path = %q", v)
	}
	if d.Kind(d.FindDotted("http_query")) != doc.Null { // the group did not take part
		t.Errorf("http_query kind %v", d.Kind(d.FindDotted("http_query")))
	}
	if b.Events[1].Status != stages.Failed {
		t.Error("garbage line accepted")
	}
	b = run(t, reg, &stages.Source{LogType: "nope"}, "x")
	if !errors.Is(b.Events[0].Err, ErrUnknownLogType) {
		t.Errorf("unknown: %v", b.Events[0].Err)
	}
}

func FuzzDecode(f *testing.F) {
	reg := registry(f, userINI)
	f.Add("vpcflowlogs", "version srcaddr end", "2 10.0.0.1 1741953360")
	f.Add("semi", `a;"b"`, `"x""y";z`)
	f.Add("app-json", "", `{"a":{"b":[1,2,{"c":"\u00e9"}]}}`)
	f.Add("app-json", "", `{"detail-type":"x","resources":[],"id":1,"account":"a","region":"r","time":"t","source":"s","detail":{"a":1}}`)
	f.Add("alb", "", `h2 2025-03-14T11:55:03.100000Z app/x/1 2001:db8::1:40110 10.20.1.44:80 0.000 0.003 0.000 304 304 95 210 "GET https://h:443/p HTTP/2.0" "ua" c p arn "R" "d" "c" 5 t "forward" "-" "-" "t" "304" "-" "-"`)
	f.Add("clb", "", `2025-03-14T11:55:03.100000Z my-clb 10.0.0.1:1 - -1 -1 -1 503 0 0 0 "GET http://h:80/ HTTP/1.1" "-" - -`)
	f.Fuzz(func(t *testing.T, lt, header, raw string) {
		if reg.Lookup(lt) == nil {
			return
		}
		src := &stages.Source{LogType: lt, Context: []byte(header)}
		b := run(t, reg, src, raw)
		e := b.Events[0]
		if e.Status == stages.Failed && e.Err == nil {
			t.Fatal("failed without a reason")
		}
		if e.Status == stages.Keep {
			if out, _ := e.Doc.Encode(); len(out) < 2 {
				t.Fatal("empty encoding")
			}
		}
	})
}
