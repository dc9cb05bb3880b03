package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/siemstream/siemstream/internal/testobj"
	"github.com/siemstream/siemstream/internal/wire"
)

func zipOf(_ testing.TB, members ...string) []byte { return testobj.Zip(members...) }

type pqRow struct {
	Time   time.Time `parquet:"time,timestamp(microsecond)"`
	Name   string    `parquet:"name"`
	Count  int64     `parquet:"count"`
	Note   *string   `parquet:"note,optional"`
	Labels []string  `parquet:"labels,list"`
}

func parquetOf(t testing.TB, rows []pqRow, rowGroup int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&b, parquet.MaxRowsPerRowGroup(int64(rowGroup)))
	for i := 0; i < len(rows); i += rowGroup {
		end := min(i+rowGroup, len(rows))
		if _, err := w.Write(rows[i:end]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pqRows(n int) []pqRow {
	note := "hi"
	rows := make([]pqRow, n)
	for i := range rows {
		rows[i] = pqRow{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second), Name: fmt.Sprintf("n%d", i), Count: int64(i)}
		if i%2 == 0 {
			rows[i].Note = &note
			rows[i].Labels = []string{"a", "b"}
		}
	}
	return rows
}

func TestOpenFormats(t *testing.T) {
	jsonF := Format{Kind: KindJSON}
	vpcZip, err := os.ReadFile("testdata/vpc.log.zip")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		obj  []byte
		f    Format
		comp Compression
		want string
	}{
		{"zip every member", zipOf(t, "a.json", `{"a":1}`, "dir/", "", "b.json", "{\"b\":2}\n{\"b\":3}\n"), jsonF, Zip, `1:{"a":1}|2:{"b":2}|3:{"b":3}`},
		{"zip members without final newline", zipOf(t, "a", "x 1", "b", "y 2"), Format{Kind: KindText}, Zip, "1:x 1|2:y 2"},
		{"zip empty member", zipOf(t, "a", "", "b", "z\n"), Format{Kind: KindText}, Zip, "1:z"},
		{"zip empty archive", zipOf(t), Format{Kind: KindText}, Zip, ""},
		{"zip vpc fixture", vpcZip, Format{Kind: KindCSV}, Zip, ""},
		{"parquet", parquetOf(t, pqRows(3), 2), Format{Kind: KindCSV}, Parquet,
			`1:{"time":"2024-01-02T03:04:05+00:00","name":"n0","count":0,"note":"hi","labels":["a","b"]}|` +
				`2:{"time":"2024-01-02T03:04:06+00:00","name":"n1","count":1,"labels":[]}|` +
				`3:{"time":"2024-01-02T03:04:07+00:00","name":"n2","count":2,"note":"hi","labels":["a","b"]}`},
		{"parquet in gzip", gz(t, string(parquetOf(t, pqRows(1), 1))), jsonF, Gzip,
			`1:{"time":"2024-01-02T03:04:05+00:00","name":"n0","count":0,"note":"hi","labels":["a","b"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, comp, err := openSplit(t, tc.obj, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if comp != tc.comp {
				t.Errorf("compression %s, want %s", comp, tc.comp)
			}
			if g.fatal != nil {
				t.Fatal(g.fatal)
			}
			if tc.name == "zip vpc fixture" {
				if len(g.recs) == 0 {
					t.Fatal("no records")
				}
				return
			}
			if got := strings.Join(g.recs, "|"); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestOpenFormatErrors(t *testing.T) {
	cases := []struct {
		name string
		obj  []byte
		want error
	}{
		{"gzip inside zip member", zipOf(t, "a.gz", string(gz(t, "x\n"))), ErrNestedCompression},
		{"zip in gzip", gz(t, string(zipOf(t, "a", "x\n"))), ErrNestedCompression},
		{"binary zip member", zipOf(t, "a", "\x00\x01\x02"), ErrBinary},
		{"truncated parquet", parquetOf(t, pqRows(3), 3)[:40], ErrParquet},
		{"parquet magic only", []byte("PAR1PAR1"), ErrParquet},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, err := OpenWith(bytes.NewReader(tc.obj), parquetOK)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !IsContentError(err) {
				t.Errorf("%v is not a content error", err)
			}
			if rc != nil {
				t.Fatal("reader returned with error")
			}
		})
	}
}

// A zip member that is binary after the first one: the records of the
// first member come out, then a fatal content error naming the member.
func TestZipLaterMemberBad(t *testing.T) {
	g, _, err := openSplit(t, zipOf(t, "a", "x\n", "b", "\x00\x00\x00"), Format{Kind: KindText})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(g.recs, "|") != "1:x" || !errors.Is(g.fatal, ErrBinary) || !strings.Contains(g.fatal.Error(), `"b"`) {
		t.Fatalf("recs %v fatal %v", g.recs, g.fatal)
	}
}

func TestSpoolToFile(t *testing.T) {
	big := strings.Repeat("line of text\n", 1000)
	obj := zipOf(t, "a", big, "b", big)
	dir := t.TempDir()
	rc, _, err := OpenWith(bytes.NewReader(obj), OpenOptions{MemSpoolBytes: 100, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("spool file not unlinked: %v", ents)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != big+big {
		t.Fatalf("read %d bytes, err %v", len(b), err)
	}
	_, _, err = OpenWith(bytes.NewReader(obj), OpenOptions{MemSpoolBytes: 100, MaxSpoolBytes: 200, TempDir: dir})
	if !errors.Is(err, ErrTooLarge) || !IsContentError(err) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestMultiline(t *testing.T) {
	first := regexp.MustCompile(`^\d{4}-`)
	evFirst, evLast := regexp.MustCompile(`^<Event xmlns=`), regexp.MustCompile(`</Event>$`)
	cases := []struct {
		name string
		in   string
		f    Format
		o    Options
		want string
		drop int64
	}{
		{"basic", "2024-a\n  at x\n  at y\n2024-b\n2024-c\r\n more\r\n", Format{Kind: KindMultiline, FirstLine: first}, Options{},
			"1:2024-a\n  at x\n  at y|2:2024-b|3:2024-c\n more", 0},
		{"lines before first dropped", "orphan\n\ncontinued\n2024-a\nx\n", Format{Kind: KindMultiline, FirstLine: first}, Options{}, "1:2024-a\nx", 2},
		{"header lines", "#h\n2024-h\n2024-a\n", Format{Kind: KindMultiline, FirstLine: first, HeaderLines: 2}, Options{}, "1:2024-a", 0},
		{"no match", "a\nb\n", Format{Kind: KindMultiline, FirstLine: first}, Options{}, "", 2},
		{"too large then ok", "2024-a\n" + strings.Repeat("x", 30) + "\n2024-b\n", Format{Kind: KindMultiline, FirstLine: first}, Options{MaxRecordBytes: 20},
			"1!record too large|2:2024-b", 0},
		{"winevt first/last", "<Events>\n<Event xmlns='x'><System/></Event>\njunk\n<Event xmlns='x'>\n<System>\n</System>\n</Event>\ntrailer\n",
			Format{Kind: KindMultiline, FirstLine: evFirst, LastLine: evLast}, Options{},
			"1:<Event xmlns='x'><System/></Event>\n|2:<Event xmlns='x'>\n<System>\n</System>\n</Event>\n", 3},
		{"winevt last line without terminator", "<Event xmlns='x'><a/></Event>\r\n<Event xmlns='x'><b/></Event>",
			Format{Kind: KindMultiline, FirstLine: evFirst, LastLine: evLast}, Options{},
			"1:<Event xmlns='x'><a/></Event>\n|2:<Event xmlns='x'><b/></Event>", 0},
		{"winevt unterminated", "<Event xmlns='x'>\n<a/>", Format{Kind: KindMultiline, FirstLine: evFirst, LastLine: evLast}, Options{},
			"1:<Event xmlns='x'>\n<a/>", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(strings.NewReader(tc.in), tc.f, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			g := drain(t, s)
			if g.fatal != nil {
				t.Fatal(g.fatal)
			}
			if got := strings.Join(g.recs, "|"); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if s.Dropped() != tc.drop {
				t.Errorf("dropped %d, want %d", s.Dropped(), tc.drop)
			}
		})
	}
	if _, err := New(strings.NewReader(""), Format{Kind: KindMultiline}, Options{}); err == nil {
		t.Error("multiline without first line accepted")
	}
}

func TestCWL(t *testing.T) {
	payload := func(typ string, events ...string) string {
		return fmt.Sprintf(`{"messageType":%q,"owner":"123456789012","logGroup":"/g","logStream":"s","subscriptionFilters":["f"],"logEvents":[%s]}`, typ, strings.Join(events, ","))
	}
	ev := func(id string, ts int64, msg string) string {
		return fmt.Sprintf(`{"id":%q,"timestamp":%d,"message":%q}`, id, ts, msg)
	}
	in := payload("CONTROL_MESSAGE", ev("0", 1, "CWL CONTROL MESSAGE")) +
		payload("DATA_MESSAGE", ev("1", 1700000000000, `{"a":1}`), ev("2", 1700000000001, "line\nwith newline")) + "\n" +
		`{"broken"]` + "\n" +
		payload("DATA_MESSAGE", ev("3", 1700000000002, "x"), `{"id":"4","timestamp":5}`)
	s, err := New(strings.NewReader(in), Format{Kind: KindCWL}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, ord, err := s.Next()
		if err == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			got = append(got, fmt.Sprintf("%d!%v", ord, re.Err))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		m, msg, off, err := wire.ParseCWLRecord(rec)
		if err != nil || !bytes.Equal(rec[off:], msg) {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s/%s/%s/%s/%s:%s", ord, m.Owner, m.LogGroup, m.LogStream, m.ID, m.Timestamp, msg))
	}
	want := []string{
		`1:123456789012//g/s/1/1700000000000:{"a":1}`,
		"2:123456789012//g/s/2/1700000000001:line\nwith newline",
		"3!invalid JSON: ']' closes '{'",
		"4:123456789012//g/s/3/1700000000002:x",
		"5!invalid CloudWatch Logs payload: log event without message",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFirelens(t *testing.T) {
	in := `{"log":"INFO a","container_id":"c","container_name":"/n","source":"stdout","ecs_cluster":"cl","ecs_task_arn":"arn","ecs_task_definition":"td","ec2_instance_id":""}` + "\n\n" +
		"not json\n" +
		`{"container_id":"c"}` + "\n" +
		`{"log":{"k":1},"source":"stderr","ec2_instance_id":"i-1"}` + "\n"
	s, err := New(strings.NewReader(in), Format{Kind: KindFirelens}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, ord, err := s.Next()
		if err == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			if !errors.Is(err, ErrFirelens) {
				t.Errorf("record error %v is not ErrFirelens", err)
			}
			got = append(got, fmt.Sprintf("%d!", ord))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		m, log, off, err := wire.ParseFirelensRecord(rec)
		if err != nil || !bytes.Equal(rec[off:], log) {
			t.Fatal(err)
		}
		str := func(p *string) string {
			if p == nil {
				return "<nil>"
			}
			return *p
		}
		got = append(got, fmt.Sprintf("%d:%s/%s/%s/%s/%s/%s/%s:%s", ord, str(m.ContainerID), str(m.ContainerName), str(m.Source), str(m.ECSCluster), str(m.ECSTaskARN), str(m.ECSTaskDefinition), str(m.EC2InstanceID), log))
	}
	want := "1:c//n/stdout/cl/arn/td/<nil>:INFO a|2!|3!|4:<nil>/<nil>/stderr/<nil>/<nil>/<nil>/i-1:{\"k\":1}"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

// TestBadInput: each bad record costs itself only (with its ordinal and a
// reason), the records around it load; bad objects are content errors.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	cases := []struct {
		name string
		obj  []byte
		f    Format
		want string // records; "n!" = record error at ordinal n
		err  error  // fatal error, if any
	}{
		{"2 MiB line in text", []byte("a 1\n" + long + "\nb 2\n"), Format{Kind: KindText}, "1:a 1|2!record too large|3:b 2", nil},
		{"2 MiB line in ndjson", []byte(`{"a":1}` + "\n" + `{"x":"` + long + `"}` + "\n" + `{"b":2}`), Format{Kind: KindJSON}, `1:{"a":1}|2!record too large|3:{"b":2}`, nil},
		{"invalid JSON line", []byte("{\"a\":1}\n{\"a\":]\n{\"b\":2}\n"), Format{Kind: KindJSON}, `1:{"a":1}|2!invalid JSON|3:{"b":2}`, nil},
		{"non-UTF-8 bytes pass through (decode drops them)", []byte("h\nok\xff\xfe line\n"), Format{Kind: KindCSV}, "1:ok\xff\xfe line", nil},
		{"csv with a wrong column count is still a record (decode pairs up)", []byte("a,b\n1,2,3\n4\n"), Format{Kind: KindCSV}, "1:1,2,3|2:4", nil},
		{"2 MiB multiline record", []byte("2024-a\n" + long + "\n2024-b\n"), Format{Kind: KindMultiline, FirstLine: regexp.MustCompile(`^2024-`)}, "1!record too large|2:2024-b", nil},
		{"truncated gzip", gz(t, "l1\nl2\nl3\n")[:25], Format{Kind: KindText}, "", ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, _, err := openSplit(t, tc.obj, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if tc.err != nil {
				if !errors.Is(g.fatal, tc.err) || !IsContentError(g.fatal) {
					t.Fatalf("fatal %v, want %v", g.fatal, tc.err)
				}
				return
			}
			if g.fatal != nil {
				t.Fatal(g.fatal)
			}
			if got := strings.Join(g.recs, "|"); got != tc.want {
				if len(got) > 300 {
					got = got[:300]
				}
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A Windows event of exactly the record limit keeps within it: its line
// terminator is dropped rather than making the record one byte too long.
func TestMultilineTerminatorWithinLimit(t *testing.T) {
	ev := "<Event xmlns='x'><a/></Event>"
	f := Format{Kind: KindMultiline, FirstLine: regexp.MustCompile(`^<Event xmlns=`), LastLine: regexp.MustCompile(`</Event>$`)}
	for _, max := range []int{len(ev), len(ev) + 1} {
		s, err := New(strings.NewReader(ev+"\n"), f, Options{MaxRecordBytes: max})
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) > max {
			t.Errorf("max %d: record of %d bytes: %q", max, len(rec), rec)
		}
	}
}
