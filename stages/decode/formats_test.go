package decode

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/stages"
)

const formatsINI = `
[t-cef]
s3_key = t-cef/
file_format = cef
index_name = log-t-cef

[t-winevt]
s3_key = t-winevt/
file_format = winevtxml
index_name = log-t-winevt

[t-xml]
s3_key = t-xml/
file_format = xml
xml_firstline = <rec
index_name = log-t-xml

[t-ml]
s3_key = t-ml/
file_format = multiline
multiline_firstline = \d{4}-\d{2}-\d{2}
log_pattern = (?P<date>\S+ \S+) (?P<level>\w+) (?P<msg>.*)
index_name = log-t-ml

[t-cwl-json]
s3_key = t-cwl-json/
file_format = json
via_cwl = True
index_name = log-t-cwl

[t-cwl-text]
s3_key = t-cwl-text/
file_format = text
via_cwl = True
log_pattern = (?P<level>\w+) (?P<msg>.*)
index_name = log-t-cwl

[t-firelens]
s3_key = t-firelens/
file_format = text
via_firelens = True
ignore_container_stderr = True
log_pattern = (?P<level>[A-Z]+) (?P<msg>.*)
index_name = log-t-fl

[t-firelens-json]
s3_key = t-firelens-json/
file_format = json
via_firelens = True
index_name = log-t-fl

[t-parquet]
s3_key = t-parquet/
file_format = parquet
index_name = log-t-pq
`

// golden reads testdata/formats/decode-golden.txt (made with es-loader's
// own FileFormat classes through the esloader-ref harness): "KIND json".
func golden(t *testing.T, kind string) []string {
	t.Helper()
	f, err := os.Open("../../testdata/formats/decode-golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == kind {
			out = append(out, v)
		}
	}
	return out
}

func splitFile(t *testing.T, path string, f split.Format) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := split.New(bytes.NewReader(b), f, split.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for {
		rec, _, err := s.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, string(rec))
	}
}

func TestDecodeGoldenFormats(t *testing.T) {
	reg := registry(t, formatsINI)
	cases := []struct {
		lt, kind, file string
		f              split.Format
	}{
		{"t-winevt", "WINEVT", "winevt.xml", split.Format{Kind: split.KindMultiline, FirstLine: regexp.MustCompile(`^<Event xmlns=`), LastLine: regexp.MustCompile(`</Event>$`)}},
		{"t-cef", "CEF", "cef.log", split.Format{Kind: split.KindLines}},
		{"t-xml", "XML", "generic.xml", split.Format{Kind: split.KindMultiline, FirstLine: regexp.MustCompile(`^<rec`)}},
	}
	for _, tc := range cases {
		t.Run(tc.lt, func(t *testing.T) {
			recs := splitFile(t, "../../testdata/formats/"+tc.file, tc.f)
			want := golden(t, tc.kind)
			if len(recs) != len(want) {
				t.Fatalf("%d records, %d golden", len(recs), len(want))
			}
			b := run(t, reg, &stages.Source{LogType: tc.lt}, recs...)
			for i, e := range b.Events {
				if e.Status != stages.Keep {
					t.Fatalf("record %d: %v", i+1, e.Err)
				}
				got := js(e)
				if e.Doc.Meta.SkipNormalization {
					got = `{"__skip_normalization":true,"__error_message":"` + e.Doc.Meta.ErrorMessage + `"}`
				}
				if got != want[i] {
					t.Errorf("record %d:\n got %s\nwant %s", i+1, got, want[i])
				}
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	reg := registry(t, formatsINI)
	cwl := func(msg string) string {
		return string(wire.AppendCWLRecord(nil, wire.CWLMeta{Owner: "123456789012", LogGroup: "/g", LogStream: "s", ID: "3612", Timestamp: "1700000000000"}, []byte(msg)))
	}
	fl := func(line string) string {
		s, err := split.New(strings.NewReader(line), split.Format{Kind: split.KindFirelens}, split.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := s.Next()
		if err != nil {
			return line // not a FireLens line: decode must reject it
		}
		return string(rec)
	}
	cases := []struct {
		name, lt, raw, want string
		status              stages.Status
		skip                string // Meta.ErrorMessage when indexed un-normalised
	}{
		{"multiline", "t-ml", "2025-03-14 10:00:00 ERROR failed\n  at x\n\t at y \n", `{"date":"2025-03-14 10:00:00","level":"ERROR","msg":"failed"}`, stages.Keep, ""},
		{"cef escaped pipe in header", "t-cef", `CEF:0|V\|x|P|1|2|n|3|a=b`, "", stages.Failed, ""},
		{"cef invalid", "t-cef", `hello`, `{}`, stages.Keep, "invalid cef file"},
		{"cef label without value", "t-cef", `CEF:0|V|P|1|2|n|3|cs1Label=L cs2=x`, `{"cef_version":"0","cef_device_vendor":"V","cef_device_product":"P","cef_device_version":"1","cef_device_event_class_id":"2","cef_name":"n","cef_severity":"3","cs1Label":"L","cs2":"x"}`, stages.Keep, ""},
		{"xml broken", "t-xml", `<rec><a></rec>`, "", stages.Failed, ""},
		{"xml two roots", "t-xml", `<rec/><rec/>`, "", stages.Failed, ""},
		{"winevt without System", "t-winevt", `<Event xmlns='x'><Foo/></Event>`, "", stages.Failed, ""},
		{"winevt control chars retried", "t-winevt", "<Event xmlns='x'><System><EventID>1</EventID><Channel>a\x01b</Channel></System></Event>", `{"Event":{"xmlns":"x","System":{"EventID":"1","Channel":"ab"}}}`, stages.Keep, ""},
		{"cwl json", "t-cwl-json", cwl(`{"a":1}`), `{"a":1}`, stages.Keep, ""},
		{"cwl text", "t-cwl-text", cwl("INFO hello world"), `{"level":"INFO","msg":"hello world"}`, stages.Keep, ""},
		{"cwl text no match", "t-cwl-text", cwl("!!"), "", stages.Failed, ""},
		{"cwl without header", "t-cwl-json", `{"a":1}`, "", stages.Failed, ""},
		{"firelens", "t-firelens", fl(`{"log":"INFO up","container_id":"c1","container_name":"/app","source":"stdout","ecs_cluster":"cl","ecs_task_arn":"arn:aws:ecs:us-east-1:123456789012:task/cl/1","ecs_task_definition":"td:1","ec2_instance_id":"i-1"}`),
			`{"level":"INFO","msg":"up","container_id":"c1","container_name":"/app","container_source":"stdout","ecs_cluster":"cl","ecs_task_arn":"arn:aws:ecs:us-east-1:123456789012:task/cl/1","ecs_task_definition":"td:1","ec2_instance_id":"i-1"}`, stages.Keep, ""},
		{"firelens stderr ignored", "t-firelens", fl(`{"log":"boom","source":"stderr"}`), "", stages.Dropped, ""},
		{"firelens stdout no match", "t-firelens", fl(`{"log":"boom","source":"stdout"}`), "", stages.Failed, ""},
		{"firelens json invalid", "t-firelens-json", fl(`{"log":"{bad","source":"stdout","container_name":"n"}`),
			`{"container_id":null,"container_name":"n","container_source":"stdout","ecs_cluster":null,"ecs_task_arn":null,"ecs_task_definition":null}`, stages.Keep, "*"},
		{"firelens not json", "t-firelens", `log line`, "", stages.Failed, ""},
		{"parquet row", "t-parquet", `{"a":1,"b":"x"}`, `{"a":1,"b":"x"}`, stages.Keep, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := run(t, reg, &stages.Source{LogType: tc.lt}, tc.raw)
			e := b.Events[0]
			if e.Status != tc.status {
				t.Fatalf("status %v (%v), want %v", e.Status, e.Err, tc.status)
			}
			if e.Status == stages.Failed && !errors.Is(e.Err, ErrRecord) {
				t.Errorf("error %v does not wrap ErrRecord", e.Err)
			}
			if e.Status != stages.Keep {
				return
			}
			if got := js(e); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if m := e.Doc.Meta.ErrorMessage; (tc.skip == "*" && m == "") || (tc.skip != "*" && m != tc.skip) {
				t.Errorf("error message %q, want %q", m, tc.skip)
			}
		})
	}
}

func TestDecodeCWLMessageBounds(t *testing.T) {
	reg := registry(t, formatsINI)
	raw := string(wire.AppendCWLRecord(nil, wire.CWLMeta{Owner: "1", LogGroup: "g", LogStream: "s", ID: "9", Timestamp: "5"}, []byte("WARN x")))
	b := run(t, reg, &stages.Source{LogType: "t-cwl-text"}, raw)
	e := &b.Events[0]
	m := e.Doc.Meta
	if got := string(e.Raw[m.RecordStart:m.RecordEnd]); got != "WARN x" {
		t.Fatalf("message bounds %q", got)
	}
	env := e.Env
	if env.Via != wire.ViaCWL || string(env.CWL.LogGroup) != "g" || string(env.CWL.ID) != "9" || string(env.CWL.Timestamp) != "5" ||
		string(env.Message) != "WARN x" || string(e.Raw[env.Off:]) != "WARN x" {
		t.Fatalf("Event.Env = %+v", env)
	}
}
